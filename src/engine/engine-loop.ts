/**
 * EngineLoop: drives an EngineCore on the current thread and routes its outputs to per-request
 * listeners. The loop runs one step per macrotask (setImmediate), so I/O on the same thread keeps
 * flowing between steps, and stops when the core is idle. While the only work left is grammars
 * compiling in the grammar worker, it sleeps until the core wakes it (no busy loop).
 *
 * Invariants:
 * - A listener receives every output of its request, in order, and is removed after the
 *   finished one; a request whose rid is already in flight is rejected with 400.
 * - `pause()` aborts everything and holds new requests until `resume()` (SGLang pause_generation).
 */
import type { EngineCore } from './engine-core.js';
import { failedOutput } from './outputs.js';
import type { EngineOutput, EngineRequest } from './types.js';

export type OutputListener = (out: EngineOutput) => void;

export class EngineLoop {
  private readonly listeners = new Map<string, OutputListener>();
  private running = false;
  private paused = false;
  private readonly held: [EngineRequest, OutputListener][] = [];
  private idleWaiters: (() => void)[] = [];
  /** Called after every step with its outputs (metrics, logging). */
  onStep: ((outputs: EngineOutput[]) => void) | null = null;

  constructor(readonly core: EngineCore) {
    core.setWake(() => this.kick());
  }

  submit(req: EngineRequest, listener: OutputListener): void {
    if (this.paused) {
      this.held.push([req, listener]);
      return;
    }
    if (this.listeners.has(req.rid)) {
      listener(duplicateRid(req));
      return;
    }
    this.listeners.set(req.rid, listener);
    this.dispatch(this.core.add(req));
    this.kick();
  }

  abort(ridPrefix: string, abortAll = false): void {
    this.dispatch(this.core.abort(ridPrefix, abortAll));
    this.kick();
  }

  async pause(): Promise<void> {
    this.paused = true;
    this.abort('', true);
    await this.waitIdle();
  }

  resume(): void {
    this.paused = false;
    for (const [req, listener] of this.held.splice(0)) this.submit(req, listener);
  }

  /** Resolves once the core has nothing waiting or running. */
  waitIdle(): Promise<void> {
    if (this.core.isIdle && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    setImmediate(() => this.tick());
  }

  private tick(): void {
    let outputs: EngineOutput[] = [];
    try {
      outputs = this.core.step();
    } catch (e) {
      this.failAll(e as Error);
    }
    this.dispatch(outputs);
    this.onStep?.(outputs);
    if (!this.core.isIdle) {
      if (this.core.canStep) setImmediate(() => this.tick());
      else this.running = false; // woken by kick() when a grammar resolves
      return;
    }
    this.running = false;
    // One more (empty) schedule while idle runs the scheduler's leak self-check.
    this.core.step();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private dispatch(outputs: EngineOutput[]): void {
    for (const out of outputs) {
      const l = this.listeners.get(out.rid);
      if (out.finished) this.listeners.delete(out.rid);
      l?.(out);
    }
  }

  /** An internal error in a step: every in-flight request ends with a 500 abort. */
  private failAll(e: Error): void {
    process.stderr.write(`tsgl engine step failed: ${e.stack ?? e.message}\n`);
    this.core.abort('', true);
    for (const [rid, l] of this.listeners) l(failedOutput(rid, `Internal server error: ${e.message}`, 500, 'InternalServerError'));
    this.listeners.clear();
  }
}

function duplicateRid(req: EngineRequest): EngineOutput {
  return failedOutput(req.rid, `Duplicate request id ${req.rid} is already in flight.`, 400, 'BadRequestError');
}

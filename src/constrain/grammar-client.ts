/**
 * GrammarClient: the engine thread's handle on the grammar worker (grammar-worker.ts). Starts the
 * worker lazily with the first constrained request, sends admissions as messages, and makes the
 * two per-step calls (accept sampled tokens, get next-token masks) synchronously over the shared
 * control block.
 *
 * Invariants:
 * - The worker is ref'd only while an admission is outstanding, so an idle grammar worker never
 *   keeps the process alive and a pending one does.
 * - A synchronous call blocks in Atomics.wait; it throws if the worker failed, exited, or does
 *   not answer within `callTimeoutMs` (the step then fails its requests with a 500), and the
 *   worker is stopped for good: later constrained requests are rejected with the reason.
 * - Masks are read from the shared arena: row (slot % ARENA_ROWS) of chunk slot / ARENA_ROWS.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-entry.js';
import type { GrammarKey } from './grammar-key.js';
import {
  CTRL, OP_ACCEPT, OP_MASKS, arenaRow, controlRegions, controlWords, maskWords,
  type FromGrammarWorker, type GrammarWorkerInit, type ToGrammarWorker,
} from './grammar-protocol.js';
import type { XgTokenizerInfo } from './tokenizer-info.js';

export type AdmitResult =
  | { kind: 'admitted'; slot: number }
  | { kind: 'rejected'; invalid: boolean; message: string };

export interface GrammarClientOptions {
  vocabSize: number;
  /** Most constrained rows in one step (the control block is sized for it; grown by restart never). */
  maxRows: number;
  anyWhitespace: boolean;
  maxWhitespaceCnt?: number;
  /** Built once, on the first admission (a vocab-sized string table). */
  tokenizerInfo: () => XgTokenizerInfo;
  /** Called (on this thread, from the event loop) whenever an admission resolves. */
  onAdmission: (id: number, result: AdmitResult, compileMs: number) => void;
  callTimeoutMs?: number;
}

export class GrammarClient {
  readonly words: number;
  private worker: Worker | null = null;
  private readonly control: SharedArrayBuffer;
  private readonly ctrl: Int32Array;
  /** The control block's ARGS [2 * maxRows] and RESULTS [maxRows] regions. */
  private readonly args: Int32Array;
  private readonly results: Int32Array;
  private readonly arena: Uint32Array[] = [];
  /** Admission ids sent and not yet answered. */
  private readonly pending = new Set<number>();
  private dead: string | null = null;

  constructor(private readonly opts: GrammarClientOptions) {
    this.words = maskWords(opts.vocabSize);
    this.control = new SharedArrayBuffer(4 * controlWords(opts.maxRows));
    this.ctrl = new Int32Array(this.control);
    ({ args: this.args, results: this.results } = controlRegions(this.ctrl, opts.maxRows));
  }

  get maxRows(): number {
    return this.opts.maxRows;
  }

  /** Asks the worker to compile (if needed) and create a matcher; the answer comes via onAdmission. */
  admit(id: number, key: GrammarKey): void {
    if (this.dead) {
      const dead = this.dead;
      queueMicrotask(() => this.opts.onAdmission(id, { kind: 'rejected', invalid: false, message: `Grammar backend failed: ${dead}` }, 0));
      return;
    }
    const w = this.start();
    if (this.pending.size === 0) w.ref();
    this.pending.add(id);
    this.post({ kind: 'admit', id, key });
  }

  free(slot: number): void {
    if (this.worker && !this.dead) this.post({ kind: 'free', slot });
  }

  flush(): void {
    if (this.worker && !this.dead) this.post({ kind: 'flush' });
  }

  /** Advances each slot's matcher on its token; flags[i]: bit 0 accepted, bit 1 terminated. */
  accept(slots: readonly number[], tokens: ArrayLike<number>, flags: Uint8Array): void {
    const n = slots.length;
    for (let i = 0; i < n; i++) {
      this.args[2 * i] = slots[i]!;
      this.args[2 * i + 1] = tokens[i]!;
    }
    this.call(OP_ACCEPT, n);
    for (let i = 0; i < n; i++) flags[i] = this.results[i]!;
  }

  /** Makes sure the slots' next-token masks are in the arena. */
  prepareMasks(slots: readonly number[]): void {
    this.args.set(slots);
    this.call(OP_MASKS, slots.length);
  }

  /** The slot's mask row (valid after prepareMasks): Uint32Array [words]. */
  maskRow(slot: number): Uint32Array {
    const row = arenaRow(this.arena, slot, this.words);
    if (!row) throw new Error(`grammar mask arena has no chunk for slot ${slot}`);
    return row;
  }


  async close(): Promise<void> {
    const w = this.worker;
    this.die('closed');
    this.worker = null;
    if (w) await w.terminate();
  }

  private call(op: number, n: number): void {
    if (n > this.opts.maxRows) throw new Error(`grammar call with ${n} rows exceeds ${this.opts.maxRows}`);
    if (this.dead || !this.worker) throw new Error(`grammar worker unavailable: ${this.dead ?? 'not started'}`);
    const c = this.ctrl;
    c[CTRL.OP] = op;
    c[CTRL.COUNT] = n;
    const seq = (Atomics.load(c, CTRL.REQ_SEQ) + 1) | 0;
    Atomics.store(c, CTRL.REQ_SEQ, seq);
    Atomics.notify(c, CTRL.REQ_SEQ);
    const deadline = Date.now() + (this.opts.callTimeoutMs ?? 60_000);
    while (Atomics.load(c, CTRL.DONE_SEQ) !== seq) {
      if (Atomics.load(c, CTRL.FAILED)) break;
      if (Date.now() > deadline) return this.fail('grammar worker did not answer in time');
      Atomics.wait(c, CTRL.DONE_SEQ, Atomics.load(c, CTRL.DONE_SEQ), Math.max(1, Math.min(1000, deadline - Date.now())));
    }
    if (Atomics.load(c, CTRL.FAILED)) this.fail('grammar worker failed');
  }

  /** A per-step call failed: stop the worker (later constrained requests are rejected) and throw. */
  private fail(why: string): never {
    const w = this.worker;
    this.die(why);
    this.worker = null;
    void w?.terminate();
    throw new Error(why);
  }

  private post(m: ToGrammarWorker): void {
    this.worker!.postMessage(m);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const entry = workerEntry(import.meta.url, 'grammar-worker');
    const init: GrammarWorkerInit = {
      tsEntry: entry.tsEntry, control: this.control, maxRows: this.opts.maxRows, vocabSize: this.opts.vocabSize,
      anyWhitespace: this.opts.anyWhitespace, maxWhitespaceCnt: this.opts.maxWhitespaceCnt,
    };
    const w = new Worker(entry.url, { workerData: init });
    w.unref();
    w.on('message', (m: FromGrammarWorker) => this.onMessage(m));
    w.on('error', (e) => this.die(`grammar worker crashed: ${e.message}`));
    w.on('exit', (code) => this.die(`grammar worker exited with code ${code}`));
    this.worker = w;
    w.postMessage({ kind: 'tokenizer', info: this.opts.tokenizerInfo() } satisfies ToGrammarWorker);
    return w;
  }

  private onMessage(m: FromGrammarWorker): void {
    if (m.kind === 'arena') {
      this.arena[m.chunk] = new Uint32Array(m.buffer);
      return;
    }
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker?.unref();
    const result: AdmitResult = m.kind === 'admitted' ? { kind: 'admitted', slot: m.slot } : { kind: 'rejected', invalid: m.invalid, message: m.message };
    this.opts.onAdmission(m.id, result, m.compileMs);
  }

  /** The worker is gone: outstanding admissions fail; later per-step calls throw. */
  private die(why: string): void {
    if (this.dead) return;
    this.dead = why;
    Atomics.store(this.ctrl, CTRL.FAILED, 1);
    if (why !== 'closed') process.stderr.write(`tsgl: ${why}\n`);
    const ids = [...this.pending];
    this.pending.clear();
    for (const id of ids) this.opts.onAdmission(id, { kind: 'rejected', invalid: false, message: `Grammar backend failed: ${why}` }, 0);
  }
}

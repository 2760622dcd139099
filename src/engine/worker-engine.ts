/**
 * WorkerEngine: the EngineClient the server uses. The model, scheduler and kernels run in a
 * worker thread (engine-worker.ts); this thread keeps its own tokenizer for prompts and chat
 * templates, so the HTTP event loop never waits on a forward pass.
 *
 * Invariants:
 * - Each request's outputs are delivered to its stream in order; a stream broken by the caller
 *   sends an abort for its rid.
 * - If the worker dies, every open stream ends with a 500 abort and later calls fail fast.
 */
import { Worker } from 'node:worker_threads';
import { loadTokenizer, type Tokenizer } from '../tokenizer/tokenizer.js';
import type { EngineArgs } from './build.js';
import { workerEntry } from '../util/worker-entry.js';
import { TokenizerFront } from './tokenizer-front.js';
import type { ChatMessage, ChatTemplateOptions, EngineClient, EngineStats } from './client.js';
import { outputStream } from './engine.js';
import { failedOutput } from './outputs.js';
import type { EngineOutput, EngineRequest, ModelInfo } from './types.js';
import type { AdminCall, FromWorker, ReadyInfo, ToWorker, WorkerInit } from './worker-protocol.js';


export class WorkerEngine implements EngineClient {
  private readonly listeners = new Map<string, (o: EngineOutput) => void>();
  private readonly calls = new Map<number, (v: unknown) => void>();
  private nextCallId = 1;
  private dead: string | null = null;
  private readonly front: TokenizerFront;

  private constructor(
    private readonly worker: Worker,
    readonly info: ReadyInfo,
    tokenizer: Tokenizer | null,
  ) {
    this.front = new TokenizerFront(tokenizer);
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.die(`engine worker crashed: ${e.message}`));
    worker.on('exit', (code) => this.die(`engine worker exited with code ${code}`));
  }

  get modelInfo(): ModelInfo {
    return this.info.modelInfo;
  }

  get eosTokenIds(): readonly number[] {
    return this.info.eosTokenIds;
  }

  /** Starts the worker, loads the model there and the tokenizer here; resolves when ready. */
  static async start(args: EngineArgs, opts: { progress: boolean }): Promise<WorkerEngine> {
    const entry = workerEntry(import.meta.url, 'engine-worker');
    const init: WorkerInit = { args, progress: opts.progress, tsEntry: entry.tsEntry };
    const worker = new Worker(entry.url, { workerData: init, stderr: false, stdout: false });
    const tokenizerP = args.skipTokenizerInit
      ? Promise.resolve(null)
      : loadTokenizer(args.tokenizerPath, { chatTemplatePath: args.chatTemplate ?? undefined });
    tokenizerP.catch(() => undefined); // awaited (and its error surfaced) once the worker is ready
    const info = await new Promise<ReadyInfo>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        worker.off('message', onMessage);
        if (m.kind === 'ready') resolve(m.info);
        else if (m.kind === 'failed') reject(new Error(m.message));
        else reject(new Error(`unexpected first message from the engine worker: ${m.kind}`));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`engine worker exited with code ${code} while loading`)));
    }).catch(async (e: Error) => {
      await worker.terminate();
      throw e;
    });
    const tokenizer = await tokenizerP.catch(async (e: Error) => {
      await worker.terminate();
      throw e;
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new WorkerEngine(worker, info, tokenizer);
  }

  private send(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.kind === 'outputs') {
      for (const o of m.outputs) {
        const l = this.listeners.get(o.rid);
        if (o.finished) this.listeners.delete(o.rid);
        l?.(o);
      }
    } else if (m.kind === 'result') {
      this.calls.get(m.callId)?.(m.value);
      this.calls.delete(m.callId);
    }
  }

  private die(message: string): void {
    if (this.dead) return;
    this.dead = message;
    process.stderr.write(`tsgl: ${message}\n`);
    for (const [rid, l] of this.listeners) l(failedOutput(rid, message, 500, 'InternalServerError'));
    this.listeners.clear();
    for (const resolve of this.calls.values()) resolve(undefined);
    this.calls.clear();
  }

  private call<T>(call: AdminCall): Promise<T> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const callId = this.nextCallId++;
    return new Promise<T>((resolve) => {
      this.calls.set(callId, resolve as (v: unknown) => void);
      this.send({ kind: 'call', callId, call });
    });
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.front.encode(text, addSpecialTokens);
  }

  decode(ids: number[], skipSpecialTokens: boolean): string {
    return this.front.decode(ids, skipSpecialTokens);
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions): string {
    return this.front.applyChatTemplate(messages, options);
  }

  generate(req: EngineRequest): AsyncIterable<EngineOutput> {
    return outputStream((push) => {
      if (this.dead) {
        push(failedOutput(req.rid, this.dead, 500, 'InternalServerError'));
        return;
      }
      this.listeners.set(req.rid, push);
      this.send({ kind: 'add', req });
    }, () => this.abort(req.rid));
  }

  abort(ridPrefix: string, abortAll = false): void {
    this.send({ kind: 'abort', ridPrefix, abortAll });
  }

  flushCache(): Promise<boolean> {
    return this.call<boolean>('flushCache');
  }

  pause(): Promise<void> {
    return this.call<void>('pause');
  }

  resume(): void {
    this.send({ kind: 'resume' });
  }

  stats(): Promise<EngineStats> {
    return this.call<EngineStats>('stats');
  }

  checkLeaks(): Promise<string | null> {
    return this.call<string | null>('checkLeaks');
  }

  async close(): Promise<void> {
    if (!this.dead) await this.call<void>('close');
    this.dead ??= 'the engine is closed';
    await this.worker.terminate();
  }
}

/**
 * Engine: the in-process engine API. `Engine.create(args)` loads a model and returns an
 * EngineClient whose steps run on the calling thread between macrotasks (see EngineLoop).
 * The server runs the same core in a worker thread instead (WorkerEngine); tests and the CLI use
 * this one.
 *
 * Convenience API: `engine.run(input)` for one prompt or a batch, resolving to full results.
 */
import { randomUUID } from 'node:crypto';
import { makeServerArgs } from '../config/parse.js';
import { resolveServerArgs } from '../config/resolve.js';
import type { ServerArgs } from '../config/server-args.js';
import { parseSamplingParams } from '../sampling/sampling-params.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { buildEngineCore, type BuiltEngine } from './build.js';
import { TokenizerFront } from './tokenizer-front.js';
import type { ChatMessage, ChatTemplateOptions, EngineClient, EngineStats } from './client.js';
import { EngineLoop } from './engine-loop.js';
import { StatsCollector } from './stats.js';
import type { EngineOutput, EngineRequest, FinishReason, ModelInfo } from './types.js';

export interface GenerateInput {
  text?: string;
  inputIds?: number[];
  /** SGLang sampling_params (snake_case), validated as /generate does. */
  samplingParams?: Record<string, unknown>;
  rid?: string;
}

export interface GenerateResult {
  rid: string;
  text: string;
  outputIds: number[];
  finishReason: FinishReason | null;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** An async queue of one request's outputs. */
export function outputStream(start: (push: (o: EngineOutput) => void) => void, onBreak: () => void): AsyncIterable<EngineOutput> {
  return {
    [Symbol.asyncIterator]() {
      const queue: EngineOutput[] = [];
      let wake: (() => void) | null = null;
      let done = false;
      start((o) => {
        queue.push(o);
        wake?.();
      });
      return {
        async next(): Promise<IteratorResult<EngineOutput>> {
          while (queue.length === 0) {
            if (done) return { value: undefined, done: true };
            await new Promise<void>((r) => { wake = r; });
            wake = null;
          }
          const value = queue.shift()!;
          if (value.finished) done = true;
          return { value, done: false };
        },
        async return(): Promise<IteratorResult<EngineOutput>> {
          if (!done) onBreak();
          done = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

export class Engine implements EngineClient {
  readonly modelInfo: ModelInfo;
  readonly eosTokenIds: readonly number[];
  readonly loop: EngineLoop;
  private readonly statsCollector: StatsCollector;
  private readonly front: TokenizerFront;

  private constructor(readonly built: BuiltEngine) {
    this.modelInfo = built.modelInfo;
    this.eosTokenIds = [...(built.tokenizer?.eosTokenIds ?? [])];
    this.loop = new EngineLoop(built.core);
    this.statsCollector = new StatsCollector(built.core, built.plan);
    this.front = new TokenizerFront(built.tokenizer);
  }

  /**
   * Loads a model; `args` are server flags (camelCase), defaults as SGLang's, except that the
   * log level defaults to 'error' as in SGLang's offline `Engine` (no batch log lines unless asked).
   */
  static async create(args: Partial<ServerArgs> & { modelPath: string }, opts: { progress?: boolean } = {}): Promise<Engine> {
    const { args: resolved } = resolveServerArgs(makeServerArgs({ logLevel: 'error', ...args }));
    return new Engine(await buildEngineCore(resolved, { progress: opts.progress ?? false }));
  }

  get tokenizer(): Tokenizer | null {
    return this.built.tokenizer;
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
    return outputStream((push) => this.loop.submit(req, push), () => this.loop.abort(req.rid));
  }

  abort(ridPrefix: string, abortAll = false): void {
    this.loop.abort(ridPrefix, abortAll);
  }

  async flushCache(): Promise<boolean> {
    return this.built.core.flushCache();
  }

  pause(): Promise<void> {
    return this.loop.pause();
  }

  resume(): void {
    this.loop.resume();
  }

  async stats(): Promise<EngineStats> {
    return this.statsCollector.collect();
  }

  async checkLeaks(): Promise<string | null> {
    await this.loop.waitIdle();
    return this.built.core.scheduler.checkLeaks();
  }

  async close(): Promise<void> {
    await this.pause();
    await this.built.core.close();
  }

  /** Builds an EngineRequest from text or ids and SGLang sampling params (throws on bad input). */
  request(input: GenerateInput, stream = false): EngineRequest {
    const inputIds = input.inputIds ?? (input.text !== undefined ? this.encode(input.text, true) : undefined);
    if (!inputIds) throw new Error('Either text or input_ids should be provided.');
    const sampling = parseSamplingParams(input.samplingParams ?? {}, { vocabSize: this.modelInfo.vocabSize });
    return {
      rid: input.rid ?? randomUUID().replace(/-/g, ''), inputIds, sampling, stream,
      returnLogprob: false, logprobStartLen: -1, topLogprobsNum: 0, tokenIdsLogprob: null,
    };
  }

  /** Generates for one input (or each of a batch, concurrently) and returns the full results. */
  async run(input: GenerateInput): Promise<GenerateResult>;
  async run(input: GenerateInput[]): Promise<GenerateResult[]>;
  async run(input: GenerateInput | GenerateInput[]): Promise<GenerateResult | GenerateResult[]> {
    if (Array.isArray(input)) return Promise.all(input.map((i) => this.run(i)));
    const req = this.request(input);
    const result: GenerateResult = { rid: req.rid, text: '', outputIds: [], finishReason: null, promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
    for await (const out of this.generate(req)) {
      result.text += out.text;
      result.outputIds.push(...out.outputIds);
      Object.assign(result, { finishReason: out.finishReason, promptTokens: out.promptTokens, completionTokens: out.completionTokens, cachedTokens: out.cachedTokens });
      if (out.errorStatus) throw new Error(out.finishReason?.type === 'abort' ? out.finishReason.message : 'request failed');
    }
    return result;
  }
}

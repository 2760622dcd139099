/**
 * A deterministic fake EngineClient for the server tests: encode = char codes (BOS 1 with
 * special tokens), one token per step ('a'..'z' cycling from a seed of the input), honours
 * max_new_tokens, stop strings, abort(prefix), and records requests and cancellations.
 */
import type { ChatMessage, ChatTemplateOptions, EngineClient, EngineStats } from '../../../src/engine/client.js';
import type { EngineOutput, EngineRequest, ModelInfo } from '../../../src/engine/types.js';

export interface FakeOptions {
  stepMs?: number;
  contextLength?: number;
  /** Requests whose rid starts with this get a 503 "queue full" abort. */
  rejectPrefix?: string;
  /** Default length when max_new_tokens is null (unbounded). */
  unboundedLength?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeEngine implements EngineClient {
  readonly modelInfo: ModelInfo;
  readonly eosTokenIds = [2];
  requests: EngineRequest[] = [];
  /** rids whose iteration was stopped by the consumer before they finished. */
  cancelled = new Set<string>();
  /** rids that finished (any reason). */
  finished = new Set<string>();
  active = new Map<string, { aborted: boolean }>();
  templateCalls: { messages: ChatMessage[]; options: ChatTemplateOptions }[] = [];
  flushOk = true;
  paused = false;

  constructor(readonly o: FakeOptions = {}) {
    this.modelInfo = {
      modelPath: '/models/fake',
      tokenizerPath: '/models/fake',
      servedModelName: 'fake-model',
      architecture: 'FakeForCausalLM',
      contextLength: o.contextLength ?? 256,
      vocabSize: 1000,
      dtype: 'float32',
      isGeneration: true,
    };
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    const ids = [...text].map((c) => c.codePointAt(0)! % 1000);
    return addSpecialTokens ? [1, ...ids] : ids;
  }

  decode(ids: number[], _skip: boolean): string {
    return ids.map((i) => (i >= 32 ? String.fromCharCode(i) : '')).join('');
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions): string {
    this.templateCalls.push({ messages, options });
    if (messages.some((m) => m.role === 'system' && m.content === 'FAIL')) throw new Error('template exploded');
    return messages.map((m) => `<${m.role}>${String(m.content)}`).join('') + (options.addGenerationPrompt ? '<assistant>' : '');
  }

  /** The token the fake emits at step i for a prompt. */
  static tokenAt(inputIds: number[], i: number): number {
    const seed = inputIds.reduce((a, b) => a + b, 0);
    return 97 + ((seed + i) % 26);
  }

  async *generate(req: EngineRequest): AsyncGenerator<EngineOutput> {
    this.requests.push(req);
    const st = { aborted: false };
    this.active.set(req.rid, st);
    const base = { rid: req.rid, promptTokens: req.inputIds.length, cachedTokens: Math.min(3, req.inputIds.length) };
    let done = false;
    try {
      if (this.o.rejectPrefix && req.rid.startsWith(this.o.rejectPrefix)) {
        done = true;
        yield {
          ...base,
          outputIds: [],
          text: '',
          finished: true,
          finishReason: { type: 'abort', message: 'The request queue is full.', status_code: 503, err_type: null },
          completionTokens: 0,
          errorStatus: 503,
        };
        return;
      }
      const max = req.sampling.maxNewTokens ?? this.o.unboundedLength ?? 20;
      let text = '';
      for (let i = 0; ; i++) {
        await sleep(this.o.stepMs ?? 1);
        if (st.aborted) {
          done = true;
          yield {
            ...base,
            outputIds: [],
            text: '',
            finished: true,
            finishReason: { type: 'abort', message: 'Aborted', status_code: null, err_type: null },
            completionTokens: i,
          };
          return;
        }
        if (i >= max) {
          done = true;
          yield { ...base, outputIds: [], text: '', finished: true, finishReason: { type: 'length', length: max }, completionTokens: i };
          return;
        }
        const tok = FakeEngine.tokenAt(req.inputIds, i);
        let delta = String.fromCharCode(tok);
        text += delta;
        const stop = req.sampling.stop.find((s) => text.endsWith(s));
        const isLast = i + 1 >= max;
        const out: EngineOutput = {
          ...base,
          outputIds: [tok],
          text: delta,
          finished: false,
          finishReason: null,
          completionTokens: i + 1,
        };
        if (stop) {
          out.text = delta.slice(0, Math.max(0, delta.length - stop.length));
          out.finished = true;
          out.finishReason = { type: 'stop', matched: stop };
        } else if (isLast) {
          out.finished = true;
          out.finishReason = { type: 'length', length: max };
        }
        if (req.returnLogprob) {
          out.logprobs = {
            outputTokenLogprobs: [[-0.25, tok]],
            outputTopLogprobs: req.topLogprobsNum > 0 ? [Array.from({ length: req.topLogprobsNum }, (_, k) => [-0.25 - k, tok + k] as [number, number])] : undefined,
          };
          if (i === 0) {
            const start = req.logprobStartLen < 0 ? req.inputIds.length - 1 : req.logprobStartLen;
            out.logprobs.inputTokenLogprobs = req.inputIds.slice(start).map((id, k) => [k === 0 ? null : -1, id]);
            if (req.topLogprobsNum > 0) out.logprobs.inputTopLogprobs = req.inputIds.slice(start).map((id, k) => (k === 0 ? null : [[-1, id]]));
          }
        }
        if (out.finished) done = true;
        yield out;
        if (out.finished) return;
      }
    } finally {
      this.active.delete(req.rid);
      if (done) this.finished.add(req.rid);
      else this.cancelled.add(req.rid);
    }
  }

  /** rids hit by abort(). */
  abortedRids = new Set<string>();

  abort(ridPrefix: string, abortAll = false): void {
    for (const [rid, st] of this.active) {
      if (abortAll || rid.startsWith(ridPrefix)) {
        st.aborted = true;
        this.abortedRids.add(rid);
      }
    }
  }

  async flushCache(): Promise<boolean> {
    return this.flushOk;
  }
  async pause(): Promise<void> {
    this.paused = true;
    this.abort('', true);
  }
  resume(): void {
    this.paused = false;
  }
  async stats(): Promise<EngineStats> {
    return {
      load: 7,
      numRunningReqs: this.active.size,
      numQueueReqs: 0,
      maxTotalNumTokens: 4096,
      maxReqInputLen: 250,
      tokenUsage: 0.25,
      genThroughput: 12.5,
      cacheHitRate: 0.5,
    };
  }
  async checkLeaks(): Promise<string | null> {
    return null;
  }
  async close(): Promise<void> {}
}

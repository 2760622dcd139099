/**
 * The tokenizer-manager half of SGLang that the HTTP routes share: request-length validation,
 * sampling-params parsing, driving one engine request, and accumulating its deltas into the
 * cumulative state SGLang's responses are built from (text, output_ids, logprobs, meta_info).
 *
 * Invariants:
 * - `drive` stops iterating (and so aborts the engine request) as soon as `signal` fires.
 * - A finished output carrying an error status is thrown (400 -> BadRequestError, else
 *   HttpStatusError) instead of being handed to the caller, as SGLang's _wait_one_response does;
 *   client aborts (no status) are ordinary results with finish_reason abort.
 * - GenState holds cumulative values; `takeNewIds` hands out each output id exactly once.
 */
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { EngineOutput, EngineRequest, FinishReason, SamplingParams, TokenLogprob } from '../engine/types.js';
import { parseSamplingParams, SamplingParamsError } from '../sampling/sampling-params.js';
import type { ServerContext } from './context.js';
import { BadRequestError, HttpStatusError } from './errors.js';

export function newRid(): string {
  return randomUUID().replace(/-/g, '');
}

/**
 * TokenizerManager._validate_one_request: context-length checks on the raw request. Mutates
 * `inputIds` (truncation) and `raw.max_new_tokens` (clamp) under --allow-auto-truncate.
 */
export function validateLength(ctx: ServerContext, inputIds: number[], raw: Record<string, unknown>): void {
  const contextLen = ctx.engine.modelInfo.contextLength;
  let n = inputIds.length;
  if (n >= contextLen) {
    if (ctx.opts.allowAutoTruncate) {
      inputIds.length = contextLen;
      n = contextLen;
    } else {
      throw new BadRequestError(
        `The input (${n} tokens) is longer than the model's context length (${contextLen} tokens).`,
      );
    }
  }
  const maxNew = raw['max_new_tokens'];
  if (typeof maxNew === 'number' && maxNew + n >= contextLen) {
    if (ctx.opts.allowAutoTruncate) {
      raw['max_new_tokens'] = Math.max(0, contextLen - n);
    } else {
      throw new BadRequestError(
        `Requested token count exceeds the model's maximum context length of ${contextLen} tokens. ` +
          `You requested a total of ${maxNew + n} tokens: ${n} tokens from the input messages and ` +
          `${maxNew} tokens for the completion. Please reduce the number of tokens in the input messages ` +
          `or the completion to fit within the limit.`,
      );
    }
  }
}

/** SamplingParams(**{...preferred, ...raw}).normalize().verify(); errors become 400s. */
export function toSamplingParams(ctx: ServerContext, raw: Record<string, unknown>, defaultMaxNewTokens = 128): SamplingParams {
  try {
    return parseSamplingParams(raw, {
      vocabSize: ctx.engine.modelInfo.vocabSize,
      preferred: ctx.opts.preferredSamplingParams ?? null,
      defaultMaxNewTokens,
    });
  } catch (e) {
    if (e instanceof SamplingParamsError) throw new BadRequestError(e.message);
    throw e;
  }
}

export type LogprobEntry = [number | null, number, string | null];

/** Cumulative state of one request, as TokenizerManager's ReqState. */
export class GenState {
  text = '';
  outputIds: number[] = [];
  private idOffset = 0;
  finishReason: FinishReason | null = null;
  finished = false;
  promptTokens = 0;
  completionTokens = 0;
  cachedTokens = 0;
  e2eLatency: number | null = null;
  readonly t0 = performance.now();
  inputTokenLogprobs: TokenLogprob[] = [];
  outputTokenLogprobs: TokenLogprob[] = [];
  inputTopLogprobs: (TokenLogprob[] | null)[] = [];
  outputTopLogprobs: (TokenLogprob[] | null)[] = [];
  inputTokenIdsLogprobs: (TokenLogprob[] | null)[] = [];
  outputTokenIdsLogprobs: (TokenLogprob[] | null)[] = [];

  constructor(readonly req: EngineRequest, readonly returnTextInLogprobs = false) {}

  get rid(): string {
    return this.req.rid;
  }

  apply(out: EngineOutput): void {
    this.text += out.text;
    this.outputIds.push(...out.outputIds);
    this.promptTokens = out.promptTokens;
    this.completionTokens = out.completionTokens;
    this.cachedTokens = out.cachedTokens;
    const lp = out.logprobs;
    if (lp) {
      if (lp.inputTokenLogprobs) this.inputTokenLogprobs.push(...lp.inputTokenLogprobs);
      if (lp.inputTopLogprobs) this.inputTopLogprobs.push(...lp.inputTopLogprobs);
      if (lp.inputTokenIdsLogprobs) this.inputTokenIdsLogprobs.push(...lp.inputTokenIdsLogprobs);
      this.outputTokenLogprobs.push(...lp.outputTokenLogprobs);
      if (lp.outputTopLogprobs) this.outputTopLogprobs.push(...lp.outputTopLogprobs);
      if (lp.outputTokenIdsLogprobs) this.outputTokenIdsLogprobs.push(...lp.outputTokenIdsLogprobs);
    }
    if (out.finished) {
      this.finished = true;
      this.finishReason = out.finishReason;
      this.e2eLatency = (performance.now() - this.t0) / 1000;
    }
  }

  /** Output ids not handed out yet (streaming's incremental output_ids). */
  takeNewIds(): number[] {
    const ids = this.outputIds.slice(this.idOffset);
    this.idOffset = this.outputIds.length;
    return ids;
  }
}

/** Maps an error-carrying finished output to the exception SGLang raises for it, else null. */
export function outputError(out: EngineOutput): Error | null {
  if (!out.finished || out.finishReason?.type !== 'abort') return null;
  const status = out.errorStatus ?? out.finishReason.status_code ?? null;
  if (status == null) return null;
  if (status === 400) return new BadRequestError(out.finishReason.message);
  return new HttpStatusError(status, out.finishReason.message);
}

export interface DriveOptions {
  signal?: AbortSignal;
  /** Called with each output after it was applied to the state (not for error outputs). */
  onOutput?: (state: GenState, out: EngineOutput) => void;
  /** Observe metrics for this request (false for health checks and cache warm-ups). */
  logMetrics?: boolean;
}

/** Runs one engine request to its end (or until `signal` fires), accumulating into `state`. */
export async function drive(ctx: ServerContext, state: GenState, o: DriveOptions = {}): Promise<GenState> {
  const { signal } = o;
  while (ctx.pauseGate) await ctx.pauseGate.promise;
  if (signal?.aborted) return state;
  const obs = ctx.metrics?.begin(o.logMetrics ?? true);
  const it = ctx.engine.generate(state.req)[Symbol.asyncIterator]();
  let done = false;
  // Client gone: abort in the engine right away (SGLang's abort_request(rid)), so a request still
  // waiting in the queue is dropped without waiting for its next output, then stop iterating.
  const onAbort = () => {
    if (done) return;
    ctx.engine.abort(state.req.rid, false);
    void it.return?.()?.catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const r = await it.next();
      if (r.done || signal?.aborted) break;
      const out = r.value;
      obs?.output(out.outputIds.length);
      const err = outputError(out);
      if (out.finished) {
        done = true;
        obs?.finish(out.promptTokens, out.completionTokens, out.cachedTokens, out.finishReason?.type === 'abort');
      }
      if (err) throw err;
      state.apply(out);
      o.onOutput?.(state, out);
      if (out.finished) break;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!done) {
      done = true;
      await it.return?.()?.catch(() => {});
    }
  }
  return state;
}

function withText(ctx: ServerContext, entries: TokenLogprob[], text: boolean): LogprobEntry[] {
  return entries.map(([lp, id]) => [lp, id, text ? ctx.engine.decode([id], false) : null]);
}

function topWithText(ctx: ServerContext, rows: (TokenLogprob[] | null)[], text: boolean): (LogprobEntry[] | null)[] {
  return rows.map((row) => (row && row.length > 0 ? withText(ctx, row, text) : null));
}

/** meta_info in SGLang's key order. */
export function metaInfo(ctx: ServerContext, s: GenState): Record<string, unknown> {
  const m: Record<string, unknown> = {
    id: s.rid,
    finish_reason: s.finishReason,
    prompt_tokens: s.promptTokens,
    weight_version: ctx.weightVersion,
  };
  if (s.req.returnLogprob) {
    const text = s.returnTextInLogprobs && !ctx.opts.skipTokenizerInit;
    m['input_token_logprobs'] = withText(ctx, s.inputTokenLogprobs, text);
    m['output_token_logprobs'] = withText(ctx, s.outputTokenLogprobs, text);
    if (s.req.topLogprobsNum > 0) {
      m['input_top_logprobs'] = topWithText(ctx, s.inputTopLogprobs, text);
      m['output_top_logprobs'] = topWithText(ctx, s.outputTopLogprobs, text);
    }
    if (s.req.tokenIdsLogprob) {
      m['input_token_ids_logprobs'] = topWithText(ctx, s.inputTokenIdsLogprobs, text);
      m['output_token_ids_logprobs'] = topWithText(ctx, s.outputTokenIdsLogprobs, text);
    }
  }
  m['completion_tokens'] = s.completionTokens;
  m['cached_tokens'] = s.cachedTokens;
  if (s.e2eLatency != null) m['e2e_latency'] = s.e2eLatency;
  return m;
}

/** The /generate output dict for the state's current point. */
export function outputDict(ctx: ServerContext, s: GenState, stream: boolean): Record<string, unknown> {
  if (ctx.opts.skipTokenizerInit) {
    const ids = ctx.opts.streamOutput && stream ? s.takeNewIds() : s.outputIds.slice();
    return { output_ids: ids, meta_info: metaInfo(ctx, s) };
  }
  const ids = stream ? s.takeNewIds() : s.outputIds.slice();
  return { text: s.text, output_ids: ids, meta_info: metaInfo(ctx, s) };
}

/**
 * Runs several engine requests concurrently. With `onOutput` (streaming), outputs are handed
 * over as they arrive; the first error stops the others and is rethrown.
 */
export async function runAll(
  ctx: ServerContext,
  reqs: EngineRequest[],
  signal: AbortSignal,
  returnTextInLogprobs: boolean,
  onOutput?: (index: number, state: GenState, out: EngineOutput) => void,
): Promise<GenState[]> {
  const inner = new AbortController();
  setMaxListeners(0, inner.signal); // one listener per request of the batch
  const stop = () => inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) inner.abort();
  try {
    return await Promise.all(
      reqs.map((r, index) =>
        drive(ctx, new GenState(r, returnTextInLogprobs), {
          signal: inner.signal,
          onOutput: onOutput ? (s, out) => onOutput(index, s, out) : undefined,
        }).catch((e: unknown) => {
          inner.abort();
          throw e;
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** finish_reason type and matched_stop of an OpenAI choice. */
export function finishOf(s: GenState): { finish_reason: string | null; matched_stop: number | string | null } {
  const fr = s.finishReason;
  return {
    finish_reason: fr ? fr.type : null,
    matched_stop: fr && 'matched' in fr ? fr.matched : null,
  };
}

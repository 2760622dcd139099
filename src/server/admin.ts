/**
 * Admin and health routes: /health, /health_generate, /get_model_info, /get_server_info,
 * /get_load, /flush_cache, /abort_request, /pause_generation, /continue_generation, /metrics.
 *
 * Invariants:
 * - /health* answer 503 unless the server is ready; otherwise a 1-token greedy generation on
 *   input_ids [0] (rid HEALTH_CHECK_<t>, never counted in metrics) must produce an output
 *   within the timeout for a 200 with an empty body.
 * - /abort_request never fails: 200 with an empty body (an empty rid without abort_all is a no-op).
 * - /pause_generation aborts everything and holds new requests until /continue_generation.
 */
import type { ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { GenState, drive, toSamplingParams } from './gen-core.js';
import { sendEmpty, sendJson, sendText } from './http-util.js';
import { isObject } from './validate.js';
import { invalid } from './errors.js';

export async function handleHealth(ctx: ServerContext, res: ServerResponse): Promise<void> {
  if (ctx.status !== 'ready') return sendEmpty(res, 503);
  const ac = new AbortController();
  const timeoutMs = ctx.opts.healthCheckTimeoutMs ?? 20_000;
  let gotOutput = false;
  const state = new GenState({
    rid: `HEALTH_CHECK_${Date.now() / 1000}`,
    inputIds: [0],
    sampling: toSamplingParams(ctx, { max_new_tokens: 1, temperature: 0 }),
    stream: false,
    returnLogprob: false,
    logprobStartLen: -1,
    topLogprobsNum: 0,
    tokenIdsLogprob: null,
  });
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    drive(ctx, state, {
      signal: ac.signal,
      logMetrics: false,
      onOutput: () => {
        gotOutput = true;
        clearTimeout(timer);
        resolve(true);
      },
    })
      .then(() => {
        clearTimeout(timer);
        resolve(gotOutput || state.finished);
      })
      .catch(() => {
        clearTimeout(timer);
        // An error output still proves the engine loop is alive, except a server-side failure.
        resolve(false);
      });
  });
  ac.abort();
  sendEmpty(res, ok ? 200 : 503);
}

export function handleModelInfo(ctx: ServerContext, res: ServerResponse): void {
  const mi = ctx.engine.modelInfo;
  sendJson(res, 200, {
    model_path: ctx.opts.modelPath ?? mi.modelPath,
    tokenizer_path: ctx.opts.tokenizerPath ?? mi.tokenizerPath,
    is_generation: mi.isGeneration,
    preferred_sampling_params:
      ctx.opts.preferredSamplingParamsRaw ??
      (ctx.opts.preferredSamplingParams ? JSON.stringify(ctx.opts.preferredSamplingParams) : null),
    weight_version: ctx.weightVersion,
  });
}

export async function handleServerInfo(ctx: ServerContext, res: ServerResponse): Promise<void> {
  const s = await ctx.engine.stats();
  const args = ctx.opts.serverInfo ?? {};
  sendJson(res, 200, {
    ...args,
    status: 'ready',
    max_total_num_tokens: s.maxTotalNumTokens,
    max_req_input_len: s.maxReqInputLen,
    internal_states: [
      {
        ...args,
        last_gen_throughput: s.genThroughput,
        load: s.load,
        num_running_reqs: s.numRunningReqs,
        num_queue_reqs: s.numQueueReqs,
        token_usage: s.tokenUsage,
        cache_hit_rate: s.cacheHitRate,
      },
    ],
    version: ctx.opts.version ?? '0.0.0',
  });
}

export async function handleLoad(ctx: ServerContext, res: ServerResponse): Promise<void> {
  const s = await ctx.engine.stats();
  sendJson(res, 200, { load: s.load });
}

const FLUSH_TEXT =
  'Cache flushed.\nPlease check backend logs for more details. ' +
  '(When there are running or waiting requests, the operation will not be performed.)\n';

export async function handleFlushCache(ctx: ServerContext, res: ServerResponse): Promise<void> {
  const ok = await ctx.engine.flushCache();
  sendText(res, ok ? 200 : 400, FLUSH_TEXT);
}

export function handleAbort(ctx: ServerContext, res: ServerResponse, body: unknown): void {
  const b = body == null ? {} : body;
  if (!isObject(b)) throw invalid([], 'Input should be a valid dictionary', 'dict_type');
  const rid = b['rid'] ?? '';
  const abortAll = b['abort_all'] ?? false;
  if (typeof rid !== 'string') throw invalid(['rid'], 'Input should be a valid string', 'string_type');
  if (typeof abortAll !== 'boolean') throw invalid(['abort_all'], 'Input should be a valid boolean', 'bool_type');
  if (abortAll) ctx.engine.abort('', true);
  else if (rid !== '') ctx.engine.abort(rid, false);
  sendEmpty(res, 200);
}

export async function handlePause(ctx: ServerContext, res: ServerResponse): Promise<void> {
  if (!ctx.pauseGate) {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    ctx.pauseGate = { promise, release };
  }
  await ctx.engine.pause();
  sendJson(res, 200, { message: 'Generation paused successfully.', status: 'ok' });
}

export function handleContinue(ctx: ServerContext, res: ServerResponse): void {
  ctx.engine.resume();
  const gate = ctx.pauseGate;
  ctx.pauseGate = null;
  gate?.release();
  sendJson(res, 200, { message: 'Generation continued successfully.', status: 'ok' });
}

export async function handleMetrics(ctx: ServerContext, res: ServerResponse): Promise<void> {
  if (!ctx.metrics) return sendJson(res, 404, { detail: 'Not Found' });
  const { contentType, text } = await ctx.metrics.render();
  sendText(res, 200, text, contentType);
}

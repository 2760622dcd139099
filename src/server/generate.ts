/**
 * Native POST/PUT /generate (SGLang GenerateReqInput + TokenizerManager.generate_request).
 *
 * Invariants:
 * - A batch (list input) or n>1 answers a JSON list (or stream chunks with `index`), in order
 *   batch-major: index = i * n + j.
 * - n>1 first warms the prefix cache with a max_new_tokens=0 request per prompt, then sends n
 *   copies with fresh uuid rids (so meta_info.id is not the user rid), as SGLang does.
 * - Streaming chunks carry cumulative text and incremental output_ids; errors arrive in-stream
 *   as `data: {"error":{"message"}}` followed by `data: [DONE]`.
 * - Client aborts give 200 results with finish_reason abort; engine errors map as errors.ts says.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineRequest } from '../engine/types.js';
import type { ServerContext } from './context.js';
import { BadRequestError, invalid, nativeErrorReply } from './errors.js';
import { GenState, drive, newRid, outputDict, runAll, toSamplingParams, validateLength } from './gen-core.js';
import { SseWriter, clientGone, sendJson } from './http-util.js';
import { type Json, isInt, isIntList, isObject, optBool, requireObject } from './validate.js';

interface Item {
  text: string | null;
  inputIds: number[] | null;
  sampling: Json;
  rid: string;
  returnLogprob: boolean;
  logprobStartLen: number;
  topLogprobsNum: number;
  tokenIdsLogprob: number[] | null;
}

export interface ParsedGenerate {
  items: Item[];
  isSingle: boolean;
  n: number;
  stream: boolean;
  returnTextInLogprobs: boolean;
}

function perItem<T>(v: unknown, i: number, check: (x: unknown) => x is T, dflt: T, key: string): T {
  const x = Array.isArray(v) && !(key === 'token_ids_logprob' && isIntList(v)) ? v[i] : v;
  if (x == null) return dflt;
  if (!check(x)) throw invalid([key], `Invalid value for ${key}`);
  return x;
}

const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

/** GenerateReqInput.normalize_batch_and_arguments. */
export function parseGenerate(raw: unknown): ParsedGenerate {
  const body = requireObject(raw);
  const text = body['text'];
  const inputIds = body['input_ids'];
  if (body['input_embeds'] != null) {
    throw new BadRequestError(
      'input_embeds is provided while disable_radix_cache is False. Please add `--disable-radix-cache` ' +
        'when you launch the server if you want to use input_embeds as inputs.',
    );
  }
  if (text == null && inputIds == null) {
    throw new BadRequestError('Either text, input_ids or input_embeds should be provided.');
  }
  let prompts: { text: string | null; ids: number[] | null }[];
  let isSingle: boolean;
  if (text != null) {
    if (typeof text === 'string') {
      prompts = [{ text, ids: null }];
      isSingle = true;
    } else if (Array.isArray(text) && text.every((t) => typeof t === 'string')) {
      prompts = (text as string[]).map((t) => ({ text: t, ids: null }));
      isSingle = false;
    } else {
      throw invalid(['text'], 'Input should be a valid string or a list of strings', 'string_type');
    }
  } else {
    if (!Array.isArray(inputIds)) throw invalid(['input_ids'], 'Input should be a valid list', 'list_type');
    if (inputIds.length === 0) throw new BadRequestError('input_ids cannot be empty.');
    if (isIntList(inputIds)) {
      prompts = [{ text: null, ids: inputIds.slice() }];
      isSingle = true;
    } else if (inputIds.every(isIntList)) {
      prompts = (inputIds as number[][]).map((ids) => ({ text: null, ids: ids.slice() }));
      isSingle = false;
    } else {
      throw invalid(['input_ids'], 'Input should be a list of integers or a list of lists of integers', 'list_type');
    }
  }
  const batchSize = prompts.length;

  const sp = body['sampling_params'] ?? {};
  let spList: Json[];
  if (isObject(sp)) spList = prompts.map(() => ({ ...sp }));
  else if (Array.isArray(sp) && sp.every(isObject)) {
    if (sp.length !== batchSize) {
      throw new BadRequestError('The length of sampling_params does not match the batch size.');
    }
    spList = (sp as Json[]).map((s) => ({ ...s }));
  } else throw invalid(['sampling_params'], 'Input should be a valid dictionary or list of dictionaries', 'dict_type');

  const nOf = (s: Json): number => {
    const n = s['n'] ?? 1;
    if (!isInt(n)) throw new BadRequestError('n must be an integer.');
    return n;
  };
  const n = nOf(spList[0]!);
  if (!spList.every((s) => nOf(s) === n)) {
    throw new BadRequestError('The parallel_sample_num should be the same for all samples in sample params.');
  }
  if (n < 1) throw new BadRequestError('n must be at least 1.');
  if (n > 1) {
    isSingle = false;
    for (const k of ['return_logprob', 'logprob_start_len', 'top_logprobs_num']) {
      if (Array.isArray(body[k])) throw new BadRequestError(`${k} should not be a list when n > 1 (parallel sampling).`);
    }
  }
  for (const s of spList) delete s['n'];

  const rid = body['rid'];
  let rids: string[];
  if (rid == null) rids = prompts.map(() => newRid());
  else if (typeof rid === 'string') rids = isSingle ? [rid] : prompts.map((_, i) => `${rid}_${i}`);
  else if (Array.isArray(rid) && rid.every((r) => typeof r === 'string')) {
    if (isSingle) throw invalid(['rid'], 'Input should be a valid string', 'string_type');
    if (rid.length !== batchSize) {
      throw new BadRequestError('The specified rids length mismatch with the batch_size for batch processing.');
    }
    rids = rid as string[];
  } else throw invalid(['rid'], 'Input should be a valid string or a list of strings', 'string_type');

  const items: Item[] = prompts.map((p, i) => ({
    text: p.text,
    inputIds: p.ids,
    sampling: spList[i]!,
    rid: rids[i]!,
    returnLogprob: perItem(body['return_logprob'], i, isBool, false, 'return_logprob'),
    logprobStartLen: perItem(body['logprob_start_len'], i, isInt, -1, 'logprob_start_len'),
    topLogprobsNum: perItem(body['top_logprobs_num'], i, isInt, 0, 'top_logprobs_num'),
    tokenIdsLogprob: tokenIdsFor(body['token_ids_logprob'], i),
  }));
  return {
    items,
    isSingle,
    n,
    stream: optBool(body, 'stream', false),
    returnTextInLogprobs: optBool(body, 'return_text_in_logprobs', false),
  };
}

function tokenIdsFor(v: unknown, i: number): number[] | null {
  if (v == null) return null;
  if (isIntList(v)) return v;
  if (Array.isArray(v) && v.every((x) => x == null || isIntList(x))) return (v[i] as number[] | null) ?? null;
  throw invalid(['token_ids_logprob'], 'Input should be a list of integers or a list of lists', 'list_type');
}

/** Tokenizes and validates one item (TokenizerManager._tokenize_one_request). */
function toEngineRequest(ctx: ServerContext, it: Item, stream: boolean, defaultMaxNewTokens = 128): EngineRequest {
  let ids: number[];
  if (it.text != null) {
    if (ctx.opts.skipTokenizerInit) {
      throw new BadRequestError(
        'The engine initialized with skip_tokenizer_init=True cannot accept text prompts. Please provide ' +
          'input_ids or re-initialize the engine with skip_tokenizer_init=False.',
      );
    }
    ids = ctx.engine.encode(it.text, true);
  } else ids = it.inputIds!;
  validateLength(ctx, ids, it.sampling);
  const sampling = toSamplingParams(ctx, it.sampling, defaultMaxNewTokens);
  return {
    rid: it.rid,
    inputIds: ids,
    sampling,
    stream,
    returnLogprob: it.returnLogprob,
    logprobStartLen: it.logprobStartLen,
    topLogprobsNum: it.topLogprobsNum,
    tokenIdsLogprob: it.tokenIdsLogprob,
  };
}

/**
 * Builds the engine requests of a parsed /generate (n copies per prompt, fresh rids for n>1)
 * and runs the n>1 cache warm-up. Shared with the OpenAI routes.
 */
export async function prepareRequests(
  ctx: ServerContext,
  p: ParsedGenerate,
  signal: AbortSignal,
  defaultMaxNewTokens = 128,
): Promise<EngineRequest[]> {
  const base = p.items.map((it) => toEngineRequest(ctx, it, p.stream, defaultMaxNewTokens));
  if (p.n === 1) return base;
  for (const r of base) {
    const warm: EngineRequest = {
      ...r,
      rid: newRid(),
      stream: false,
      returnLogprob: false,
      sampling: { ...r.sampling, maxNewTokens: 0, minNewTokens: 0 },
    };
    await drive(ctx, new GenState(warm), { signal, logMetrics: false });
  }
  const out: EngineRequest[] = [];
  for (const r of base) for (let j = 0; j < p.n; j++) out.push({ ...r, rid: newRid() });
  return out;
}

export async function handleGenerate(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, body: unknown) {
  const signal = clientGone(req, res);
  const p = parseGenerate(body);
  if (!p.stream) {
    let states: GenState[];
    try {
      const reqs = await prepareRequests(ctx, p, signal);
      states = await runAll(ctx, reqs, signal, p.returnTextInLogprobs);
    } catch (e) {
      const { status, body: b } = nativeErrorReply(e);
      return sendJson(res, status, b);
    }
    if (signal.aborted) return;
    const outs = states.map((s) => outputDict(ctx, s, false));
    return sendJson(res, 200, p.isSingle ? outs[0] : outs);
  }

  const sse = new SseWriter(res);
  sse.start();
  try {
    const reqs = await prepareRequests(ctx, p, signal);
    await runAll(ctx, reqs, signal, p.returnTextInLogprobs, (index, s) => {
      const d = outputDict(ctx, s, true);
      sse.send(p.isSingle ? d : { ...d, index });
    });
  } catch (e) {
    if (signal.aborted) return;
    const msg = e instanceof Error ? e.message : String(e);
    sse.send({ error: { message: msg } });
  }
  if (!signal.aborted) sse.done();
}

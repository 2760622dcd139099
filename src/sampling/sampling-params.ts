/**
 * Parses SGLang's snake_case `sampling_params` JSON into the engine's normalized `SamplingParams`,
 * with SGLang 0.5.2's defaults, its `__init__` rewrites and its `verify()` messages.
 *
 * Invariants:
 * - Steps run in SGLang's order: merge `{...preferred, ...request}` → type checks (ours; SGLang
 *   has none and fails with a TypeError) → `__init__` rewrites (0 <= temperature < 1e-6 becomes
 *   temperature 1 + top_k 1; then top_k -1 becomes 1<<30) → `verify(vocabSize)` in its exact
 *   order and wording → `normalize()` (stop str → list).
 * - Numbers in messages print as JS prints them ("got -1.", "got 0."): JSON does not keep
 *   Python's int/float distinction.
 * - null for a field means its default (as later SGLang does); for `max_new_tokens` null means
 *   unbounded. Unknown keys are rejected (SGLang raises on unexpected keyword arguments).
 * - Deviations: empty stop strings are dropped (SGLang would stop on the first token, since ""
 *   is in every text); `n` and `stream_interval` must be >= 1 (SGLang would crash on them).
 * - Every failure throws `SamplingParamsError` (the server maps it to HTTP 400).
 */
import type { SamplingParams } from '../engine/types.js';

/** SGLang's TOP_K_ALL: top_k meaning "the whole vocabulary". */
export const TOP_K_ALL = 1 << 30;
const SAMPLING_EPS = 1e-6;

export class SamplingParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplingParamsError';
  }
}

/** SamplingParams plus the fields the engine's types leave out (used before the engine). */
export interface ParsedSamplingParams extends SamplingParams {
  /** Parallel samples; consumed when a request is expanded. */
  n: number;
  /** Passed to a custom logit processor. */
  customParams: Record<string, unknown> | null;
}

export interface ParseSamplingOptions {
  vocabSize: number;
  /** Server-side `--preferred-sampling-params`, merged under the request. */
  preferred?: Record<string, unknown> | null;
  /** Default when `max_new_tokens` is absent: 128 on /generate, 16 on completions, null on chat. */
  defaultMaxNewTokens?: number | null;
}

const KNOWN_KEYS = new Set([
  'max_new_tokens', 'min_new_tokens', 'temperature', 'top_p', 'top_k', 'min_p',
  'frequency_penalty', 'presence_penalty', 'repetition_penalty', 'stop', 'stop_token_ids',
  'ignore_eos', 'skip_special_tokens', 'spaces_between_special_tokens', 'no_stop_trim',
  'logit_bias', 'sampling_seed', 'seed', 'stream_interval', 'json_schema', 'regex', 'ebnf',
  'structural_tag', 'n', 'custom_params',
]);

type Json = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Json, key: string, dflt: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SamplingParamsError(`${key} must be a number, got ${typeName(v)}.`);
  }
  return v;
}

function int(obj: Json, key: string, dflt: number): number;
function int(obj: Json, key: string, dflt: number | null): number | null;
function int(obj: Json, key: string, dflt: number | null): number | null {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SamplingParamsError(`${key} must be an integer, got ${typeName(v)}.`);
  }
  if (!Number.isInteger(v)) throw new SamplingParamsError(`${key} must be an integer, got ${v}.`);
  return v;
}

function bool(obj: Json, key: string, dflt: boolean): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') {
    throw new SamplingParamsError(`${key} must be a boolean, got ${typeName(v)}.`);
  }
  return v;
}

function str(obj: Json, key: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') {
    throw new SamplingParamsError(`${key} must be a string, got ${typeName(v)}.`);
  }
  return v;
}

/** `stop`: str or list of str → list (normalize()). Empty strings are dropped (see header). */
function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw new SamplingParamsError(`stop must be a string or a list of strings, got ${typeName(v)}.`);
  }
  return [...new Set(list as string[])].filter((s) => s.length > 0);
}

/** `stop_token_ids`: list of int, kept as a deduplicated list (SGLang: a set, None if empty). */
function parseStopTokenIds(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'number' || !Number.isInteger(t))) {
    throw new SamplingParamsError(`stop_token_ids must be a list of integers, got ${typeName(v)}.`);
  }
  return [...new Set(v as number[])];
}

/** Python `int(key)` on a logit_bias key: optional sign, digits, surrounding blanks. */
function parseBiasKey(key: string): number {
  const t = key.trim().replace(/_/g, '');
  if (!/^[+-]?\d+$/.test(t)) {
    throw new SamplingParamsError(`invalid literal for int() with base 10: '${key}'`);
  }
  return Number(t);
}

/** `logit_bias`: {"token_id": float}; keys are range-checked later, in verify order. */
function parseLogitBias(v: unknown): Array<[string, number, number]> | null {
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v)) {
    throw new SamplingParamsError(`logit_bias must be an object mapping token ids to numbers, got ${typeName(v)}.`);
  }
  const out: Array<[string, number, number]> = [];
  for (const [k, b] of Object.entries(v)) {
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new SamplingParamsError(`logit_bias values must be numbers, got ${typeName(b)} for key ${k}.`);
    }
    out.push([k, parseBiasKey(k), b]);
  }
  return out;
}

function parseCustomParams(v: unknown): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v)) throw new SamplingParamsError(`custom_params must be an object, got ${typeName(v)}.`);
  return v;
}

/**
 * `seed` is an alias of `sampling_seed` (which wins when both are set). Resolved per source, so
 * a request's `seed` overrides a preferred `sampling_seed`.
 */
function seedAlias(o: Json): Json {
  if (!('seed' in o)) return o;
  const { seed, ...rest } = o;
  const viaSeed = int({ seed }, 'seed', null);
  return rest.sampling_seed === undefined || rest.sampling_seed === null ? { ...rest, sampling_seed: viaSeed } : rest;
}

/** SGLang `verify(vocab_size)`, same order and wording. `bias` holds [rawKey, id, value]. */
function verify(p: ParsedSamplingParams, bias: Array<[string, number, number]> | null, vocabSize: number): void {
  const fail = (m: string): never => {
    throw new SamplingParamsError(m);
  };
  if (p.temperature < 0) fail(`temperature must be non-negative, got ${p.temperature}.`);
  if (!(p.topP > 0 && p.topP <= 1)) fail(`top_p must be in (0, 1], got ${p.topP}.`);
  if (!(p.minP >= 0 && p.minP <= 1)) fail(`min_p must be in [0, 1], got ${p.minP}.`);
  if (p.topK < 1 || p.topK === -1) fail(`top_k must be -1 (disable) or at least 1, got ${p.topK}.`);
  if (!(p.frequencyPenalty >= -2 && p.frequencyPenalty <= 2)) {
    fail(`frequency_penalty must be in [-2, 2], got ${p.frequencyPenalty}.`);
  }
  if (!(p.presencePenalty >= -2 && p.presencePenalty <= 2)) {
    fail(`presence_penalty must be in [-2, 2], got ${p.presencePenalty}.`);
  }
  if (!(p.repetitionPenalty >= 0 && p.repetitionPenalty <= 2)) {
    fail(`repetition_penalty must be in [0, 2], got ${p.repetitionPenalty}.`);
  }
  if (!(p.minNewTokens >= 0)) fail(`min_new_tokens must be in [0, max_new_tokens], got ${p.minNewTokens}.`);
  if (p.maxNewTokens !== null) {
    if (p.maxNewTokens < 0) fail(`max_new_tokens must be at least 0, got ${p.maxNewTokens}.`);
    if (!(p.minNewTokens <= p.maxNewTokens)) {
      fail(`min_new_tokens must be in [0, max_new_tokens(${p.maxNewTokens})], got ${p.minNewTokens}.`);
    }
  }
  for (const [raw, id] of bias ?? []) {
    if (!(id >= 0 && id < vocabSize)) fail(`logit_bias must has keys in [0, ${vocabSize - 1}], got ${raw}.`);
  }
  const grammars = [p.jsonSchema, p.regex, p.ebnf].filter((g) => g !== null).length;
  if (grammars > 1) fail('Only one of regex, json_schema, or ebnf can be set.');
}

/** Our extra checks on fields SGLang leaves unchecked but would crash on. */
function verifyExtras(p: ParsedSamplingParams): void {
  if (p.n < 1) throw new SamplingParamsError(`n must be at least 1, got ${p.n}.`);
  if (p.streamInterval !== null && p.streamInterval < 1) {
    throw new SamplingParamsError(`stream_interval must be at least 1, got ${p.streamInterval}.`);
  }
}

/**
 * Parse, normalize and verify one request's sampling params.
 * `raw`: the request's `sampling_params` (undefined/null = {}).
 */
export function parseSamplingParams(raw: unknown, opts: ParseSamplingOptions): ParsedSamplingParams {
  if (raw !== undefined && raw !== null && !isPlainObject(raw)) {
    throw new SamplingParamsError(`sampling_params must be an object, got ${typeName(raw)}.`);
  }
  const obj: Json = { ...seedAlias(opts.preferred ?? {}), ...seedAlias((raw as Json | null | undefined) ?? {}) };
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.has(key)) throw new SamplingParamsError(`Unknown sampling parameter: ${key}.`);
  }
  const dfltMax = opts.defaultMaxNewTokens === undefined ? 128 : opts.defaultMaxNewTokens;
  const maxNewTokens = 'max_new_tokens' in obj ? int(obj, 'max_new_tokens', null) : dfltMax;
  const seed = int(obj, 'sampling_seed', null);
  const bias = parseLogitBias(obj.logit_bias);

  const p: ParsedSamplingParams = {
    maxNewTokens,
    minNewTokens: int(obj, 'min_new_tokens', 0),
    temperature: num(obj, 'temperature', 1),
    topP: num(obj, 'top_p', 1),
    topK: int(obj, 'top_k', -1),
    minP: num(obj, 'min_p', 0),
    frequencyPenalty: num(obj, 'frequency_penalty', 0),
    presencePenalty: num(obj, 'presence_penalty', 0),
    repetitionPenalty: num(obj, 'repetition_penalty', 1),
    stop: parseStop(obj.stop),
    stopTokenIds: parseStopTokenIds(obj.stop_token_ids),
    ignoreEos: bool(obj, 'ignore_eos', false),
    skipSpecialTokens: bool(obj, 'skip_special_tokens', true),
    spacesBetweenSpecialTokens: bool(obj, 'spaces_between_special_tokens', true),
    noStopTrim: bool(obj, 'no_stop_trim', false),
    logitBias: null,
    seed,
    streamInterval: int(obj, 'stream_interval', null),
    jsonSchema: str(obj, 'json_schema'),
    regex: str(obj, 'regex'),
    ebnf: str(obj, 'ebnf'),
    structuralTag: str(obj, 'structural_tag'),
    n: int(obj, 'n', 1),
    customParams: parseCustomParams(obj.custom_params),
  };

  // SGLang __init__ rewrites, in its order.
  if (p.temperature >= 0 && p.temperature < SAMPLING_EPS) {
    p.temperature = 1;
    p.topK = 1;
  }
  if (p.topK === -1) p.topK = TOP_K_ALL;

  verify(p, bias, opts.vocabSize);
  verifyExtras(p);
  if (bias !== null && bias.length > 0) {
    p.logitBias = new Map();
    for (const [, id, b] of bias) p.logitBias.set(id, b); // "5" and "05": last wins, as SGLang's tensor assignment
  }
  return p;
}

/** SGLang's defaults (what `parseSamplingParams({}, {vocabSize})` returns). */
export function defaultSamplingParams(vocabSize: number): ParsedSamplingParams {
  return parseSamplingParams({}, { vocabSize });
}

/**
 * From parsed flags to the configuration the server runs with: support checks (what tsgl
 * implements), SGLang's startup derivations for a machine without a GPU, cross-field
 * validation, and the flat snake_case dict reported by `/get_server_info`.
 *
 * Invariants:
 * - `checkSupport` judges the values the user gave (run it on the parsed args, before
 *   resolution): a flag differing from its table default and not in `supportedValues` is
 *   rejected ('unsupported', one ConfigError naming every such flag) or warned about
 *   ('gpu-only' and 'no-op', exactly one line per flag).
 * - `resolveServerArgs` is the single home of cross-field logic. It mirrors SGLang 0.5.2's
 *   `ServerArgs.__post_init__` on a host without a GPU (mem_fraction_static 0.88,
 *   chunked_prefill_size 4096, page_size 1, grammar_backend xgrammar, device cpu, ...), then
 *   validates, and returns frozen data. Nothing mutates config afterwards.
 * - Validation collects every problem and throws one ConfigError listing them all.
 * - Values that need the model (max_running_requests, max_total_tokens, context_length) or
 *   the machine (threads) stay null here; the engine derives them.
 */

import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';

import { allFlags, fieldName, sameValue, type ArgSpec } from './arg-spec.js';
import { ConfigError } from './errors.js';
import { parseServerArgs } from './parse.js';
import { SERVER_ARGS, type ServerArgKey, type ServerArgs } from './server-args.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Server args after resolution: the values SGLang derives at startup are no longer null. */
export type ResolvedServerArgs = Readonly<
  Omit<
    Mutable<ServerArgs>,
    | 'tokenizerPath'
    | 'servedModelName'
    | 'device'
    | 'randomSeed'
    | 'memFractionStatic'
    | 'chunkedPrefillSize'
    | 'pageSize'
    | 'grammarBackend'
    | 'samplingBackend'
    | 'customWeightLoader'
  > & {
    tokenizerPath: string;
    servedModelName: string;
    device: string;
    randomSeed: number;
    memFractionStatic: number;
    /** <= 0 means chunked prefill is off. */
    chunkedPrefillSize: number;
    pageSize: number;
    grammarBackend: NonNullable<ServerArgs['grammarBackend']>;
    samplingBackend: NonNullable<ServerArgs['samplingBackend']>;
    customWeightLoader: string[];
  }
>;

const specOf = (key: string): ArgSpec<any> => (SERVER_ARGS as Record<string, ArgSpec<any>>)[key]!;

function flagsOf(key: string): string {
  return allFlags(key, specOf(key)).join('/');
}

function describe(key: string, v: unknown): string {
  const spec = specOf(key);
  if (spec.kind === 'bool') return flagsOf(key);
  return `${flagsOf(key)} ${Array.isArray(v) ? v.join(' ') : String(v)}`;
}

export interface SupportReport {
  /** One line per GPU-only flag the user set. */
  warnings: string[];
}

/**
 * Rejects flags tsgl has not built yet (ConfigError naming each) and returns one warning line
 * per GPU-only flag that was set. Run on the parsed, unresolved args.
 */
export function checkSupport(args: ServerArgs): SupportReport {
  const warnings: string[] = [];
  const rejected: string[] = [];
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    const v = (args as Record<string, unknown>)[key];
    if (spec.support === 'supported' && !spec.supportedValues) continue;
    if (sameValue(v, spec.default)) continue;
    if (spec.supportedValues?.some((ok) => sameValue(ok, v))) continue;
    if (spec.kind === 'bool' && v === false && spec.default === null) continue;
    const level = spec.support === 'supported' ? 'unsupported' : spec.support;
    if (level === 'gpu-only') {
      warnings.push(`warning: ${describe(key, v)} has no effect on tsgl's CPU backend (GPU-only option); ignored.`);
    } else if (level === 'no-op') {
      warnings.push(`warning: ${describe(key, v)} has no effect in tsgl (${spec.noEffect ?? 'nothing to configure'}); ignored.`);
    } else {
      const ok = spec.supportedValues ? ` (tsgl supports: ${spec.supportedValues.join(', ')})` : '';
      rejected.push(`${describe(key, v)}${ok}`);
    }
  }
  if (rejected.length > 0) {
    throw new ConfigError(
      `not built yet in tsgl: ${rejected.join('; ')}. ` +
        `Remove ${rejected.length === 1 ? 'this flag' : 'these flags'} or set ${rejected.length === 1 ? 'it' : 'them'} to the default.`,
    );
  }
  return { warnings };
}

/** The flat dict of every field under SGLang's snake_case names (for /get_server_info). */
export function toServerInfo(args: ServerArgs | ResolvedServerArgs): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    const v = (args as Record<string, unknown>)[key];
    info[fieldName(key, spec)] = Array.isArray(v) ? [...v] : v;
  }
  return info;
}

/** SGLang's `check_gguf_file`: an existing file named *.gguf, or one starting with "GGUF". */
export function isGgufFile(path: string): boolean {
  try {
    if (!existsSync(path) || !statSync(path).isFile()) return false;
    if (path.endsWith('.gguf')) return true;
    const fd = openSync(path, 'r');
    try {
      const magic = Buffer.alloc(4);
      return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'GGUF';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** SGLang's `is_remote_url`: any `scheme://...` path. */
export function isRemoteUrl(path: string): boolean {
  return /^(.+):\/\/(.*)$/.test(path);
}

export interface ResolveOptions {
  /** Default: SGLang's check on the file system. */
  isGgufFile?: (path: string) => boolean;
  /** Draws the seed when --random-seed is unset: an integer in [0, 2**30]. */
  randomSeed?: () => number;
}

export interface Resolved {
  args: ResolvedServerArgs;
  /** Lines to log at startup (derived adjustments worth telling the user). */
  warnings: string[];
}

/**
 * Derives what SGLang derives at startup on a host without a GPU, validates the result and
 * freezes it. Throws ConfigError listing every problem.
 */
export function resolveServerArgs(args: ServerArgs, opts: ResolveOptions = {}): Resolved {
  const a = { ...args } as Mutable<ServerArgs>;
  const warnings: string[] = [];

  // Deprecated MoE flags map onto their replacements, as in SGLang.
  if (a.enableEpMoe) a.epSize = a.tpSize;
  if (a.enableDeepepMoe) a.moeA2aBackend = 'deepep';
  if (a.enableTritonKernelMoe) a.moeRunnerBackend = 'triton_kernel';
  if (a.enableFlashinferCutlassMoe) a.moeRunnerBackend = 'flashinfer_cutlass';
  if (a.enableFlashinferTrtllmMoe) a.moeRunnerBackend = 'flashinfer_trtllm';
  if (a.enableFlashinferMxfp4Moe) a.moeRunnerBackend = 'flashinfer_mxfp4';

  a.tokenizerPath ??= a.modelPath;
  a.servedModelName ??= a.modelPath;
  a.device ??= 'cpu';
  a.randomSeed ??= opts.randomSeed ? opts.randomSeed() : Math.floor(Math.random() * (2 ** 30 + 1));

  // No GPU memory to size from: SGLang's CPU defaults.
  a.memFractionStatic ??= 0.88;
  a.chunkedPrefillSize ??= 4096;

  // device == cpu: SGLang picks intel_amx attention and pytorch sampling.
  if (a.device === 'cpu') {
    a.attentionBackend ??= 'intel_amx';
    a.samplingBackend = 'pytorch';
  }
  a.samplingBackend ??= 'pytorch';
  if (a.attentionBackend === 'torch_native') a.disableCudaGraph = true;

  a.pageSize ??= 1;
  a.grammarBackend ??= 'xgrammar';
  if (a.dpSize === 1) a.enableDpAttention = false;
  if (a.ppSize > 1) a.disableOverlapSchedule = true;
  if (a.speculativeAlgorithm === 'NEXTN') a.speculativeAlgorithm = 'EAGLE';
  if (a.speculativeAlgorithm !== null && a.enableMixedChunk) {
    a.enableMixedChunk = false;
    warnings.push('warning: --enable-mixed-chunk is turned off because speculative decoding is on.');
  }

  const gguf = opts.isGgufFile ?? isGgufFile;
  if ((a.loadFormat === 'auto' || a.loadFormat === 'gguf') && gguf(a.modelPath)) {
    a.loadFormat = 'gguf';
    a.quantization = 'gguf';
  }
  if (isRemoteUrl(a.modelPath)) a.loadFormat = 'remote';
  a.customWeightLoader ??= [];
  if (a.loraPaths && a.loraPaths.length > 0 && a.enableLora === null) a.enableLora = true;

  if (a.enableMixedChunk && a.chunkedPrefillSize <= 0) {
    warnings.push(
      'warning: --enable-mixed-chunk has no effect because chunked prefill is off (--chunked-prefill-size <= 0).',
    );
  }

  const resolved = Object.freeze(a) as unknown as ResolvedServerArgs;
  validateServerArgs(resolved);
  return { args: resolved, warnings };
}

function checkBucketsRule(flag: string, rule: string[] | null, problems: string[]): void {
  if (!rule || rule.length === 0) return;
  const [kind, ...rest] = rule;
  if (kind === 'default') {
    if (rest.length !== 0) problems.push(`${flag}: the 'default' rule takes no values`);
  } else if (kind === 'tse') {
    const [middle, base, count] = rest.map(Number);
    if (rest.length !== 3 || !Number.isFinite(middle) || !Number.isFinite(base) || !Number.isInteger(count)) {
      problems.push(`${flag}: the 'tse' rule needs exactly: tse <float:middle> <float:base> <int:count>`);
    } else if (!(base! > 1) || !(count! > 0) || !(middle! > 0)) {
      problems.push(`${flag}: 'tse' needs middle > 0, base > 1 and count > 0`);
    }
  } else if (kind === 'customer') {
    const values = rest.map(Number);
    if (values.length === 0) problems.push(`${flag}: the 'customer' rule needs at least one bucket value`);
    else if (values.some((v) => !Number.isFinite(v))) problems.push(`${flag}: 'customer' bucket values must be numbers`);
    else if (new Set(values).size !== values.length) problems.push(`${flag}: 'customer' bucket values must be distinct`);
    else if (values.some((v) => v < 0)) problems.push(`${flag}: 'customer' bucket values must be >= 0`);
  } else {
    problems.push(`${flag}: unknown rule '${kind}' (choose from 'tse', 'default', 'customer')`);
  }
}

/**
 * Cross-field checks SGLang makes at startup (check_server_args and __post_init__ asserts)
 * that mean something for tsgl, plus range checks for values built without argv.
 * Works on resolved args; on unresolved ones the derived fields are simply skipped when null.
 */
export function validateServerArgs(args: ServerArgs | ResolvedServerArgs): void {
  const a = args as ServerArgs;
  const p: string[] = [];
  const f = (k: ServerArgKey) => flagsOf(k);

  // Per-field bounds declared in the table (argv parsing checks them too).
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    const v = (a as Record<string, unknown>)[key];
    const nums = typeof v === 'number' ? [v] : Array.isArray(v) && spec.kind === 'list' ? v.filter((x) => typeof x === 'number') : [];
    for (const n of nums) {
      if (spec.min !== undefined && !(n >= spec.min)) p.push(`${flagsOf(key)} must be >= ${spec.min}, got ${n}`);
      if (spec.max !== undefined && !(n <= spec.max)) p.push(`${flagsOf(key)} must be <= ${spec.max}, got ${n}`);
    }
  }

  if (a.memFractionStatic !== null && !(a.memFractionStatic > 0 && a.memFractionStatic < 1)) {
    p.push(`${f('memFractionStatic')} must be in (0, 1), got ${a.memFractionStatic}`);
  }
  if (a.chunkedPrefillSize !== null && a.chunkedPrefillSize > 0 && a.pageSize !== null && a.chunkedPrefillSize % a.pageSize !== 0) {
    p.push(`${f('chunkedPrefillSize')} (${a.chunkedPrefillSize}) must be divisible by ${f('pageSize')} (${a.pageSize})`);
  }
  if (!(a.watchdogTimeout > 0)) p.push(`${f('watchdogTimeout')} must be > 0, got ${a.watchdogTimeout}`);
  if (a.maxRunningRequests !== null && a.maxRunningRequests < 1) {
    p.push(`${f('maxRunningRequests')} must be >= 1, got ${a.maxRunningRequests}`);
  }
  if (!(a.maxQueuedRequests > 0)) {
    p.push(`${f('maxQueuedRequests')} must be >= 1 (a request must be able to wait), got ${a.maxQueuedRequests}`);
  }
  if (a.preferredSamplingParams !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(a.preferredSamplingParams);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      p.push(`${f('preferredSamplingParams')} must be a JSON object`);
    }
  }
  for (const k of ['jsonModelOverrideArgs', 'modelLoaderExtraConfig'] as const) {
    try {
      const v: unknown = JSON.parse(a[k]);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) p.push(`${f(k)} must be a JSON object`);
    } catch {
      p.push(`${f(k)} must be valid JSON`);
    }
  }

  // Parallelism (check_server_args).
  if ((a.tpSize * a.ppSize) % a.nnodes !== 0) p.push(`${f('tpSize')} x ${f('ppSize')} must be divisible by ${f('nnodes')}`);
  if (a.ppSize > 1 && (!a.disableOverlapSchedule || a.speculativeAlgorithm !== null || a.enableMixedChunk)) {
    p.push('pipeline parallelism does not work with the overlap schedule, speculative decoding or mixed chunked prefill');
  }
  if (a.dpSize > 1 && a.nnodes !== 1 && !a.enableDpAttention) p.push('multi-node data parallelism needs --enable-dp-attention');
  if (a.moeDenseTpSize !== null && a.moeDenseTpSize !== 1) p.push(`${f('moeDenseTpSize')} only supports 1 or unset`);
  if (a.enableDpLmHead && !a.enableDpAttention) p.push('--enable-dp-lm-head needs --enable-dp-attention');

  // Caches.
  if (a.enableHierarchicalCache && a.disableRadixCache) {
    p.push('--enable-hierarchical-cache and --disable-radix-cache are mutually exclusive');
  }

  // LoRA (check_lora_server_args).
  if (a.maxLoadedLoras !== null && a.maxLoadedLoras < a.maxLorasPerBatch) {
    p.push(`${f('maxLoadedLoras')} (${a.maxLoadedLoras}) must be >= ${f('maxLorasPerBatch')} (${a.maxLorasPerBatch})`);
  }
  if (a.maxLoadedLoras !== null && a.loraPaths && a.loraPaths.length > a.maxLoadedLoras) {
    p.push(`${f('loraPaths')} lists more adapters than ${f('maxLoadedLoras')} (${a.maxLoadedLoras})`);
  }
  if (a.loraTargetModules && a.loraTargetModules.includes('all') && a.loraTargetModules.length > 1) {
    p.push(`${f('loraTargetModules')}: 'all' must be the only module when given`);
  }
  if (a.enableLora && !(a.loraPaths && a.loraPaths.length > 0) && !(a.maxLoraRank && a.loraTargetModules?.length)) {
    p.push('without --lora-paths, LoRA needs both --max-lora-rank and --lora-target-modules');
  }

  // Metrics buckets (validate_buckets_rule).
  checkBucketsRule('--prompt-tokens-buckets', a.promptTokensBuckets, p);
  checkBucketsRule('--generation-tokens-buckets', a.generationTokensBuckets, p);

  // What resolution can produce but tsgl cannot load.
  if (a.loadFormat === 'remote' && isRemoteUrl(a.modelPath)) {
    p.push(`--model-path ${a.modelPath} is a remote URL (load format 'remote'): not built yet in tsgl`);
  }
  if (a.device !== null && a.device !== 'cpu') {
    p.push(`--device ${a.device}: not built yet in tsgl (only cpu)`);
  }

  if (p.length > 0) {
    throw new ConfigError(p.length === 1 ? `invalid server arguments: ${p[0]}` : `invalid server arguments:\n  - ${p.join('\n  - ')}`);
  }
}

/**
 * The whole startup path for a command line: parse, check support, resolve, validate.
 * Throws ConfigError / HelpRequested; returns the frozen args and every warning line.
 */
export function prepareServerArgs(argv: readonly string[], opts: ResolveOptions = {}): Resolved {
  const parsed = parseServerArgs(argv);
  const { warnings } = checkSupport(parsed);
  const r = resolveServerArgs(parsed, opts);
  return { args: r.args, warnings: [...warnings, ...r.warnings] };
}

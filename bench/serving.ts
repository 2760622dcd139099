/**
 * `tsgl bench_serving`: online serving benchmark with SGLang 0.5.2 bench_serving's flags and
 * metrics (request / input / output throughput; TTFT, TPOT, ITL, end-to-end latency as mean,
 * median, p99; concurrency). Datasets are token ids (`random-ids`, `generated-shared-prefix`),
 * so no tokenizer is needed on either side. Backends: tsgl's/SGLang's native /generate
 * (`sglang`), any OpenAI-compatible /v1/completions (`sglang-oai`, `openai`, `vllm`), and
 * llama.cpp's /completion (`llama.cpp`).
 *
 * Results go to stdout (SGLang's table) and, with --output-file, one JSON line per run
 * (appended, SGLang's key names plus tsgl extras).
 */
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKENDS, type Backend, getJson, getStatus, postJson, sendRequest, type RequestInput } from './backends.js';
import { arrivalTimes, Rng, sampleGeneratedSharedPrefix, sampleRandomIds, type DatasetRow } from './datasets.js';
import { computeMetrics, sharedPrefixTtft, type RequestOutput, type ServingMetrics } from './stats.js';

const HELP = `Usage: tsgl bench_serving [options]

Sends a synthetic workload to a running server and reports SGLang's serving metrics.

Server:
  --backend B               sglang (POST /generate, default) | sglang-oai | openai | vllm
                            (POST /v1/completions) | llama.cpp (POST /completion)
  --host H                  default 127.0.0.1
  --port P                  default 30000 (8080 for llama.cpp)
  --base-url URL            overrides host and port
  --model NAME              model name for OpenAI requests (default: first of /v1/models)
Dataset (token ids; the vocab size comes from --vocab-size, --tokenizer/--model-path, or the server):
  --dataset-name D          random-ids (default; alias random) | generated-shared-prefix
  --num-prompts N           default 1000 (random-ids)
  --random-input-len N      default 1024
  --random-output-len N     default 1024
  --random-range-ratio R    default 0.0 (lengths uniform in [ratio*len, len])
  --gsp-num-groups N        default 64
  --gsp-prompts-per-group N default 16
  --gsp-system-prompt-len N default 2048
  --gsp-question-len N      default 128
  --gsp-output-len N        default 256
  --gsp-no-shuffle          send groups in order (SGLang shuffles)
  --vocab-size N            ids are drawn from [0, N)
  --tokenizer PATH          model folder (config.json) or GGUF whose vocab size to use
  --model-path PATH         same as --tokenizer
Traffic:
  --request-rate R          requests/s, Poisson arrivals; inf (default) sends all at once
  --max-concurrency N       at most N requests in flight
  --seed N                  default 1
  --warmup-requests N       default 1 (output capped at 32 tokens, not measured)
  --flush-cache             POST /flush_cache before the run (sglang backends)
  --extra-request-body JSON merged into every request body
Output:
  --output-file F           append one JSON line with the results
  --output-details          include per-request lengths, ttfts and itls in the JSON line
  --json                    print the JSON line to stdout instead of the table
`;

export interface ServingArgs {
  backend: Backend;
  baseUrl: string;
  model?: string;
  datasetName: 'random-ids' | 'generated-shared-prefix';
  numPrompts: number;
  randomInputLen: number;
  randomOutputLen: number;
  randomRangeRatio: number;
  gspNumGroups: number;
  gspPromptsPerGroup: number;
  gspSystemPromptLen: number;
  gspQuestionLen: number;
  gspOutputLen: number;
  gspNoShuffle: boolean;
  vocabSize?: number;
  tokenizer?: string;
  requestRate: number;
  maxConcurrency?: number;
  seed: number;
  warmupRequests: number;
  flushCache: boolean;
  extraRequestBody?: Record<string, unknown>;
  outputFile?: string;
  outputDetails: boolean;
  json: boolean;
}

export type ServingResult = ServingMetrics & {
  backend: string;
  dataset_name: string;
  request_rate: number | 'inf';
  max_concurrency: number | null;
  num_prompts: number;
  random_input_len?: number;
  random_output_len?: number;
  random_range_ratio?: number;
  gsp?: { num_groups: number; prompts_per_group: number; system_prompt_len: number; question_len: number; output_len: number };
  shared_prefix?: ReturnType<typeof sharedPrefixTtft>;
  vocab_size: number;
  seed: number;
  date: string;
  errors?: string[];
  details?: { input_lens: number[]; output_lens: number[]; ttfts: number[]; itls: number[][]; start_times: number[]; groups: (number | null)[] };
};

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const x = v === 'inf' || v === 'Infinity' ? Infinity : Number(v);
  if (Number.isNaN(x)) throw new Error(`--${name}: not a number: ${v}`);
  return x;
}

export function parseServingArgs(argv: string[]): ServingArgs | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'sglang' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'base-url': { type: 'string' },
      model: { type: 'string' },
      'dataset-name': { type: 'string', default: 'random-ids' },
      'num-prompts': { type: 'string' },
      'random-input-len': { type: 'string' },
      'random-output-len': { type: 'string' },
      'random-range-ratio': { type: 'string' },
      'gsp-num-groups': { type: 'string' },
      'gsp-prompts-per-group': { type: 'string' },
      'gsp-system-prompt-len': { type: 'string' },
      'gsp-question-len': { type: 'string' },
      'gsp-output-len': { type: 'string' },
      'gsp-no-shuffle': { type: 'boolean', default: false },
      'vocab-size': { type: 'string' },
      tokenizer: { type: 'string' },
      'model-path': { type: 'string' },
      'request-rate': { type: 'string' },
      'max-concurrency': { type: 'string' },
      seed: { type: 'string' },
      'warmup-requests': { type: 'string' },
      'flush-cache': { type: 'boolean', default: false },
      'extra-request-body': { type: 'string' },
      'output-file': { type: 'string' },
      'output-details': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'disable-tqdm': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return 'help';
  const backend = v.backend as Backend;
  if (!BACKENDS.includes(backend)) throw new Error(`--backend: one of ${BACKENDS.join(', ')}`);
  let ds = v['dataset-name']!;
  if (ds === 'random') ds = 'random-ids';
  if (ds !== 'random-ids' && ds !== 'generated-shared-prefix') throw new Error(`--dataset-name: random-ids or generated-shared-prefix, not ${ds}`);
  const port = v.port ?? (backend === 'llama.cpp' ? '8080' : '30000');
  const maxConc = v['max-concurrency'] !== undefined ? num(v['max-concurrency'], 'max-concurrency', 0) : undefined;
  return {
    backend,
    baseUrl: v['base-url'] ?? `http://${v.host}:${port}`,
    model: v.model,
    datasetName: ds,
    numPrompts: num(v['num-prompts'], 'num-prompts', 1000),
    randomInputLen: num(v['random-input-len'], 'random-input-len', 1024),
    randomOutputLen: num(v['random-output-len'], 'random-output-len', 1024),
    randomRangeRatio: num(v['random-range-ratio'], 'random-range-ratio', 0),
    gspNumGroups: num(v['gsp-num-groups'], 'gsp-num-groups', 64),
    gspPromptsPerGroup: num(v['gsp-prompts-per-group'], 'gsp-prompts-per-group', 16),
    gspSystemPromptLen: num(v['gsp-system-prompt-len'], 'gsp-system-prompt-len', 2048),
    gspQuestionLen: num(v['gsp-question-len'], 'gsp-question-len', 128),
    gspOutputLen: num(v['gsp-output-len'], 'gsp-output-len', 256),
    gspNoShuffle: v['gsp-no-shuffle']!,
    vocabSize: v['vocab-size'] !== undefined ? num(v['vocab-size'], 'vocab-size', 0) : undefined,
    tokenizer: v.tokenizer ?? v['model-path'],
    requestRate: num(v['request-rate'], 'request-rate', Infinity),
    maxConcurrency: maxConc && maxConc > 0 ? maxConc : undefined,
    seed: num(v.seed, 'seed', 1),
    warmupRequests: num(v['warmup-requests'], 'warmup-requests', 1),
    flushCache: v['flush-cache']!,
    extraRequestBody: v['extra-request-body'] ? (JSON.parse(v['extra-request-body']) as Record<string, unknown>) : undefined,
    outputFile: v['output-file'],
    outputDetails: v['output-details']!,
    json: v.json!,
  };
}

/** Vocab size of a model folder (config.json) or GGUF file; the size llama.cpp would accept. */
export async function vocabSizeOf(path: string): Promise<number | undefined> {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) {
    const cfg = join(path, 'config.json');
    if (!existsSync(cfg)) return undefined;
    const c = JSON.parse(readFileSync(cfg, 'utf8')) as { vocab_size?: number; text_config?: { vocab_size?: number } };
    return c.vocab_size ?? c.text_config?.vocab_size;
  }
  if (path.endsWith('.gguf')) {
    const { readGguf, ggufString, ggufNumber } = await import('../src/formats/gguf.js');
    const f = readGguf(path);
    const arch = ggufString(f, 'general.architecture');
    const sizes: number[] = [];
    const n = arch ? ggufNumber(f, `${arch}.vocab_size`) : undefined;
    if (n) sizes.push(n);
    const toks = f.metadata.get('tokenizer.ggml.tokens');
    if (Array.isArray(toks) && toks.length) sizes.push(toks.length);
    const emb = f.tensors.find((t) => t.name === 'token_embd.weight');
    if (emb?.dims[1]) sizes.push(emb.dims[1]);
    return sizes.length ? Math.min(...sizes) : undefined;
  }
  if (path.endsWith('config.json')) {
    const c = JSON.parse(readFileSync(path, 'utf8')) as { vocab_size?: number };
    return c.vocab_size;
  }
  return undefined;
}

async function resolveVocabSize(a: ServingArgs): Promise<number> {
  if (a.vocabSize) return a.vocabSize;
  if (a.tokenizer) {
    const n = await vocabSizeOf(a.tokenizer);
    if (n) return n;
    throw new Error(`cannot read a vocab size from ${a.tokenizer}; pass --vocab-size`);
  }
  const info = (await getJson(a.baseUrl, '/get_model_info')) as { model_path?: string } | null;
  if (info?.model_path) {
    const n = await vocabSizeOf(info.model_path);
    if (n) return n;
  }
  const models = (await getJson(a.baseUrl, '/v1/models')) as { data?: Array<{ meta?: { n_vocab?: number } }> } | null;
  const nv = models?.data?.[0]?.meta?.n_vocab;
  if (nv) return nv;
  throw new Error('cannot find the vocab size (server gave no local model path); pass --vocab-size or --tokenizer');
}

export function buildDataset(a: ServingArgs, vocabSize: number, rng: Rng): DatasetRow[] {
  if (a.datasetName === 'generated-shared-prefix') {
    return sampleGeneratedSharedPrefix(
      {
        numGroups: a.gspNumGroups,
        promptsPerGroup: a.gspPromptsPerGroup,
        systemPromptLen: a.gspSystemPromptLen,
        questionLen: a.gspQuestionLen,
        outputLen: a.gspOutputLen,
        vocabSize,
        noShuffle: a.gspNoShuffle,
      },
      rng,
    );
  }
  return sampleRandomIds(
    { inputLen: a.randomInputLen, outputLen: a.randomOutputLen, numPrompts: a.numPrompts, rangeRatio: a.randomRangeRatio, vocabSize },
    rng,
  );
}

/** A counting semaphore for --max-concurrency. */
class Semaphore {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for GET /health (tsgl, SGLang, llama.cpp) or /v1/models to answer 200. */
export async function waitForServer(baseUrl: string, timeoutS: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutS * 1000) {
    if ((await getStatus(baseUrl, '/health', 2000)) === 200 || (await getStatus(baseUrl, '/v1/models', 2000)) === 200) return;
    await sleep(500);
  }
  throw new Error(`server at ${baseUrl} not ready after ${timeoutS}s`);
}

/** Runs the benchmark against a live server and returns the result (also printed/written). */
export async function runServingBenchmark(a: ServingArgs, log: (s: string) => void = (s) => process.stdout.write(s)): Promise<ServingResult> {
  await waitForServer(a.baseUrl, 10);
  const vocabSize = await resolveVocabSize(a);
  let model = a.model;
  if (!model && (a.backend === 'openai' || a.backend === 'sglang-oai' || a.backend === 'vllm')) {
    const models = (await getJson(a.baseUrl, '/v1/models')) as { data?: Array<{ id?: string }> } | null;
    model = models?.data?.[0]?.id ?? 'default';
  }
  const rng = new Rng(a.seed);
  const rows = buildDataset(a, vocabSize, rng);
  if (rows.length === 0) throw new Error('empty dataset');
  const toInput = (r: DatasetRow, outputLen = r.outputLen): RequestInput => ({
    prompt: r.prompt,
    promptLen: r.promptLen,
    outputLen,
    model,
    extraBody: a.extraRequestBody,
    group: r.group,
  });

  if (a.warmupRequests > 0) {
    // SGLang warms up with the first request (output capped at 32); a shared-prefix warmup
    // would pre-cache group 0's system prompt, so it gets a random prompt of the same length.
    const w = rows[0]!;
    const prompt = a.datasetName === 'generated-shared-prefix' ? Array.from({ length: w.promptLen }, () => rng.int(0, vocabSize - 1)) : w.prompt;
    const wi: RequestInput = { ...toInput(w, Math.min(w.outputLen, 32)), prompt, group: undefined };
    const outs = await Promise.all(Array.from({ length: a.warmupRequests }, () => sendRequest(a.backend, a.baseUrl, wi, performance.now() / 1000)));
    if (!outs.some((o) => o.success)) throw new Error(`warmup failed: ${outs[0]!.error}`);
  }
  if (a.flushCache) await postJson(a.baseUrl, '/flush_cache', {});
  await sleep(200);

  const arrivals = arrivalTimes(rows.length, a.requestRate, rng);
  const sem = a.maxConcurrency ? new Semaphore(a.maxConcurrency) : null;
  const benchStart = performance.now() / 1000;
  const tasks: Promise<RequestOutput>[] = [];
  for (let i = 0; i < rows.length; i++) {
    const wait = benchStart + arrivals[i]! - performance.now() / 1000;
    if (wait > 0) await sleep(wait * 1000);
    const input = toInput(rows[i]!);
    tasks.push(
      (async () => {
        if (sem) await sem.acquire();
        try {
          return await sendRequest(a.backend, a.baseUrl, input, benchStart);
        } finally {
          sem?.release();
        }
      })(),
    );
  }
  const outputs = await Promise.all(tasks);
  const duration = performance.now() / 1000 - benchStart;
  const m = computeMetrics(outputs, duration);
  const errors = [...new Set(outputs.filter((o) => !o.success).map((o) => o.error))];
  const result: ServingResult = {
    backend: a.backend,
    dataset_name: a.datasetName,
    request_rate: Number.isFinite(a.requestRate) ? a.requestRate : 'inf',
    max_concurrency: a.maxConcurrency ?? null,
    num_prompts: rows.length,
    ...(a.datasetName === 'random-ids'
      ? { random_input_len: a.randomInputLen, random_output_len: a.randomOutputLen, random_range_ratio: a.randomRangeRatio }
      : {
          gsp: {
            num_groups: a.gspNumGroups,
            prompts_per_group: a.gspPromptsPerGroup,
            system_prompt_len: a.gspSystemPromptLen,
            question_len: a.gspQuestionLen,
            output_len: a.gspOutputLen,
          },
          shared_prefix: sharedPrefixTtft(outputs),
        }),
    vocab_size: vocabSize,
    seed: a.seed,
    date: new Date().toISOString(),
    ...m,
    ...(errors.length ? { errors: errors.slice(0, 5) } : {}),
  };
  if (a.outputDetails) {
    result.details = {
      input_lens: outputs.map((o) => o.promptLen),
      output_lens: outputs.map((o) => o.outputLen),
      ttfts: outputs.map((o) => o.ttft),
      itls: outputs.map((o) => o.itl),
      start_times: outputs.map((o) => o.startTime),
      groups: outputs.map((o) => o.group ?? null),
    };
  }
  if (a.json) log(JSON.stringify(result) + '\n');
  else log(formatResult(result));
  if (a.outputFile) appendFileSync(a.outputFile, JSON.stringify(result) + '\n');
  return result;
}

/** SGLang's result table. */
export function formatResult(r: ServingResult): string {
  const L: string[] = [];
  const row = (k: string, v: number | string) => L.push(`${k.padEnd(40)} ${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v}`);
  const title = (s: string, c: string) => {
    const pad = 50 - s.length;
    L.push(c.repeat(Math.floor(pad / 2)) + s + c.repeat(Math.ceil(pad / 2)));
  };
  L.push('');
  title(' Serving Benchmark Result ', '=');
  row('Backend:', r.backend);
  row('Traffic request rate:', r.request_rate);
  row('Max request concurrency:', r.max_concurrency ?? 'not set');
  row('Successful requests:', r.completed);
  if (r.failed) row('Failed requests:', r.failed);
  row('Benchmark duration (s):', r.duration);
  row('Total input tokens:', r.total_input_tokens);
  row('Total generated tokens:', r.total_output_tokens);
  row('Request throughput (req/s):', r.request_throughput);
  row('Input token throughput (tok/s):', r.input_throughput);
  row('Output token throughput (tok/s):', r.output_throughput);
  row('Total token throughput (tok/s):', r.total_throughput);
  row('Concurrency:', r.concurrency);
  title('End-to-End Latency', '-');
  row('Mean E2E Latency (ms):', r.mean_e2e_latency_ms);
  row('Median E2E Latency (ms):', r.median_e2e_latency_ms);
  row('P99 E2E Latency (ms):', r.p99_e2e_latency_ms);
  title('Time to First Token', '-');
  row('Mean TTFT (ms):', r.mean_ttft_ms);
  row('Median TTFT (ms):', r.median_ttft_ms);
  row('P99 TTFT (ms):', r.p99_ttft_ms);
  title('Time per Output Token (excl. 1st token)', '-');
  row('Mean TPOT (ms):', r.mean_tpot_ms);
  row('Median TPOT (ms):', r.median_tpot_ms);
  row('P99 TPOT (ms):', r.p99_tpot_ms);
  title('Inter-Token Latency', '-');
  row('Mean ITL (ms):', r.mean_itl_ms);
  row('Median ITL (ms):', r.median_itl_ms);
  row('P95 ITL (ms):', r.p95_itl_ms);
  row('P99 ITL (ms):', r.p99_itl_ms);
  row('Max ITL (ms):', r.max_itl_ms);
  if (r.shared_prefix) {
    title('Shared Prefix', '-');
    row('Median TTFT, first of group (ms):', r.shared_prefix.first_ttft_ms);
    row('Median TTFT, later in group (ms):', r.shared_prefix.later_ttft_ms);
    row('Later / first:', r.shared_prefix.ratio);
    row('Later / concurrent-with-first requests:', `${r.shared_prefix.later} / ${r.shared_prefix.concurrent}`);
  }
  if (r.errors?.length) {
    title('Errors', '-');
    for (const e of r.errors) L.push(e.slice(0, 300));
  }
  L.push('='.repeat(50));
  return L.join('\n') + '\n';
}

/** `tsgl bench_serving` entry point. */
export async function benchServing(argv: string[]): Promise<number> {
  const a = parseServingArgs(argv);
  if (a === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const r = await runServingBenchmark(a);
  return r.completed > 0 ? 0 : 1;
}

/**
 * `tsgl launch_server` / `tsgl serve`: SGLang's launch_server. Parses the flag table, loads the
 * model in the engine worker, starts the HTTP server, prints the banner, warms up, and shuts down
 * cleanly on SIGTERM/SIGINT.
 *
 * Without --model-path it serves the bundled demo model (TinyStories-656K, Q8_0 GGUF).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HelpRequested } from '../config/errors.js';
import { prepareServerArgs, toServerInfo, type ResolvedServerArgs } from '../config/resolve.js';
import type { BuiltEngine } from '../engine/build.js';
import { WorkerEngine } from '../engine/worker-engine.js';
import { createServer, type TsglServer } from '../server/http-server.js';
import { resolveModelIds } from './model-ids.js';

/** The bundled model's path, valid both under tsx (src/cli) and after tsc (dist/src/cli). */
export function bundledModelPath(): string {
  const candidates = ['../../models/', '../../../models/'].map((rel) => fileURLToPath(new URL(`${rel}tinystories-656k-q8_0.gguf`, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[1]!;
}

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return '0.0.0';
}

const hasModelFlag = (argv: string[]): boolean => argv.some((a) => /^--model(-path)?(=|$)/.test(a));

function banner(args: ResolvedServerArgs, facts: BuiltEngine['facts'], plan: BuiltEngine['plan'], url: string, bundled: boolean): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    '',
    `  tsgl ${packageVersion()} — SGLang-compatible server`,
    `  model         ${args.modelPath}${bundled ? '  (bundled demo model)' : ''}`,
    `  architecture  ${facts.architecture}`,
    `  weights       ${facts.dtype}${args.quantization ? ` (quantization ${args.quantization})` : ''}${facts.bf16Dot ? ' (bf16 activations: TSGL_BF16_DOT=1)' : ''}, ${gib(facts.weightBytes)}${facts.packedBytes ? ` (+ ${gib(facts.packedBytes)} GEMM panels)` : ''}, loaded in ${(facts.loadMs / 1000).toFixed(1)}s`,
    `  KV cache      ${plan.maxTotalNumTokens} tokens (${gib(plan.kvPoolBytes)} ${facts.kvDtype}, first ${facts.kvCommittedTokens} committed), page size ${args.pageSize}, max running requests ${plan.maxRunningRequests}`,
    `  context       ${plan.maxReqLen + 1} tokens`,
    `  CPU           ${facts.threads} threads, ${facts.isa} kernels`,
    `  listening on  ${url}`,
  ];
  if (bundled) {
    lines.push('', '  This is the tiny bundled demo model (TinyStories-656K). To serve a real model:',
      '    npx tsgl launch_server --model-path Qwen/Qwen3-0.6B      (a Hugging Face id, a folder or a .gguf file)');
  }
  return lines.join('\n') + '\n\n';
}

export async function serve(argv: string[]): Promise<number> {
  const bundled = !hasModelFlag(argv) && !argv.includes('--help') && !argv.includes('-h');
  const fullArgv = bundled ? ['--model-path', bundledModelPath(), ...argv] : await resolveModelIds(argv, { progress: true });
  let args: ResolvedServerArgs;
  try {
    const prepared = prepareServerArgs(fullArgv);
    for (const w of prepared.warnings) process.stderr.write(`${w}\n`);
    args = prepared.args;
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      return 0;
    }
    throw e;
  }
  const engine = await WorkerEngine.start(args, { progress: true });
  const server = createServer(engine, {
    apiKey: args.apiKey, servedModelName: args.servedModelName, enableMetrics: args.enableMetrics,
    enableCacheReport: args.enableCacheReport, allowAutoTruncate: args.allowAutoTruncate, contextLength: args.contextLength,
    preferredSamplingParams: args.preferredSamplingParams ? JSON.parse(args.preferredSamplingParams) as Record<string, unknown> : null,
    preferredSamplingParamsRaw: args.preferredSamplingParams, skipTokenizerInit: args.skipTokenizerInit,
    streamOutput: args.streamOutput, streamInterval: args.streamInterval, weightVersion: args.weightVersion,
    modelPath: args.modelPath, tokenizerPath: args.tokenizerPath, version: packageVersion(), startReady: false,
    toolCallParser: args.toolCallParser, reasoningParser: args.reasoningParser,
    serverInfo: {
      ...toServerInfo(args), status: 'ready', max_total_num_tokens: engine.info.plan.maxTotalNumTokens,
      max_req_input_len: engine.info.plan.maxReqInputLen,
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(args.port, args.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : args.port;
  const url = `http://${args.host.includes(':') ? `[${args.host}]` : args.host}:${port}`;
  process.stderr.write(banner(args, engine.info.facts, engine.info.plan, url, bundled));
  if (!args.skipServerWarmup) await warmup(engine, args);
  server.markReady();
  process.stderr.write(`The server is fired up and ready to roll! (${url})\n`);
  return waitForShutdown(server, engine);
}

/** SGLang's warmup: one short greedy generation before /health turns 200. */
async function warmup(engine: WorkerEngine, args: ResolvedServerArgs): Promise<void> {
  const inputIds = args.skipTokenizerInit ? [0, 1, 2, 3] : engine.encode('The capital city of France is', true);
  const { parseSamplingParams } = await import('../sampling/sampling-params.js');
  const sampling = parseSamplingParams({ temperature: 0, max_new_tokens: 8 }, { vocabSize: engine.modelInfo.vocabSize });
  for await (const out of engine.generate({
    rid: `WARMUP_${Date.now()}`, inputIds, sampling, stream: false, returnLogprob: false, logprobStartLen: -1, topLogprobsNum: 0, tokenIdsLogprob: null,
  })) {
    if (out.errorStatus) throw new Error(`warmup failed: ${out.finishReason?.type === 'abort' ? out.finishReason.message : 'error'}`);
  }
}

function waitForShutdown(server: TsglServer, engine: WorkerEngine): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`received ${signal}: finishing in-flight requests and shutting down\n`);
      void server.shutdown(10_000).then(() => engine.close()).then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * Support levels, SGLang's CPU startup derivations, cross-field validation, server info, and
 * the --help text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ConfigError,
  SERVER_ARGS,
  SERVER_ARG_FIELDS,
  allFlags,
  checkSupport,
  formatHelp,
  parseServerArgs,
  prepareServerArgs,
  resolveServerArgs,
  toServerInfo,
  type ArgSpec,
} from '../../../src/config/index.js';

const M = ['--model-path', 'org/model'];
const noGguf = { isGgufFile: () => false, randomSeed: () => 42 };

function rejects(argv: string[], ...needles: string[]): void {
  assert.throws(
    () => checkSupport(parseServerArgs([...M, ...argv])),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      for (const n of needles) assert.ok(e.message.includes(n), `${e.message} lacks ${n}`);
      assert.ok(e.message.includes('not built yet in tsgl'), e.message);
      return true;
    },
  );
}

test('unsupported flags set to non-defaults fail, naming each flag', () => {
  rejects(['--tp-size', '2'], '--tensor-parallel-size/--tp-size 2');
  rejects(['--dp', '2', '--enable-lora'], '--data-parallel-size/--dp-size 2', '--enable-lora');
  rejects(['--speculative-algorithm', 'EAGLE'], '--speculative-algorithm EAGLE');
  rejects(['--enable-hierarchical-cache'], '--enable-hierarchical-cache');
  rejects(['--disaggregation-mode', 'prefill'], '--disaggregation-mode prefill');
  rejects(['--device', 'cuda'], '--device cuda', 'tsgl supports: cpu');
  rejects(['--load-format', 'pt'], '--load-format pt');
  rejects(['--quantization', 'awq'], '--quantization awq');
  rejects(['--kv-cache-dtype', 'fp8_e5m2'], '--kv-cache-dtype fp8_e5m2');
  rejects(['--grammar-backend', 'outlines'], '--grammar-backend outlines');
  // Features not built (they used to be parsed and then ignored).
  rejects(['--log-requests'], '--log-requests');
  rejects(['--json-model-override-args', '{"rope_theta": 1}'], '--json-model-override-args');
  rejects(['--completion-template', 'deepseek_coder'], '--completion-template deepseek_coder');
  rejects(['--collect-tokens-histogram', '--enable-request-time-stats-logging'], '--collect-tokens-histogram', '--enable-request-time-stats-logging');
});

test('supported values and defaults pass without warnings', () => {
  const ok = [
    '--device', 'cpu', '--tp-size', '1', '--load-format', 'gguf', '--quantization', 'w8a8_int8', '--kv-cache-dtype', 'auto',
    '--grammar-backend', 'xgrammar', '--sampling-backend', 'pytorch', '--page-size', '16', '--chunked-prefill-size', '512',
    '--schedule-policy', 'lpm', '--disable-radix-cache', '--enable-mixed-chunk', '--api-key', 'k', '--enable-metrics',
    '--tool-call-parser', 'qwen25', '--reasoning-parser', 'qwen3', '--threads', '2',
    '--download-dir', '/tmp/hub', '--decode-log-interval', '10', '--log-level', 'warning', '--json-model-override-args', '{}',
  ];
  assert.deepEqual(checkSupport(parseServerArgs([...M, ...ok])).warnings, []);
});

test('every unsupported flag alone is rejected; every gpu-only or no-op flag alone gives exactly one warning naming it', () => {
  let unsupported = 0;
  let gpuOnly = 0;
  let noop = 0;
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    if (spec.support === 'supported') continue;
    const flag = allFlags(key, spec)[0]!;
    let argv: string[];
    if (spec.kind === 'bool') argv = [flag];
    else if (spec.kind === 'list') argv = [flag, String(spec.choices?.[0] ?? (spec.itemKind === 'string' ? 'x' : 1))];
    else if (spec.kind === 'enum') argv = [flag, String(spec.choices!.find((c) => c !== spec.default && !spec.supportedValues?.includes(c)))];
    else if (spec.kind === 'int') argv = [flag, String(spec.choices?.find((c) => c !== spec.default) ?? (spec.default ?? 0) + 2)];
    else if (spec.kind === 'float') argv = [flag, String((spec.default ?? 0) + 0.25)];
    else if (spec.kind === 'json') argv = [flag, '{"a": 1}'];
    else argv = [flag, key === 'device' ? 'npu' : 'something'];
    const parsed = parseServerArgs([...M, ...argv]);
    if (spec.support === 'unsupported') {
      assert.throws(() => checkSupport(parsed), (e: unknown) => e instanceof ConfigError && e.message.includes(flag), flag);
      unsupported++;
    } else {
      const { warnings } = checkSupport(parsed);
      assert.equal(warnings.length, 1, `${flag}: ${warnings.join(' | ')}`);
      if (spec.support === 'no-op') {
        assert.ok(warnings[0]!.includes(flag) && warnings[0]!.includes(`has no effect in tsgl (${spec.noEffect})`), warnings[0]);
        noop++;
      } else {
        assert.ok(warnings[0]!.includes(flag) && /GPU-only/.test(warnings[0]!), warnings[0]);
        gpuOnly++;
      }
    }
  }
  assert.ok(unsupported > 80 && gpuOnly > 40 && noop >= 9, `${unsupported} unsupported, ${gpuOnly} gpu-only, ${noop} no-op`);
});

test('--trust-remote-code (common in SGLang launch commands) is accepted with one line saying it does nothing', () => {
  const { warnings } = checkSupport(parseServerArgs([...M, '--trust-remote-code']));
  assert.deepEqual(warnings, ['warning: --trust-remote-code has no effect in tsgl (it never runs model code shipped with a checkpoint); ignored.']);
});

test('gpu-only flags: one line each, never an error', () => {
  const { warnings } = checkSupport(
    parseServerArgs([...M, '--disable-cuda-graph', '--cuda-graph-max-bs', '8', '--attention-backend', 'fa3', '--sampling-backend', 'flashinfer']),
  );
  assert.equal(warnings.length, 4);
  assert.ok(warnings.some((w) => w.includes('--cuda-graph-max-bs 8')));
});

test('resolution applies SGLang 0.5.2 CPU defaults', () => {
  const { args, warnings } = resolveServerArgs(parseServerArgs(M), noGguf);
  assert.deepEqual(warnings, []);
  assert.equal(args.tokenizerPath, 'org/model');
  assert.equal(args.servedModelName, 'org/model');
  assert.equal(args.device, 'cpu');
  assert.equal(args.randomSeed, 42);
  assert.equal(args.memFractionStatic, 0.88);
  assert.equal(args.chunkedPrefillSize, 4096);
  assert.equal(args.pageSize, 1);
  assert.equal(args.grammarBackend, 'xgrammar');
  assert.equal(args.samplingBackend, 'pytorch');
  assert.equal(args.attentionBackend, 'intel_amx');
  assert.deepEqual(args.customWeightLoader, []);
  assert.equal(args.maxRunningRequests, null); // derived by the engine from the KV pool
  assert.ok(Object.isFrozen(args));
  const seeded = resolveServerArgs(parseServerArgs(M), { isGgufFile: () => false }).args.randomSeed;
  assert.ok(Number.isInteger(seeded) && seeded >= 0 && seeded <= 2 ** 30);
});

test('resolution keeps explicit values and detects GGUF files', () => {
  const { args } = resolveServerArgs(
    parseServerArgs([...M, '--served-model-name', 'x', '--page-size', '16', '--chunked-prefill-size', '256', '--random-seed', '7']),
    { isGgufFile: (p) => p === 'org/model' },
  );
  assert.equal(args.servedModelName, 'x');
  assert.equal(args.pageSize, 16);
  assert.equal(args.chunkedPrefillSize, 256);
  assert.equal(args.randomSeed, 7);
  assert.equal(args.loadFormat, 'gguf');
  assert.equal(args.quantization, 'gguf');
});

function invalid(argv: string[], needle: string): void {
  assert.throws(
    () => resolveServerArgs(parseServerArgs([...M, ...argv]), noGguf),
    (e: unknown) => e instanceof ConfigError && e.message.includes(needle),
    needle,
  );
}

test('cross-field validation', () => {
  invalid(['--mem-fraction-static', '1.5'], '--mem-fraction-static must be in (0, 1)');
  invalid(['--mem-fraction-static', '0'], '--mem-fraction-static must be in (0, 1)');
  invalid(['--page-size', '16', '--chunked-prefill-size', '1000'], 'must be divisible by --page-size (16)');
  invalid(['--watchdog-timeout', '0'], '--watchdog-timeout must be > 0');
  invalid(['--enable-hierarchical-cache', '--disable-radix-cache'], 'mutually exclusive');
  invalid(['--preferred-sampling-params', '[1]'], '--preferred-sampling-params must be a JSON object');
  invalid(['--prompt-tokens-buckets', 'tse', '1'], "'tse' rule");
  invalid(['--generation-tokens-buckets', 'weird'], "unknown rule 'weird'");
  invalid(['--enable-dp-lm-head'], '--enable-dp-lm-head needs --enable-dp-attention');
  invalid(['--tp-size', '3', '--nnodes', '2'], 'must be divisible by --nnodes');
  invalid(['--max-loaded-loras', '2'], 'must be >= --max-loras-per-batch (8)');
  // several problems are reported together
  assert.throws(
    () => resolveServerArgs(parseServerArgs([...M, '--mem-fraction-static', '2', '--watchdog-timeout', '-1']), noGguf),
    (e: unknown) => e instanceof ConfigError && e.message.split('\n').length === 3,
  );
  // fine: chunking off with any page size, a valid bucket rule
  resolveServerArgs(parseServerArgs([...M, '--page-size', '16', '--chunked-prefill-size', '-1', '--prompt-tokens-buckets', 'customer', '1', '10']), noGguf);
});

test('--enable-mixed-chunk without chunked prefill warns', () => {
  const r = prepareServerArgs([...M, '--chunked-prefill-size', '-1', '--enable-mixed-chunk'], noGguf);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /--enable-mixed-chunk has no effect/);
});

test('prepareServerArgs: parse, support, resolve in one call', () => {
  const r = prepareServerArgs([...M, '--port', '8000', '--disable-cuda-graph'], noGguf);
  assert.equal(r.args.port, 8000);
  assert.equal(r.warnings.length, 1);
  assert.throws(() => prepareServerArgs([...M, '--tp', '2'], noGguf), ConfigError);
});

test('toServerInfo: every field under its SGLang snake_case name', () => {
  const info = toServerInfo(resolveServerArgs(parseServerArgs([...M, '--tp-size', '1', '--cuda-graph-bs', '1', '2']), noGguf).args);
  assert.equal(Object.keys(info).length, Object.keys(SERVER_ARGS).length);
  assert.deepEqual(Object.keys(info), Object.values(SERVER_ARG_FIELDS));
  assert.equal(info.model_path, 'org/model');
  assert.equal(info.tp_size, 1);
  assert.equal(info.port, 30000);
  assert.equal(info.schedule_policy, 'fcfs');
  assert.equal(info.chunked_prefill_size, 4096);
  assert.equal(info.page_size, 1);
  assert.equal(info.mem_fraction_static, 0.88);
  assert.equal(info.max_prefill_tokens, 16384);
  assert.deepEqual(info.cuda_graph_bs, [1, 2]);
  assert.equal(info.bucket_e2e_request_latency, null);
  assert.equal(JSON.parse(JSON.stringify(info)).grammar_backend, 'xgrammar');
});

test('--help lists every flag spelling and every group', () => {
  const help = formatHelp();
  const groups = new Set<string>();
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    groups.add(spec.group);
    for (const f of allFlags(key, spec)) assert.ok(new RegExp(`(^|[ ,])${f}([ ,\\n]|$)`, 'm').test(help), f);
  }
  for (const g of groups) assert.ok(help.includes(`\n${g}:\n`), g);
  for (const g of ['Model and tokenizer', 'HTTP server', 'Quantization and data type', 'Memory and scheduling', 'Runtime options',
    'Logging', 'API related', 'Data parallelism', 'Multi-node distributed serving', 'Model override args in JSON', 'LoRA',
    'Kernel backend', 'Speculative decoding', 'Expert parallelism', 'Hierarchical cache', 'Optimization/debug options',
    'PD disaggregation', 'tsgl (CPU backend)']) {
    assert.ok(groups.has(g), g);
  }
  assert.match(help, /--schedule-policy \{lpm,random,fcfs,dfs-weight,lof\}/);
  assert.match(help, /default: 30000/);
  assert.match(help, /GPU-only/);
  assert.match(help, /not built yet in tsgl/);
  assert.ok(help.startsWith('usage: tsgl --model-path MODEL_PATH [options]'));
});

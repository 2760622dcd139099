/**
 * The flag table against SGLang 0.5.2: every flag and alias present, field names and parse-time
 * defaults equal, well-known defaults spelled out, and the inferred ServerArgs type exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  SERVER_ARGS,
  SERVER_ARG_FIELDS,
  TSGL_ONLY_ARGS,
  allFlags,
  parseServerArgs,
  type ServerArgs,
} from '../../../src/config/index.js';
import { SGLANG_052_FLAGS } from './sglang-052-flags.js';

const entries = Object.entries(SERVER_ARGS);
const byField = new Map(entries.map(([k, s]) => [SERVER_ARG_FIELDS[k as keyof ServerArgs], { key: k, spec: s }]));

test('the table holds all 210 flags of SGLang 0.5.2, plus the tsgl additions', () => {
  assert.equal(SGLANG_052_FLAGS.length, 210);
  assert.equal(entries.length, 210 + TSGL_ONLY_ARGS.length);
  for (const [field] of SGLANG_052_FLAGS) assert.ok(byField.has(field), `missing field ${field}`);
  const sglangFields = new Set(SGLANG_052_FLAGS.map(([f]) => f));
  const extra = [...byField.keys()].filter((f) => !sglangFields.has(f));
  assert.deepEqual(extra, ['threads']);
});

test('every SGLang option string (aliases included) is declared on the right field', () => {
  for (const [field, flags] of SGLANG_052_FLAGS) {
    const e = byField.get(field)!;
    assert.deepEqual(allFlags(e.key, e.spec), [...flags], field);
  }
});

test('parse-time defaults equal SGLang 0.5.2 for every flag', () => {
  const args = parseServerArgs(['--model-path', 'm']) as unknown as Record<string, unknown>;
  for (const [field, , def] of SGLANG_052_FLAGS) {
    if (field === 'model_path') continue;
    const { key } = byField.get(field)!;
    assert.deepEqual(args[key], def, `${field}`);
  }
});

test('well-known defaults, spelled out', () => {
  const a = parseServerArgs(['--model-path', 'm']);
  assert.equal(a.port, 30000);
  assert.equal(a.host, '127.0.0.1');
  assert.equal(a.schedulePolicy, 'fcfs');
  assert.equal(a.pageSize, null); // SGLang: None, resolved to 1
  assert.equal(a.streamInterval, 1);
  assert.equal(a.chunkedPrefillSize, null); // SGLang: None, resolved later (4096 without a GPU)
  assert.equal(a.maxPrefillTokens, 16384);
  assert.equal(a.scheduleConservativeness, 1.0);
  assert.equal(a.grammarBackend, null); // SGLang: None, resolved to xgrammar
  assert.equal(a.memFractionStatic, null);
  assert.equal(a.maxRunningRequests, null);
  assert.equal(a.maxQueuedRequests, 9223372036854775807);
  assert.equal(a.loadFormat, 'auto');
  assert.equal(a.dtype, 'auto');
  assert.equal(a.kvCacheDtype, 'auto');
  assert.equal(a.quantization, null);
  assert.equal(a.tpSize, 1);
  assert.equal(a.dpSize, 1);
  assert.equal(a.logLevel, 'info');
  assert.equal(a.logRequestsLevel, 2);
  assert.equal(a.watchdogTimeout, 300);
  assert.equal(a.decodeLogInterval, 40);
  assert.equal(a.weightVersion, 'default');
  assert.equal(a.loadBalanceMethod, 'round_robin');
  assert.equal(a.maxLorasPerBatch, 8);
  assert.equal(a.loraBackend, 'triton');
  assert.equal(a.disaggregationMode, 'null');
  assert.equal(a.disaggregationBootstrapPort, 8998);
  assert.equal(a.numReservedDecodeTokens, 512);
  assert.equal(a.hicacheRatio, 2.0);
  assert.equal(a.hicacheWritePolicy, 'write_through');
  assert.equal(a.torchCompileMaxBs, 32);
  assert.equal(a.smGroupNum, 3);
  assert.equal(a.enableMetrics, false);
  assert.equal(a.disableRadixCache, false);
  assert.equal(a.threads, null);
});

test('choice lists match SGLang 0.5.2', () => {
  const c = (k: keyof typeof SERVER_ARGS) => [...((SERVER_ARGS[k] as { choices?: readonly unknown[] }).choices ?? [])];
  assert.deepEqual(c('schedulePolicy'), ['lpm', 'random', 'fcfs', 'dfs-weight', 'lof']);
  assert.deepEqual(c('grammarBackend'), ['xgrammar', 'outlines', 'llguidance', 'none']);
  assert.deepEqual(c('dtype'), ['auto', 'half', 'float16', 'bfloat16', 'float', 'float32']);
  assert.deepEqual(c('kvCacheDtype'), ['auto', 'fp8_e5m2', 'fp8_e4m3']);
  assert.deepEqual(c('tokenizerMode'), ['auto', 'slow']);
  assert.deepEqual(c('samplingBackend'), ['flashinfer', 'pytorch']);
  assert.deepEqual(c('speculativeAlgorithm'), ['EAGLE', 'EAGLE3', 'NEXTN', 'STANDALONE']);
  assert.deepEqual(c('loadBalanceMethod'), ['round_robin', 'shortest_queue', 'minimum_tokens']);
  assert.deepEqual(c('logRequestsLevel'), [0, 1, 2, 3]);
  assert.ok(c('toolCallParser').includes('qwen25') && c('toolCallParser').includes('gpt-oss'));
  assert.ok(c('reasoningParser').includes('deepseek-r1') && c('reasoningParser').includes('qwen3'));
  assert.equal(c('loadFormat').length, 10);
  assert.equal(c('quantization').length, 17);
  assert.equal(c('attentionBackend').length, 14);
});

test('table hygiene: help, group and support level on every entry; no duplicate flags', () => {
  const seen = new Set<string>();
  for (const [key, spec] of entries) {
    assert.ok(spec.help.length > 10, `${key}: help`);
    assert.ok(spec.group.length > 0, `${key}: group`);
    assert.ok(['supported', 'gpu-only', 'no-op', 'unsupported'].includes(spec.support), `${key}: support`);
    assert.equal(spec.support === 'no-op', typeof spec.noEffect === 'string' && spec.noEffect.length > 0, `${key}: a no-op flag says why (and only a no-op flag)`);
    for (const f of allFlags(key, spec)) {
      assert.ok(!seen.has(f), `duplicate flag ${f}`);
      seen.add(f);
    }
  }
});

// Compile-time checks of the inferred type (tsc fails the typecheck if one is wrong).
type Eq<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeChecks: [
  Eq<ServerArgs['schedulePolicy'], 'lpm' | 'random' | 'fcfs' | 'dfs-weight' | 'lof'>,
  Eq<ServerArgs['modelPath'], string>,
  Eq<ServerArgs['port'], number>,
  Eq<ServerArgs['pageSize'], number | null>,
  Eq<ServerArgs['enableLora'], boolean | null>,
  Eq<ServerArgs['disableRadixCache'], boolean>,
  Eq<ServerArgs['cudaGraphBs'], number[] | null>,
  Eq<ServerArgs['loraPaths'], string[] | null>,
  Eq<ServerArgs['grammarBackend'], 'xgrammar' | 'outlines' | 'llguidance' | 'none' | null>,
  Eq<ServerArgs['apiKey'], string | null>,
  Eq<ServerArgs['threads'], number | null>,
] = [true, true, true, true, true, true, true, true, true, true, true];
void typeChecks;

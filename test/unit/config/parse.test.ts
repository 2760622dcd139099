/**
 * parseServerArgs: round trip of every entry, aliases and abbreviations, `=` form, lists,
 * nargs '?', argparse-worded errors, unknown flags with suggestions, and help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ConfigError,
  HelpRequested,
  SERVER_ARGS,
  allFlags,
  parseServerArgs,
  toArgv,
  type ArgSpec,
} from '../../../src/config/index.js';

const M = ['--model-path', 'org/model'];

/** A value different from the default for each spec, of the right type. */
function sampleValue(key: string, spec: ArgSpec<any>): unknown {
  const pickChoice = () => spec.choices!.find((c) => c !== spec.default)!;
  switch (spec.kind) {
    case 'bool':
      return true;
    case 'enum':
      return pickChoice();
    case 'int': {
      if (spec.choices) return pickChoice();
      let v = spec.default === null || spec.default > Number.MAX_SAFE_INTEGER ? 128 : spec.default + 1;
      if (spec.min !== undefined && v < spec.min) v = spec.min + 1;
      if (spec.max !== undefined && v > spec.max) v = spec.max - 1;
      return v;
    }
    case 'float':
      return spec.default === null ? 0.25 : spec.default + 0.25;
    case 'json':
      return '{"k": [1, 2]}';
    case 'list':
      if (spec.choices) return spec.choices.slice(0, 2);
      return spec.itemKind === 'string' ? ['a', 'b=c'] : spec.itemKind === 'int' ? [1, 2] : [0.5, 1.5];
    case 'string':
      return key === 'modelPath' ? 'other/model' : `value-of-${key}`;
    default:
      throw new Error(spec.kind);
  }
}

test('round trip: a non-default value for every flag parses to the typed value (both forms, every spelling)', () => {
  let checked = 0;
  for (const [key, spec] of Object.entries(SERVER_ARGS) as [string, ArgSpec<any>][]) {
    const v = sampleValue(key, spec);
    assert.notDeepEqual(v, spec.default, key);
    for (const flag of allFlags(key, spec)) {
      const rest = key === 'modelPath' ? [] : M;
      let argvs: string[][];
      if (spec.kind === 'bool') argvs = [[flag]];
      else if (Array.isArray(v)) argvs = [[flag, ...v.map(String)]];
      else argvs = [[flag, String(v)], [`${flag}=${String(v)}`]];
      for (const argv of argvs) {
        const parsed = parseServerArgs([...rest, ...argv]) as unknown as Record<string, unknown>;
        assert.deepEqual(parsed[key], v, `${argv.join(' ')}`);
        checked++;
      }
    }
    // toArgv is the inverse of the parser.
    const again = parseServerArgs([...(key === 'modelPath' ? [] : M), ...toArgv(SERVER_ARGS, { [key]: v })]);
    assert.deepEqual((again as unknown as Record<string, unknown>)[key], v, `toArgv ${key}`);
  }
  assert.ok(checked >= 330, `checked ${checked}`);
});

test('aliases and argparse abbreviations', () => {
  assert.equal(parseServerArgs(['--model', 'x']).modelPath, 'x');
  assert.equal(parseServerArgs([...M, '--tp-size', '2']).tpSize, 2);
  assert.equal(parseServerArgs([...M, '--tensor-parallel-size', '2']).tpSize, 2);
  assert.equal(parseServerArgs([...M, '--tp', '2']).tpSize, 2);
  assert.equal(parseServerArgs([...M, '--dp', '3']).dpSize, 3);
  assert.equal(parseServerArgs([...M, '--ep', '4']).epSize, 4);
  assert.equal(parseServerArgs([...M, '--pp-size', '2']).ppSize, 2);
  assert.equal(parseServerArgs([...M, '--nccl-init-addr', 'h:1']).distInitAddr, 'h:1');
  assert.equal(parseServerArgs([...M, '--speculative-draft-model', 'd']).speculativeDraftModelPath, 'd');
  assert.equal(parseServerArgs([...M, '--max-running', '7']).maxRunningRequests, 7);
  assert.throws(
    () => parseServerArgs([...M, '--enable-m', '1']),
    (e: unknown) => e instanceof ConfigError && /^ambiguous option: --enable-m could match --enable-multimodal, --enable-metrics/.test(e.message),
  );
});

test('= form, negative numbers, repeated flags, lists and the bare nargs="?" flag', () => {
  const a = parseServerArgs([
    '--model-path=org/m',
    '--port=8080',
    '--chunked-prefill-size',
    '-1',
    '--random-seed=-5',
    '--stream-interval',
    '2',
    '--stream-interval',
    '4',
    '--cuda-graph-bs',
    '1',
    '2',
    '4',
    '--lora-paths',
    '--api-key',
    'k=v',
    '--hybrid-kvcache-ratio',
    '--chat-template=a b',
  ]);
  assert.equal(a.modelPath, 'org/m');
  assert.equal(a.port, 8080);
  assert.equal(a.chunkedPrefillSize, -1);
  assert.equal(a.randomSeed, -5);
  assert.equal(a.streamInterval, 4);
  assert.deepEqual(a.cudaGraphBs, [1, 2, 4]);
  assert.deepEqual(a.loraPaths, []);
  assert.equal(a.apiKey, 'k=v');
  assert.equal(a.hybridKvcacheRatio, 0.5);
  assert.equal(a.chatTemplate, 'a b');
  assert.equal(parseServerArgs([...M, '--hybrid-kvcache-ratio', '0.3']).hybridKvcacheRatio, 0.3);
  assert.equal(parseServerArgs([...M, '--mem-fraction-static', '.7']).memFractionStatic, 0.7);
  assert.equal(parseServerArgs([...M, '--max-total-tokens', '1_000']).maxTotalTokens, 1000);
  assert.equal(parseServerArgs([...M, '--quantization-param-path', 'None']).quantizationParamPath, null);
});

function throwsConfig(argv: string[], message: string | RegExp): void {
  assert.throws(
    () => parseServerArgs(argv),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

test('bad values get argparse messages', () => {
  throwsConfig([...M, '--port', 'abc'], "argument --port: invalid int value: 'abc'");
  throwsConfig([...M, '--port', '1.5'], "argument --port: invalid int value: '1.5'");
  throwsConfig([...M, '--port=', ], "argument --port: invalid int value: ''");
  throwsConfig([...M, '--mem-fraction-static', 'lots'], "argument --mem-fraction-static: invalid float value: 'lots'");
  throwsConfig(
    [...M, '--schedule-policy', 'x'],
    "argument --schedule-policy: invalid choice: 'x' (choose from 'lpm', 'random', 'fcfs', 'dfs-weight', 'lof')",
  );
  throwsConfig([...M, '--log-requests-level', '9'], 'argument --log-requests-level: invalid choice: 9 (choose from 0, 1, 2, 3)');
  throwsConfig([...M, '--lora-target-modules', 'q_proj', 'nope'], /^argument --lora-target-modules: invalid choice: 'nope'/);
  throwsConfig([...M, '--port'], 'argument --port: expected one argument');
  throwsConfig([...M, '--port', '--host', 'h'], 'argument --port: expected one argument');
  throwsConfig([...M, '--cuda-graph-bs'], 'argument --cuda-graph-bs: expected at least one argument');
  throwsConfig([...M, '--cuda-graph-bs', '1', 'x'], "argument --cuda-graph-bs: invalid int value: 'x'");
  throwsConfig([...M, '--disable-radix-cache=yes'], "argument --disable-radix-cache: ignored explicit argument 'yes'");
  throwsConfig([...M, '--page-size', '0'], 'argument --page-size: must be >= 1, got 0');
  throwsConfig([...M, '--port', '70000'], 'argument --port: must be <= 65535, got 70000');
  throwsConfig([...M, '--preferred-sampling-params', '{bad'], "argument --preferred-sampling-params: invalid JSON value: '{bad'");
  throwsConfig(['--port', '1'], 'the following arguments are required: --model-path/--model');
});

test('unknown flags are rejected with the closest flag', () => {
  throwsConfig([...M, '--max-runing-requests', '3'], 'unrecognized arguments: --max-runing-requests (did you mean --max-running-requests?)');
  throwsConfig([...M, '--chunked_prefill_size', '3'], /did you mean --chunked-prefill-size\?\)$/);
  throwsConfig([...M, '--zzzzzzzzzzzzzzzzzz'], 'unrecognized arguments: --zzzzzzzzzzzzzzzzzz');
  throwsConfig([...M, 'stray'], 'unrecognized arguments: stray');
  throwsConfig([...M, '--', '--port'], 'unrecognized arguments: --port');
});

test('--help and -h yield the help text instead of args', () => {
  for (const h of ['--help', '-h']) {
    assert.throws(
      () => parseServerArgs([h]),
      (e: unknown) => e instanceof HelpRequested && e.text.includes('--model-path') && e.exitCode === 0,
    );
  }
  // help wins over a missing required flag, but not over an earlier bad value (argparse order)
  assert.throws(() => parseServerArgs(['--port', 'x', '--help']), ConfigError);
});

test('the result is frozen', () => {
  const a = parseServerArgs(M);
  assert.ok(Object.isFrozen(a));
});

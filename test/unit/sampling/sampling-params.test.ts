/**
 * parseSamplingParams: SGLang 0.5.2 defaults, __init__ rewrites, verify() messages (exact
 * strings), type errors, preferred-params merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseSamplingParams,
  SamplingParamsError,
  TOP_K_ALL,
} from '../../../src/sampling/sampling-params.js';

const V = 1000;
const parse = (raw: unknown, extra: Record<string, unknown> = {}) => parseSamplingParams(raw, { vocabSize: V, ...extra });

function rejects(raw: unknown, message: string, extra: Record<string, unknown> = {}): void {
  assert.throws(
    () => parse(raw, extra),
    (e: unknown) => {
      assert.ok(e instanceof SamplingParamsError, `expected SamplingParamsError, got ${String(e)}`);
      assert.ok(e instanceof Error);
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('defaults match SGLang SamplingParams()', () => {
  const p = parse({});
  assert.deepEqual(p, {
    maxNewTokens: 128,
    minNewTokens: 0,
    temperature: 1,
    topP: 1,
    topK: TOP_K_ALL,
    minP: 0,
    frequencyPenalty: 0,
    presencePenalty: 0,
    repetitionPenalty: 1,
    stop: [],
    stopTokenIds: [],
    ignoreEos: false,
    skipSpecialTokens: true,
    spacesBetweenSpecialTokens: true,
    noStopTrim: false,
    logitBias: null,
    seed: null,
    streamInterval: null,
    jsonSchema: null,
    regex: null,
    ebnf: null,
    structuralTag: null,
    n: 1,
    customParams: null,
  });
  assert.equal(TOP_K_ALL, 1 << 30);
  assert.deepEqual(parse(undefined), p);
  assert.deepEqual(parse(null), p);
});

test('defaultMaxNewTokens and null max_new_tokens', () => {
  assert.equal(parse({}, { defaultMaxNewTokens: 16 }).maxNewTokens, 16);
  assert.equal(parse({}, { defaultMaxNewTokens: null }).maxNewTokens, null);
  assert.equal(parse({ max_new_tokens: null }).maxNewTokens, null);
  assert.equal(parse({ max_new_tokens: 5 }, { defaultMaxNewTokens: 16 }).maxNewTokens, 5);
  assert.equal(parse({ max_new_tokens: 0 }).maxNewTokens, 0);
});

test('all fields parse from snake_case', () => {
  const p = parse({
    max_new_tokens: 50, min_new_tokens: 3, temperature: 0.7, top_p: 0.9, top_k: 40, min_p: 0.05,
    frequency_penalty: 0.5, presence_penalty: -0.5, repetition_penalty: 1.2, stop: ['a', 'b'],
    stop_token_ids: [7, 7, 9], ignore_eos: true, skip_special_tokens: false,
    spaces_between_special_tokens: false, no_stop_trim: true, logit_bias: { '5': 1.5, '10': -100 },
    sampling_seed: 42, stream_interval: 4, regex: 'a+', structural_tag: '{}', n: 3,
    custom_params: { x: 1 },
  });
  assert.equal(p.maxNewTokens, 50);
  assert.equal(p.minNewTokens, 3);
  assert.equal(p.temperature, 0.7);
  assert.equal(p.topP, 0.9);
  assert.equal(p.topK, 40);
  assert.equal(p.minP, 0.05);
  assert.equal(p.frequencyPenalty, 0.5);
  assert.equal(p.presencePenalty, -0.5);
  assert.equal(p.repetitionPenalty, 1.2);
  assert.deepEqual(p.stop, ['a', 'b']);
  assert.deepEqual(p.stopTokenIds, [7, 9]);
  assert.equal(p.ignoreEos, true);
  assert.equal(p.skipSpecialTokens, false);
  assert.equal(p.spacesBetweenSpecialTokens, false);
  assert.equal(p.noStopTrim, true);
  assert.deepEqual([...p.logitBias!], [[5, 1.5], [10, -100]]);
  assert.equal(p.seed, 42);
  assert.equal(p.streamInterval, 4);
  assert.equal(p.regex, 'a+');
  assert.equal(p.jsonSchema, null);
  assert.equal(p.structuralTag, '{}');
  assert.equal(p.n, 3);
  assert.deepEqual(p.customParams, { x: 1 });
});

test('stop: a string becomes a one-element list; empty strings dropped', () => {
  assert.deepEqual(parse({ stop: 'END' }).stop, ['END']);
  assert.deepEqual(parse({ stop: ['x', '', 'y'] }).stop, ['x', 'y']);
  assert.deepEqual(parse({ stop: null }).stop, []);
});

test('seed: sampling_seed and seed are both accepted; sampling_seed wins', () => {
  assert.equal(parse({ seed: 7 }).seed, 7);
  assert.equal(parse({ sampling_seed: 8 }).seed, 8);
  assert.equal(parse({ sampling_seed: 8, seed: 7 }).seed, 8);
  assert.equal(parse({ seed: -3 }).seed, -3);
  assert.equal(parse({ seed: 5 }, { preferred: { sampling_seed: 1 } }).seed, 5, 'request seed beats preferred');
  assert.equal(parse({}, { preferred: { seed: 1 } }).seed, 1);
  assert.equal(parse({ seed: null }, { preferred: { seed: 1 } }).seed, null);
  rejects({ seed: 'x' }, 'seed must be an integer, got string.');
});

test('tiny temperature rewrites to greedy (temperature 1, top_k 1)', () => {
  for (const t of [0, 1e-7, 9.99e-7]) {
    const p = parse({ temperature: t, top_k: 50 });
    assert.equal(p.temperature, 1);
    assert.equal(p.topK, 1);
  }
  const q = parse({ temperature: 1e-6 });
  assert.equal(q.temperature, 1e-6);
  assert.equal(q.topK, TOP_K_ALL);
  // The rewrite runs before verify: top_k 0 with temperature 0 is accepted, as in SGLang.
  assert.equal(parse({ temperature: 0, top_k: 0 }).topK, 1);
});

test('top_k -1 means all; explicit top_k kept', () => {
  assert.equal(parse({ top_k: -1 }).topK, TOP_K_ALL);
  assert.equal(parse({ top_k: 1 }).topK, 1);
  assert.equal(parse({ top_k: 5 }).topK, 5);
});

test('null means default for non-optional fields', () => {
  const p = parse({ temperature: null, top_p: null, top_k: null, min_p: null, ignore_eos: null, n: null });
  assert.equal(p.temperature, 1);
  assert.equal(p.topP, 1);
  assert.equal(p.topK, TOP_K_ALL);
  assert.equal(p.minP, 0);
  assert.equal(p.ignoreEos, false);
  assert.equal(p.n, 1);
});

test('verify messages, exact SGLang 0.5.2 strings', () => {
  rejects({ temperature: -1 }, 'temperature must be non-negative, got -1.');
  rejects({ temperature: -0.5 }, 'temperature must be non-negative, got -0.5.');
  rejects({ top_p: 0 }, 'top_p must be in (0, 1], got 0.');
  rejects({ top_p: 1.5 }, 'top_p must be in (0, 1], got 1.5.');
  rejects({ top_p: -0.1 }, 'top_p must be in (0, 1], got -0.1.');
  rejects({ min_p: -0.1 }, 'min_p must be in [0, 1], got -0.1.');
  rejects({ min_p: 1.1 }, 'min_p must be in [0, 1], got 1.1.');
  rejects({ top_k: 0 }, 'top_k must be -1 (disable) or at least 1, got 0.');
  rejects({ top_k: -2 }, 'top_k must be -1 (disable) or at least 1, got -2.');
  rejects({ frequency_penalty: 2.5 }, 'frequency_penalty must be in [-2, 2], got 2.5.');
  rejects({ frequency_penalty: -3 }, 'frequency_penalty must be in [-2, 2], got -3.');
  rejects({ presence_penalty: -2.1 }, 'presence_penalty must be in [-2, 2], got -2.1.');
  rejects({ presence_penalty: 3 }, 'presence_penalty must be in [-2, 2], got 3.');
  rejects({ repetition_penalty: 2.1 }, 'repetition_penalty must be in [0, 2], got 2.1.');
  rejects({ repetition_penalty: -1 }, 'repetition_penalty must be in [0, 2], got -1.');
  rejects({ min_new_tokens: -1 }, 'min_new_tokens must be in [0, max_new_tokens], got -1.');
  rejects({ max_new_tokens: -1 }, 'max_new_tokens must be at least 0, got -1.');
  rejects({ max_new_tokens: 4, min_new_tokens: 5 }, 'min_new_tokens must be in [0, max_new_tokens(4)], got 5.');
  rejects({ logit_bias: { '1000': 1 } }, 'logit_bias must has keys in [0, 999], got 1000.');
  rejects({ logit_bias: { '-1': 1 } }, 'logit_bias must has keys in [0, 999], got -1.');
  rejects({ logit_bias: { abc: 1 } }, "invalid literal for int() with base 10: 'abc'");
  rejects({ regex: 'a', json_schema: '{}' }, 'Only one of regex, json_schema, or ebnf can be set.');
  rejects({ regex: 'a', ebnf: 'root ::= "a"' }, 'Only one of regex, json_schema, or ebnf can be set.');
  rejects({ json_schema: '{}', ebnf: 'x' }, 'Only one of regex, json_schema, or ebnf can be set.');
});

test('verify boundaries that pass', () => {
  assert.equal(parse({ top_p: 1 }).topP, 1);
  assert.equal(parse({ min_p: 1 }).minP, 1);
  assert.equal(parse({ min_p: 0 }).minP, 0);
  assert.equal(parse({ frequency_penalty: -2 }).frequencyPenalty, -2);
  assert.equal(parse({ presence_penalty: 2 }).presencePenalty, 2);
  assert.equal(parse({ repetition_penalty: 0 }).repetitionPenalty, 0);
  assert.equal(parse({ repetition_penalty: 2 }).repetitionPenalty, 2);
  assert.equal(parse({ max_new_tokens: 5, min_new_tokens: 5 }).minNewTokens, 5);
  assert.equal(parse({ max_new_tokens: null, min_new_tokens: 500 }).minNewTokens, 500);
  assert.deepEqual([...parse({ logit_bias: { '0': 1, '999': 2 } }).logitBias!], [[0, 1], [999, 2]]);
  // structural_tag does not count in the grammar exclusivity check
  assert.equal(parse({ regex: 'a', structural_tag: '{}' }).regex, 'a');
});

test('verify order: the first failing check reports', () => {
  rejects({ temperature: -1, top_p: 0 }, 'temperature must be non-negative, got -1.');
  rejects({ top_p: 0, top_k: 0 }, 'top_p must be in (0, 1], got 0.');
  rejects({ top_k: 0, min_p: 2 }, 'min_p must be in [0, 1], got 2.');
  rejects({ logit_bias: { '5000': 1 }, regex: 'a', ebnf: 'b' }, 'logit_bias must has keys in [0, 999], got 5000.');
});

test('logit_bias: keys parsed like Python int(); the last duplicate wins', () => {
  // ('05' and '+5' are not canonical integer keys, so JS keeps their insertion order.)
  const p = parse({ logit_bias: { ' 7 ': 1, '+8': 2, '05': 3, '+5': 4 } });
  assert.deepEqual([...p.logitBias!].sort((a, b) => a[0] - b[0]), [[5, 4], [7, 1], [8, 2]]);
  assert.equal(parse({ logit_bias: {} }).logitBias, null);
});

test('wrong JSON types give clear errors', () => {
  rejects('x', 'sampling_params must be an object, got string.');
  rejects([1], 'sampling_params must be an object, got array.');
  rejects({ temperature: 'hot' }, 'temperature must be a number, got string.');
  rejects({ top_p: true }, 'top_p must be a number, got boolean.');
  rejects({ top_k: 2.5 }, 'top_k must be an integer, got 2.5.');
  rejects({ top_k: '5' }, 'top_k must be an integer, got string.');
  rejects({ max_new_tokens: 1.5 }, 'max_new_tokens must be an integer, got 1.5.');
  rejects({ min_new_tokens: [] }, 'min_new_tokens must be an integer, got array.');
  rejects({ ignore_eos: 1 }, 'ignore_eos must be a boolean, got number.');
  rejects({ stop: 5 }, 'stop must be a string or a list of strings, got number.');
  rejects({ stop: ['a', 1] }, 'stop must be a string or a list of strings, got array.');
  rejects({ stop_token_ids: [1, 'x'] }, 'stop_token_ids must be a list of integers, got array.');
  rejects({ stop_token_ids: 3 }, 'stop_token_ids must be a list of integers, got number.');
  rejects({ logit_bias: [1] }, 'logit_bias must be an object mapping token ids to numbers, got array.');
  rejects({ logit_bias: { '1': 'x' } }, 'logit_bias values must be numbers, got string for key 1.');
  rejects({ json_schema: { type: 'object' } }, 'json_schema must be a string, got object.');
  rejects({ sampling_seed: 'x' }, 'sampling_seed must be an integer, got string.');
  rejects({ custom_params: 3 }, 'custom_params must be an object, got number.');
  rejects({ temprature: 1 }, 'Unknown sampling parameter: temprature.');
  rejects({ n: 0 }, 'n must be at least 1, got 0.');
  rejects({ stream_interval: 0 }, 'stream_interval must be at least 1, got 0.');
});

test('preferred params merge under the request', () => {
  const preferred = { temperature: 0.3, top_p: 0.8, max_new_tokens: 64 };
  const p = parse({ top_p: 0.5 }, { preferred });
  assert.equal(p.temperature, 0.3);
  assert.equal(p.topP, 0.5);
  assert.equal(p.maxNewTokens, 64);
  // An explicit null in the request overrides the preferred value ({**preferred, **request}).
  assert.equal(parse({ max_new_tokens: null }, { preferred }).maxNewTokens, null);
  // Preferred values are validated like request values.
  rejects({}, 'top_p must be in (0, 1], got 0.', { preferred: { top_p: 0 } });
  // Preferred temperature 0 → greedy rewrite.
  assert.equal(parse({}, { preferred: { temperature: 0 } }).topK, 1);
});

/**
 * The sampler's batch argmax fast path: used only when every row is plain greedy (no penalty,
 * bias, min_new_tokens block, grammar or logprobs), and it picks the same tokens as the full path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sampler } from '../../../src/sampling/sampler.js';
import { parseSamplingParams } from '../../../src/sampling/sampling-params.js';

const V = 1000;
function jsArgmaxRows(calls: number[]) {
  return (out: Int32Array, x: Float32Array, rows: number, n: number): void => {
    calls.push(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (x[r * n + j]! > x[r * n + best]!) best = j;
      out[r] = best;
    }
  };
}

function logits(rows: number, seed: number): Float32Array {
  const l = new Float32Array(rows * V);
  let s = seed;
  for (let i = 0; i < l.length; i++) { s = (s * 1103515245 + 12345) >>> 0; l[i] = (s / 2 ** 32) * 10; }
  return l;
}

describe('sampler argmax fast path', () => {
  it('plain greedy batches use it and agree with the full path', () => {
    const calls: number[] = [];
    const fast = new Sampler({ vocabSize: V, argmaxRows: jsArgmaxRows(calls) });
    const slow = new Sampler({ vocabSize: V });
    const p = parseSamplingParams({ temperature: 0 }, { vocabSize: V });
    const l = logits(8, 7);
    const a = Array.from(fast.sample(l.slice(), Array.from({ length: 8 }, () => ({ params: p, state: fast.newState(p) }))).tokenIds);
    const b = Array.from(slow.sample(l.slice(), Array.from({ length: 8 }, () => ({ params: p, state: slow.newState(p) }))).tokenIds);
    assert.deepEqual(a, b);
    assert.deepEqual(calls, [8]);
  });

  it('is not used when a row has a penalty, a bias, logprobs or sampling', () => {
    const calls: number[] = [];
    const fast = new Sampler({ vocabSize: V, argmaxRows: jsArgmaxRows(calls) });
    const greedy = parseSamplingParams({ temperature: 0 }, { vocabSize: V });
    for (const raw of [{ temperature: 0, frequency_penalty: 1 }, { temperature: 0, logit_bias: { '3': 5 } }, { temperature: 0.7 }, { temperature: 0, min_new_tokens: 2 }]) {
      const other = parseSamplingParams(raw, { vocabSize: V });
      fast.sample(logits(2, 3), [{ params: greedy, state: fast.newState(greedy) }, { params: other, state: fast.newState(other) }]);
    }
    fast.sample(logits(2, 3), [{ params: greedy, state: fast.newState(greedy), returnLogprob: true }, { params: greedy, state: fast.newState(greedy) }]);
    assert.deepEqual(calls, []);
  });
});

/** Rng (xoshiro128**): determinism, seed separation, float range and uniformity, state round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/sampling/rng.js';
import { expNeg } from '../../../src/sampling/sampler.js';

const draws = (seed: number, n: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.nextU32());
};

test('same seed, same sequence; nearby and large seeds differ', () => {
  assert.deepEqual(draws(42, 50), draws(42, 50));
  const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, -(2 ** 40)];
  const firsts = seeds.map((s) => draws(s, 4).join(','));
  assert.equal(new Set(firsts).size, seeds.length);
  for (const v of draws(7, 100)) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

test('nextFloat is in [0, 1) and roughly uniform', () => {
  const r = new Rng(9);
  const N = 200000;
  const bins = new Array(10).fill(0);
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const x = r.nextFloat();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    bins[Math.floor(x * 10)]++;
  }
  assert.ok(Math.abs(sum / N - 0.5) < 0.005);
  for (const b of bins) assert.ok(Math.abs(b / N - 0.1) < 0.005);
});

test('state snapshot and restore replay the stream', () => {
  const r = new Rng(3);
  r.nextU32();
  const snap = r.getState();
  const a = [r.nextFloat(), r.nextFloat()];
  r.setState(snap);
  assert.deepEqual([r.nextFloat(), r.nextFloat()], a);
  r.reseed(3);
  assert.equal(r.nextU32(), draws(3, 1)[0]);
  assert.throws(() => new Rng(NaN), RangeError);
});

test('expNeg matches Math.exp(-g) to 1e-9 relative over the normal range', () => {
  for (let i = 0; i <= 2000; i++) {
    const g = i * 0.35;
    const want = Math.exp(-g);
    if (want < 1e-300) break;
    assert.ok(Math.abs(expNeg(g) / want - 1) < 1e-9, `g=${g}`);
  }
  assert.equal(expNeg(0), 1);
  assert.equal(expNeg(Infinity), 0);
  assert.ok(Number.isNaN(expNeg(NaN)));
});

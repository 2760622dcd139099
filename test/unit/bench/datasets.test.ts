import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalTimes, Rng, sampleGeneratedSharedPrefix, sampleRandomIds } from '../../../bench/datasets.js';
import { mean } from '../../../bench/stats.js';

test('Rng is deterministic per seed and uniform enough', () => {
  const a = new Rng(1);
  const b = new Rng(1);
  const c = new Rng(2);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xa, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.nextU32()));
  const r = new Rng(7);
  const xs = Array.from({ length: 20000 }, () => r.next());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(mean(xs) - 0.5) < 0.01);
  const ints = Array.from({ length: 5000 }, () => r.int(3, 5));
  assert.deepEqual([...new Set(ints)].sort(), [3, 4, 5]);
});

test('random-ids: lengths within SGLang ranges, ids consecutive modulo vocab', () => {
  const rows = sampleRandomIds({ inputLen: 100, outputLen: 20, numPrompts: 200, rangeRatio: 0.5, vocabSize: 1000 }, new Rng(1));
  assert.equal(rows.length, 200);
  for (const [i, r] of rows.entries()) {
    assert.ok(r.promptLen >= 50 && r.promptLen <= 100, `input ${r.promptLen}`);
    assert.ok(r.outputLen >= 10 && r.outputLen <= 20, `output ${r.outputLen}`);
    assert.equal(r.prompt.length, r.promptLen);
    for (let j = 1; j < r.prompt.length; j++) assert.equal(r.prompt[j], (r.prompt[j - 1]! + 1) % 1000);
    assert.ok(r.prompt.every((t) => t >= 0 && t < 1000));
    void i;
  }
  const fixed = sampleRandomIds({ inputLen: 256, outputLen: 128, numPrompts: 10, rangeRatio: 1, vocabSize: 49152 }, new Rng(3));
  assert.ok(fixed.every((r) => r.promptLen === 256 && r.outputLen === 128));
  const again = sampleRandomIds({ inputLen: 256, outputLen: 128, numPrompts: 10, rangeRatio: 1, vocabSize: 49152 }, new Rng(3));
  assert.deepEqual(fixed, again);
  // ratio 0 (SGLang's default): input in [1, len]; outputs raised to >= 1
  const r0 = sampleRandomIds({ inputLen: 4, outputLen: 4, numPrompts: 300, rangeRatio: 0, vocabSize: 10 }, new Rng(5));
  assert.ok(r0.every((r) => r.promptLen >= 1 && r.promptLen <= 4 && r.outputLen >= 1 && r.outputLen <= 4));
});

test('generated-shared-prefix: groups share their system prompt, all prompts present once', () => {
  const o = { numGroups: 3, promptsPerGroup: 4, systemPromptLen: 32, questionLen: 8, outputLen: 16, vocabSize: 500 };
  const rows = sampleGeneratedSharedPrefix(o, new Rng(1));
  assert.equal(rows.length, 12);
  const sys = new Map<number, string>();
  const counts = new Map<number, number>();
  for (const r of rows) {
    assert.equal(r.promptLen, 40);
    assert.equal(r.prompt.length, 40);
    assert.equal(r.outputLen, 16);
    const key = r.prompt.slice(0, 32).join(',');
    const g = r.group!;
    if (sys.has(g)) assert.equal(sys.get(g), key);
    else sys.set(g, key);
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  assert.equal(new Set(sys.values()).size, 3);
  assert.deepEqual([...counts.values()], [4, 4, 4]);
  // shuffled (not group-ordered) by default, ordered with noShuffle
  const ordered = sampleGeneratedSharedPrefix({ ...o, noShuffle: true }, new Rng(1));
  assert.deepEqual(ordered.map((r) => r.group), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  assert.notDeepEqual(rows.map((r) => r.group), ordered.map((r) => r.group));
  const sep = sampleGeneratedSharedPrefix({ ...o, separator: [1, 2] }, new Rng(1));
  assert.equal(sep[0]!.promptLen, 42);
});

test('arrivalTimes: all at once for inf, Poisson with the requested mean rate otherwise', () => {
  assert.deepEqual(arrivalTimes(4, Infinity, new Rng(1)), [0, 0, 0, 0]);
  const t = arrivalTimes(20001, 10, new Rng(2));
  assert.equal(t[0], 0);
  for (let i = 1; i < t.length; i++) assert.ok(t[i]! >= t[i - 1]!);
  const rate = (t.length - 1) / t[t.length - 1]!;
  assert.ok(Math.abs(rate - 10) < 0.3, `rate ${rate}`);
});

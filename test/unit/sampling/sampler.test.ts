/**
 * Sampler: pipeline order and exact logit edits (penalties, min_new_tokens, grammar mask,
 * logit_bias), greedy/argmax ties, top-k/top-p/min-p supports and frequencies against a direct
 * sort-based reference (SGLang's torch path), seeded determinism independent of batch
 * composition, and logprobs against direct computation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F32_LOWEST, Sampler, rowLogprobs, type SampleRow } from '../../../src/sampling/sampler.js';
import { parseSamplingParams } from '../../../src/sampling/sampling-params.js';
import { Rng } from '../../../src/sampling/rng.js';
import type { SamplingParams } from '../../../src/engine/types.js';

const params = (raw: Record<string, unknown>, V: number): SamplingParams =>
  parseSamplingParams({ max_new_tokens: null, ...raw }, { vocabSize: V });

function row(s: Sampler, p: SamplingParams, extra: Partial<SampleRow> = {}): SampleRow {
  return { params: p, state: s.newState(p), ...extra };
}

/** Sample `steps` tokens for one row from fixed logits (copied fresh each step). */
function run(s: Sampler, r: SampleRow, logits: Float32Array, steps: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(s.sample(logits.slice(), [r]).tokenIds[0]!);
  return out;
}

function logSoftmax(l: ArrayLike<number>, scale = 1): number[] {
  let m = -Infinity;
  for (let i = 0; i < l.length; i++) m = Math.max(m, l[i]!);
  let z = 0;
  for (let i = 0; i < l.length; i++) z += Math.exp((l[i]! - m) * scale);
  return Array.from(l, (v) => (v - m) * scale - Math.log(z));
}

/** SGLang's torch path: sort probs desc, zero rank >= k, zero (cumsum - p) > top_p, zero p < max*min_p. */
function referenceKept(l: Float32Array, T: number, k: number, topP: number, minP: number): Map<number, number> {
  const lp = logSoftmax(l, 1 / T);
  const order = Array.from(lp.keys()).sort((a, b) => lp[b]! - lp[a]! || a - b);
  const kept = new Map<number, number>();
  let cum = 0;
  const pmax = Math.exp(lp[order[0]!]!);
  for (let r = 0; r < order.length; r++) {
    const p = Math.exp(lp[order[r]!]!);
    const excl = cum;
    cum += p;
    if (r >= k || excl > topP || p < pmax * minP) continue;
    kept.set(order[r]!, p);
  }
  let s = 0;
  for (const p of kept.values()) s += p;
  for (const [id, p] of kept) kept.set(id, p / s);
  return kept;
}

function randomLogits(V: number, seed: number, scale: number): Float32Array {
  const rng = new Rng(seed);
  const l = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    // Box-Muller normal
    const u = rng.nextFloat() || 1e-12;
    const v = rng.nextFloat();
    l[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * scale;
  }
  return l;
}

/** Draw N samples and check support ⊆ kept and frequencies within 5 sigma of the reference. */
function checkAgainstReference(V: number, logits: Float32Array, raw: Record<string, unknown>, N: number): void {
  const s = new Sampler({ vocabSize: V, randomSeed: 1 });
  const p = params(raw, V);
  const kept = referenceKept(logits, p.temperature, p.topK, p.topP, p.minP);
  const r = row(s, p);
  const freq = new Map<number, number>();
  for (const t of run(s, r, logits, N)) freq.set(t, (freq.get(t) ?? 0) + 1);
  for (const t of freq.keys()) assert.ok(kept.has(t), `sampled ${t} outside the kept set (${JSON.stringify(raw)})`);
  for (const [id, prob] of kept) {
    const got = (freq.get(id) ?? 0) / N;
    const sigma = Math.sqrt((prob * (1 - prob)) / N);
    assert.ok(Math.abs(got - prob) <= 5 * sigma + 1e-3, `token ${id}: freq ${got} vs p ${prob} (${JSON.stringify(raw)})`);
  }
}

test('greedy: argmax with the lowest id on ties', () => {
  const s = new Sampler({ vocabSize: 6 });
  const l = new Float32Array([1, 3, 2, 3, -1, 3]);
  const r = row(s, params({ temperature: 0 }, 6));
  assert.deepEqual(run(s, r, l, 3), [1, 1, 1]);
  assert.equal(r.state.numOutput, 3);
});

test('top_k=1 with any temperature equals greedy, and consumes no randomness', () => {
  const V = 500;
  const l = randomLogits(V, 3, 2);
  const s = new Sampler({ vocabSize: V });
  let best = 0;
  for (let i = 1; i < V; i++) if (l[i]! > l[best]!) best = i;
  for (const raw of [{ top_k: 1, temperature: 0.5 }, { top_k: 1, temperature: 1.7 }, { temperature: 0 }]) {
    const r = row(s, params({ ...raw, sampling_seed: 5 }, V));
    const before = r.state.rng.getState();
    assert.deepEqual(run(s, r, l, 4), [best, best, best, best]);
    assert.deepEqual(r.state.rng.getState(), before);
  }
});

test('same seed gives the same sequence; different seeds differ', () => {
  const V = 300;
  const l = randomLogits(V, 11, 1);
  const seq = (seed: number, randomSeed: number) => {
    const s = new Sampler({ vocabSize: V, randomSeed });
    return run(s, row(s, params({ sampling_seed: seed, top_p: 0.95 }, V)), l, 40);
  };
  assert.deepEqual(seq(123, 0), seq(123, 0));
  assert.deepEqual(seq(123, 0), seq(123, 99)); // the server seed does not matter for a seeded request
  assert.notDeepEqual(seq(123, 0), seq(124, 0));
  assert.ok(new Set(seq(123, 0)).size > 5, 'a flat distribution gives varied tokens');
});

test('seeded request is independent of batch composition and position', () => {
  const V = 256;
  const l = randomLogits(V, 5, 1);
  const other = randomLogits(V, 6, 1);
  const pSeed = params({ seed: 77, top_k: 50 }, V);
  const alone = new Sampler({ vocabSize: V });
  const ra = row(alone, pSeed);
  const soloSeq: number[] = [];
  for (let i = 0; i < 20; i++) soloSeq.push(alone.sample(l.slice(), [ra]).tokenIds[0]!);

  const batched = new Sampler({ vocabSize: V, randomSeed: 4 });
  const rb = row(batched, pSeed);
  const noise = [row(batched, params({}, V)), row(batched, params({ temperature: 0.5 }, V)), row(batched, params({ temperature: 0 }, V))];
  const batchSeq: number[] = [];
  for (let i = 0; i < 20; i++) {
    const rows = [...noise.slice(0, i % 4), rb, ...noise.slice(i % 4)];
    const buf = new Float32Array(rows.length * V);
    rows.forEach((r, j) => buf.set(r === rb ? l : other, j * V));
    const out = batched.sample(buf, rows);
    batchSeq.push(out.tokenIds[rows.indexOf(rb)]!);
  }
  assert.deepEqual(batchSeq, soloSeq);
});

test('unseeded requests draw from the server generator (--random-seed)', () => {
  const V = 300;
  const l = randomLogits(V, 12, 1);
  const seq = (randomSeed: number) => {
    const s = new Sampler({ vocabSize: V, randomSeed });
    const r1 = row(s, params({}, V));
    const r2 = row(s, params({}, V));
    return [run(s, r1, l, 30), run(s, r2, l, 30)];
  };
  const [a1, a2] = seq(42);
  const [b1, b2] = seq(42);
  assert.deepEqual(a1, b1);
  assert.deepEqual(a2, b2);
  assert.notDeepEqual(a1, a2); // two requests get different streams
  assert.notDeepEqual(seq(43)[0], a1);
});

test('top-k: support and frequencies on a crafted distribution', () => {
  const l = new Float32Array([0, 3, 1, 2.5, -1, 2, 0.5, 1.5]);
  const s = new Sampler({ vocabSize: 8, randomSeed: 9 });
  const r = row(s, params({ top_k: 3 }, 8));
  const got = run(s, r, l, 6000);
  assert.deepEqual([...new Set(got)].sort(), [1, 3, 5]);
  checkAgainstReference(8, l, { top_k: 3 }, 6000);
});

test('top-p: exclusive cumsum rule on crafted probabilities', () => {
  const probs = [0.05, 0.5, 0.15, 0.3];
  const l = new Float32Array(probs.map(Math.log));
  const s = new Sampler({ vocabSize: 4, randomSeed: 2 });
  // sorted: 0.5, 0.3, 0.15, 0.05; exclusive cumsums 0, 0.5, 0.8, 0.95
  const support = (topP: number) => [...new Set(run(s, row(s, params({ top_p: topP }, 4)), l, 3000))].sort();
  assert.deepEqual(support(0.4), [1]);
  assert.deepEqual(support(0.7), [1, 3]);
  assert.deepEqual(support(0.85), [1, 2, 3]);
  assert.deepEqual(support(0.99), [0, 1, 2, 3]);
  checkAgainstReference(4, l, { top_p: 0.7 }, 6000);
});

test('min-p: threshold relative to the top probability', () => {
  const probs = [0.05, 0.5, 0.15, 0.3];
  const l = new Float32Array(probs.map(Math.log));
  const s = new Sampler({ vocabSize: 4, randomSeed: 3 });
  const support = (minP: number) => [...new Set(run(s, row(s, params({ min_p: minP }, 4)), l, 3000))].sort();
  assert.deepEqual(support(0.25), [1, 2, 3]); // threshold 0.125
  assert.deepEqual(support(0.5), [1, 3]); // threshold 0.25
  assert.deepEqual(support(1), [1]);
  checkAgainstReference(4, l, { min_p: 0.25 }, 6000);
});

test('temperature reshapes the distribution (frequencies match softmax(l/T))', () => {
  const l = new Float32Array([1, 2, 0, 1.5]);
  checkAgainstReference(4, l, { temperature: 0.5 }, 8000);
  checkAgainstReference(4, l, { temperature: 2 }, 8000);
  checkAgainstReference(4, l, {}, 8000);
});

test('large vocabulary: combined filters match the sort-based reference', () => {
  const V = 5000;
  const l = randomLogits(V, 21, 3);
  const cases = [
    { top_k: 40 },
    { top_k: 40, temperature: 0.2 }, // most tokens far below: top-k reaches the overflow bucket
    { top_k: 1000, temperature: 0.05 }, // quickselect compaction path
    { top_p: 0.9 },
    { top_p: 0.5, temperature: 1.5 },
    { top_k: 100, top_p: 0.8, min_p: 0.01 },
    { min_p: 0.1, temperature: 0.7 },
    { top_p: 0.95, top_k: 5000, temperature: 3 },
  ];
  for (const c of cases) checkAgainstReference(V, l, c, 3000);
});

test('ties at the top-k boundary keep the lowest ids', () => {
  const l = new Float32Array([1, 5, 1, 5, 5, 1]);
  const s = new Sampler({ vocabSize: 6, randomSeed: 1 });
  const got = new Set(run(s, row(s, params({ top_k: 2 }, 6)), l, 500));
  assert.deepEqual([...got].sort(), [1, 3]);
  // Many equal logits beyond the compaction threshold.
  const V = 3000;
  const flat = new Float32Array(V).fill(2);
  const got2 = new Set(run(s, row(s, params({ top_k: 3 }, V)), flat, 300));
  assert.deepEqual([...got2].sort((a, b) => a - b), [0, 1, 2]);
});

test('frequency and presence penalties shift logits by the exact amounts', () => {
  const V = 10;
  const s = new Sampler({ vocabSize: V });
  const p = params({ temperature: 0, frequency_penalty: 0.5, presence_penalty: 0.25 }, V);
  const r = row(s, p);
  for (const t of [3, 3, 3, 7]) r.state.record(t);
  assert.equal(r.state.numOutput, 4);
  const base = Float32Array.from({ length: V }, (_, i) => i * 0.1);
  const buf = base.slice();
  s.sample(buf, [r], false);
  for (let i = 0; i < V; i++) {
    const c = i === 3 ? 3 : i === 7 ? 1 : 0;
    const want = c ? Math.fround(Math.fround(base[i]! - 0.5 * c) - 0.25) : base[i]!;
    assert.equal(buf[i], want, `token ${i}`);
  }
  assert.equal(r.state.numOutput, 4, 'record=false leaves the state alone');
});

test('penalties count output tokens as they are sampled and change the choice', () => {
  const V = 4;
  const s = new Sampler({ vocabSize: V });
  const l = new Float32Array([1, 0.8, 0.7, 0]);
  const r = row(s, params({ temperature: 0, presence_penalty: 0.5 }, V));
  // 0 (then -0.5 → 0.5), 1 (0.3), 2 (0.2), then all penalized once: 0 again
  assert.deepEqual(run(s, r, l, 4), [0, 1, 2, 0]);
  const rf = row(s, params({ temperature: 0, frequency_penalty: -2 }, V));
  assert.deepEqual(run(s, rf, new Float32Array([0, 0.5, 0, 0]), 3), [1, 1, 1]); // negative reinforces
});

test('logit_bias: +100 forces a token, -100 forbids it, per request', () => {
  const V = 50;
  const l = randomLogits(V, 8, 1);
  const s = new Sampler({ vocabSize: V, randomSeed: 1 });
  const forced = row(s, params({ logit_bias: { '17': 100 } }, V));
  const plain = row(s, params({}, V));
  const buf = new Float32Array(2 * V);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    buf.set(l, 0);
    buf.set(l, V);
    const out = s.sample(buf, [forced, plain]);
    assert.equal(out.tokenIds[0], 17);
    assert.equal(buf[17], Math.fround(l[17]! + 100));
    assert.equal(buf[V + 17], l[17], 'bias is isolated per request');
    seen.add(out.tokenIds[1]!);
  }
  assert.ok(seen.size > 3);
  let best = 0;
  for (let i = 1; i < V; i++) if (l[i]! > l[best]!) best = i;
  const banned = row(s, params({ temperature: 0, logit_bias: { [String(best)]: -100 } }, V));
  assert.notEqual(run(s, banned, l, 1)[0], best);
});

test('min_new_tokens blocks eos and stop_token_ids until enough output', () => {
  const V = 8;
  const s = new Sampler({ vocabSize: V, eosTokenIds: [2] });
  const l = new Float32Array([0, 0, 9, 8, 0, 1, 0, 0]);
  const r = row(s, params({ temperature: 0, min_new_tokens: 3, stop_token_ids: [3] }, V));
  assert.deepEqual(run(s, r, l, 4), [5, 5, 5, 2]);
  const buf = l.slice();
  const r2 = row(s, params({ temperature: 0, min_new_tokens: 1, stop_token_ids: [3] }, V));
  s.sample(buf, [r2]);
  assert.equal(buf[2], -Infinity);
  assert.equal(buf[3], -Infinity);
  assert.equal(buf[5], 1);
});

test('grammar mask: only allowed tokens are sampled; mask before bias', () => {
  const V = 70; // three mask words, the last partial
  const s = new Sampler({ vocabSize: V, randomSeed: 5 });
  const mask = new Uint32Array(3);
  const allowed = [1, 33, 64, 69];
  for (const id of allowed) mask[id >> 5]! |= 1 << (id & 31);
  const l = new Float32Array(V).fill(0);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) seen.add(s.sample(l.slice(), [row(s, params({}, V), { grammarMask: mask })]).tokenIds[0]!);
  assert.deepEqual([...seen].sort((a, b) => a - b), allowed);
  // A bias added after the mask does not revive a masked token (-inf + 100 = -inf).
  const r = row(s, params({ temperature: 0, logit_bias: { '5': 100 } }, V), { grammarMask: mask });
  assert.ok(allowed.includes(run(s, r, l, 1)[0]!));
});

test('logprobs (sampling path): log_softmax(l / T) before filtering, top-N, token ids', () => {
  const V = 1000;
  const l = randomLogits(V, 31, 2);
  const T = 0.7;
  const s = new Sampler({ vocabSize: V, randomSeed: 1 });
  const r = row(s, params({ temperature: T, top_k: 20, top_p: 0.9 }, V), {
    returnLogprob: true,
    topLogprobsNum: 5,
    tokenIdsLogprob: [0, 999, 5000],
  });
  const ref = logSoftmax(l, 1 / T);
  const out = s.sample(l.slice(), [r]);
  const tok = out.tokenIds[0]!;
  assert.ok(Math.abs(out.logprobs[0]! - ref[tok]!) < 1e-9);
  const order = Array.from(ref.keys()).sort((a, b) => ref[b]! - ref[a]! || a - b).slice(0, 5);
  assert.deepEqual(out.topLogprobs[0]!.map((e) => e[1]), order);
  out.topLogprobs[0]!.forEach(([lp, id]) => assert.ok(Math.abs(lp! - ref[id]!) < 1e-9));
  const ids = out.tokenIdsLogprobs[0]!;
  assert.equal(ids.length, 3);
  assert.ok(Math.abs(ids[0]![0]! - ref[0]!) < 1e-9);
  assert.ok(Math.abs(ids[1]![0]! - ref[999]!) < 1e-9);
  assert.deepEqual(ids[2], [null, 5000]);
});

test('logprobs (greedy path): log_softmax of processed logits, no temperature', () => {
  const V = 300;
  const l = randomLogits(V, 41, 1);
  const s = new Sampler({ vocabSize: V });
  const r = row(s, params({ top_k: 1, temperature: 0.3, logit_bias: { '7': 1 } }, V), { returnLogprob: true, topLogprobsNum: 3 });
  const processed = l.slice();
  processed[7] = Math.fround(processed[7]! + 1);
  const ref = logSoftmax(processed);
  const out = s.sample(l.slice(), [r]);
  const tok = out.tokenIds[0]!;
  assert.equal(out.topLogprobs[0]![0]![1], tok, 'greedy: top-1 is the output token');
  assert.ok(Math.abs(out.logprobs[0]! - ref[tok]!) < 1e-9);
  out.topLogprobs[0]!.forEach(([lp, id]) => assert.ok(Math.abs(lp! - ref[id]!) < 1e-9));
});

test('logprobs: masked tokens give -inf (greedy) or the float32 minimum (sampling, as torch clamps)', () => {
  const V = 40;
  const l = new Float32Array(V).fill(0);
  const mask = new Uint32Array(2);
  mask[0] = 0b111;
  const s = new Sampler({ vocabSize: V, randomSeed: 1 });
  const g = s.sample(l.slice(), [row(s, params({ temperature: 0 }, V), { grammarMask: mask, tokenIdsLogprob: [0, 10] })]);
  assert.ok(Math.abs(g.tokenIdsLogprobs[0]![0]![0]! - Math.log(1 / 3)) < 1e-12);
  assert.equal(g.tokenIdsLogprobs[0]![1]![0], -Infinity);
  const r = s.sample(l.slice(), [row(s, params({}, V), { grammarMask: mask, tokenIdsLogprob: [10] })]);
  assert.equal(r.tokenIdsLogprobs[0]![0]![0], F32_LOWEST);
  assert.ok(r.tokenIds[0]! < 3);
  assert.ok(Number.isNaN(s.sample(l.slice(), [row(s, params({}, V))]).logprobs[0]!), 'NaN when not requested');
});

test('every token masked: returns without throwing', () => {
  const V = 64;
  const s = new Sampler({ vocabSize: V });
  const out = s.sample(new Float32Array(V), [row(s, params({}, V), { grammarMask: new Uint32Array(2) })]);
  assert.ok(out.tokenIds[0]! >= 0 && out.tokenIds[0]! < V);
});

test('rowLogprobs: plain log_softmax for input tokens', () => {
  const V = 100;
  const l = randomLogits(V, 51, 1);
  const buf = new Float32Array(2 * V);
  buf.set(l, V);
  const ref = logSoftmax(l);
  const res = rowLogprobs(buf, V, V, 42, 2, [3, -1]);
  assert.ok(Math.abs(res.logprob! - ref[42]!) < 1e-12);
  assert.equal(res.top!.length, 2);
  assert.ok(res.top![0]![0]! >= res.top![1]![0]!);
  assert.deepEqual(res.ids![1], [null, -1]);
  assert.equal(rowLogprobs(buf, V, V, -1).logprob, null);
});

test('throws when the logits buffer is too small', () => {
  const s = new Sampler({ vocabSize: 10 });
  const p = params({}, 10);
  assert.throws(() => s.sample(new Float32Array(15), [row(s, p), row(s, p)]), RangeError);
});

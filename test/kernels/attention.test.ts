/**
 * KV pool and paged attention: store/load round trips per dtype, and attention over several
 * requests with different cached prefixes and new lengths, GQA ratios 1, 2, 4, against a
 * dense f64 softmax reference over the KV values as stored (f16/bf16-rounded). Every ISA vs
 * scalar; thread counts 1 and 2. Tolerance 2e-5 absolute (|v| <= 1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertClose, ops, perIsa, randn, rng } from './helpers.js';

const { DType } = ops;

function shuffledSlots(n: number, numSlots: number, rand: () => number): Int32Array {
  const all = Int32Array.from({ length: numSlots - 1 }, (_, i) => i + 1); // slot 0 is padding
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.subarray(0, n);
}

test('storeKv / loadKv round trip per dtype', () => {
  const rand = rng(30);
  for (const dtype of [DType.F32, DType.F16, DType.BF16] as const) {
    const pool = ops.createKvPool(2, 40, 3, 17, dtype);
    const n = 11, slots = shuffledSlots(n, 40, rand);
    const k = randn(n * 3 * 17, rand), v = randn(n * 3 * 17, rand);
    const stored = (a: Float32Array) => {
      const b = new Uint8Array(a.length * (dtype === DType.F32 ? 4 : 2));
      ops.quantizeRows(b, a, 1, a.length, dtype);
      const f = new Float32Array(a.length);
      ops.dequantizeRows(f, b, 1, a.length, dtype);
      return f;
    };
    perIsa((isa) => {
      ops.storeKv(pool, 1, k, v, slots, n);
      const k2 = new Float32Array(k.length), v2 = new Float32Array(v.length);
      ops.loadKv(pool, 1, k2, v2, slots, n);
      assert.deepEqual(k2, stored(k), `${isa} ${ops.dtypeName(dtype)} k`);
      assert.deepEqual(v2, stored(v), `${isa} ${ops.dtypeName(dtype)} v`);
      ops.loadKv(pool, 0, k2, v2, slots, n);
      assert.ok(k2.every((e) => e === 0), 'other layer untouched');
    });
    ops.freeKvPool(pool);
  }
});

test('commitKvPool backs the first slots of every layer, keeps them zero, and stores still round trip', () => {
  const rand = rng(31);
  // 3 layers x 5000 slots x 2 heads x 64 f16 = 256 B per slot per layer, K and V.
  const pool = ops.createKvPool(3, 5000, 2, 64, DType.F16);
  assert.equal(ops.commitKvPool(pool, 4000), 3 * 2 * 4000 * 256);
  assert.equal(ops.commitKvPool(pool, 9000), 3 * 2 * 5000 * 256, 'clamped to the pool');
  assert.equal(ops.commitKvPool(pool, 0), 0);
  const slots = Int32Array.from([1, 2, 3999, 4000, 4999]), n = slots.length;
  const k = new Float32Array(n * 2 * 64).fill(1), v = new Float32Array(n * 2 * 64).fill(1);
  for (let layer = 0; layer < 3; layer++) {
    ops.loadKv(pool, layer, k, v, slots, n);
    assert.ok(k.every((e) => e === 0) && v.every((e) => e === 0), `layer ${layer} reads zero after commit`);
  }
  const k1 = randn(n * 2 * 64, rand).map((e) => Math.round(e * 8) / 8), v1 = randn(n * 2 * 64, rand).map((e) => Math.round(e * 8) / 8);
  ops.storeKv(pool, 2, k1, v1, slots, n);
  ops.loadKv(pool, 2, k, v, slots, n);
  assert.deepEqual([k, v], [k1, v1]);
  assert.throws(() => ops.commitKvPool(pool, -1), /numSlots must be an integer >= 0/);
  ops.freeKvPool(pool);
});

interface Req { prefix: number; qLen: number }

function runCase(dtype: ops.DTypeId, numKvHeads: number, group: number, hd: number, reqs: Req[], rand: () => number): void {
  const totalKvLen = reqs.reduce((n, r) => n + r.prefix + r.qLen, 0);
  const numHeads = numKvHeads * group, numSlots = Math.max(200, totalKvLen + 1), scale = 1 / Math.sqrt(hd);
  const pool = ops.createKvPool(1, numSlots, numKvHeads, hd, dtype);
  const qIndptr = new Int32Array(reqs.length + 1), kvIndptr = new Int32Array(reqs.length + 1);
  reqs.forEach((r, i) => {
    qIndptr[i + 1] = qIndptr[i]! + r.qLen;
    kvIndptr[i + 1] = kvIndptr[i]! + r.prefix + r.qLen;
  });
  const totalKv = kvIndptr[reqs.length]!, numTokens = qIndptr[reqs.length]!;
  const kvIndices = shuffledSlots(totalKv, numSlots, rand);
  const rowLen = numKvHeads * hd;
  ops.storeKv(pool, 0, randn(totalKv * rowLen, rand), randn(totalKv * rowLen, rand), kvIndices, totalKv);
  const K = new Float32Array(totalKv * rowLen), V = new Float32Array(totalKv * rowLen);
  ops.loadKv(pool, 0, K, V, kvIndices, totalKv); // dense copy of what is stored, [totalKv, kvHeads, hd]
  const q = randn(numTokens * numHeads * hd, rand);

  const ref = new Float64Array(q.length);
  reqs.forEach((r, ri) => {
    const kvLen = r.prefix + r.qLen;
    for (let j = 0; j < r.qLen; j++) {
      for (let h = 0; h < numHeads; h++) {
        const qo = ((qIndptr[ri]! + j) * numHeads + h) * hd, kh = Math.floor(h / group);
        const n = kvLen - r.qLen + j + 1, s = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const ko = ((kvIndptr[ri]! + i) * numKvHeads + kh) * hd;
          for (let d = 0; d < hd; d++) s[i]! += q[qo + d]! * K[ko + d]!;
          s[i]! *= scale;
        }
        const mx = Math.max(...s);
        let sum = 0;
        for (let i = 0; i < n; i++) sum += (s[i] = Math.exp(s[i]! - mx));
        for (let i = 0; i < n; i++) {
          const vo = ((kvIndptr[ri]! + i) * numKvHeads + kh) * hd;
          for (let d = 0; d < hd; d++) ref[qo + d]! += (s[i]! / sum) * V[vo + d]!;
        }
      }
    }
  });

  const saved = ops.getNumThreads();
  const what = `${ops.dtypeName(dtype)} kvHeads ${numKvHeads} group ${group} hd ${hd} reqs ${JSON.stringify(reqs)}`;
  const got = perIsa((isa) => {
    const outs = [1, 2].map((t) => {
      ops.setNumThreads(t);
      const out = new Float32Array(q.length);
      ops.attention(out, q, pool, 0, numHeads, reqs.length, qIndptr, kvIndptr, kvIndices, scale);
      return out;
    });
    assert.deepEqual(outs[1], outs[0], `${isa} threads 1 vs 2 ${what}`);
    return outs[0]!;
  });
  ops.setNumThreads(saved);
  for (const [isa, out] of got) {
    assertClose(out, ref, { atol: 2e-5 }, `${isa} ${what}`);
    assertClose(out, got.get('scalar')!, { atol: 2e-6 }, `${isa} vs scalar ${what}`);
  }
  ops.freeKvPool(pool);
}

test('attention: mixed prefill/decode batch, GQA 1/2/4, all KV dtypes', () => {
  const rand = rng(31);
  const reqs: Req[] = [{ prefix: 0, qLen: 5 }, { prefix: 7, qLen: 1 }, { prefix: 3, qLen: 4 }, { prefix: 20, qLen: 1 }, { prefix: 0, qLen: 1 }];
  for (const dtype of [DType.F32, DType.F16, DType.BF16] as const) {
    for (const group of [1, 2, 4]) runCase(dtype, 2, group, 16, reqs, rand);
  }
  runCase(DType.F32, 1, 4, 33, [{ prefix: 9, qLen: 3 }], rand);
  runCase(DType.F16, 3, 2, 100, [{ prefix: 1, qLen: 2 }, { prefix: 40, qLen: 17 }], rand);
  runCase(DType.BF16, 1, 1, 64, [{ prefix: 60, qLen: 1 }, { prefix: 0, qLen: 33 }], rand);
  // The AVX-512 blocked online-softmax path (head_dim 16/32/64/128/256): several 16-key
  // blocks, partial last blocks, GQA groups of 3 and 7 as in SmolLM2 and Qwen2.5.
  runCase(DType.F32, 3, 3, 64, [{ prefix: 0, qLen: 40 }, { prefix: 47, qLen: 1 }, { prefix: 16, qLen: 16 }], rand);
  runCase(DType.F16, 2, 7, 64, [{ prefix: 70, qLen: 1 }, { prefix: 5, qLen: 12 }], rand);
  runCase(DType.F32, 1, 2, 128, [{ prefix: 31, qLen: 2 }, { prefix: 0, qLen: 1 }], rand);
  runCase(DType.BF16, 1, 2, 32, [{ prefix: 17, qLen: 3 }], rand);
  // GQA group kernel: groups above its 8-heads-per-pass limit, odd groups split across
  // threads at decode (few work items), long prefill chunks of several kv heads.
  runCase(DType.F32, 1, 20, 16, [{ prefix: 33, qLen: 1 }, { prefix: 2, qLen: 19 }], rand);
  runCase(DType.F16, 2, 5, 256, [{ prefix: 45, qLen: 1 }], rand);
  runCase(DType.F32, 3, 3, 64, [{ prefix: 100, qLen: 1 }], rand);
  runCase(DType.BF16, 2, 9, 128, [{ prefix: 0, qLen: 37 }, { prefix: 64, qLen: 1 }], rand);
});

test('attention: blocked kernels (AVX-512 16-key / AVX2 8-key tiles), edges, all KV dtypes', () => {
  const rand = rng(32);
  // Decode batches: kv_len 1, tile remainders around 8 and 16, lengths that differ per request
  // (items claimed dynamically by the threads).
  const decode: Req[] = [0, 6, 7, 8, 14, 15, 16, 23, 31, 32, 47].map((prefix) => ({ prefix, qLen: 1 }));
  // Extend: new tokens over a cached prefix, the blocks' query sub-blocks and causal edges.
  const extend: Req[] = [{ prefix: 29, qLen: 21 }, { prefix: 8, qLen: 8 }, { prefix: 0, qLen: 17 }, { prefix: 16, qLen: 1 }];
  for (const dtype of [DType.F32, DType.F16, DType.BF16] as const) {
    for (const [group, hd] of [[1, 64], [2, 128], [3, 64], [4, 32], [5, 16], [6, 64], [7, 128]] as const) {
      runCase(dtype, 1 + (group % 2), group, hd, decode, rand);
    }
    runCase(dtype, 2, 3, 64, extend, rand);
    runCase(dtype, 1, 7, 128, extend, rand);
    runCase(dtype, 1, 5, 256, [{ prefix: 11, qLen: 9 }], rand);  // head_dim 256: 16 rows per block
  }
});

test('attention and KV pool argument errors', () => {
  const pool = ops.createKvPool(1, 4, 2, 8, DType.F32);
  const n = ops.native();
  const q = new Float32Array(4 * 8), out = new Float32Array(4 * 8);
  assert.throws(() => ops.attention(out, q, pool, 0, 3, 1, new Int32Array([0, 1]), new Int32Array([0, 1]), new Int32Array([1]), 1), /not a multiple of numKvHeads/);
  assert.throws(() => n.attention(out, q, pool.handle, 0, 4, 1, new Int32Array([0, 2]), new Int32Array([0, 1]), new Int32Array([1]), 1), /qLen 2 > kvLen 1/);
  assert.throws(() => n.attention(out, q, pool.handle, 0, 4, 1, new Int32Array([0, 1]), new Int32Array([0, 1]), new Int32Array([4]), 1), /kvIndices\[0\] = 4 is out of range \[0, 4\)/);
  assert.throws(() => n.attention(out, q, 999, 0, 4, 1, new Int32Array([0, 1]), new Int32Array([0, 1]), new Int32Array([1]), 1), /unknown KV pool handle 999/);
  assert.throws(() => n.storeKv(pool.handle, 1, q, q, new Int32Array([1]), 1), /layer must be an integer in \[0, 0\]/);
  assert.throws(() => ops.storeKv(pool, 0, q, q, new Int32Array([5]), 1), /outLoc\[0\] = 5 is out of range/);
  assert.throws(() => ops.createKvPool(1, 4, 2, 8, DType.Q8_0), /kvDtype must be F32, F16 or BF16/);
  ops.freeKvPool(pool);
  assert.throws(() => ops.freeKvPool(pool), /unknown KV pool handle/);
});

test('attention: an extend\'s queries equal the same queries run as decodes, bit for bit (blocks of many rows vs decode blocks), every ISA and KV dtype', () => {
  // An extend's blocks hold many (query, head) rows (tiles widened once, V shared by groups of
  // rows), a decode block one GQA group; each row's arithmetic must not depend on its block.
  const rand = rng(33);
  for (const dtype of [DType.F32, DType.F16, DType.BF16] as const) {
    for (const [numKvHeads, group, hd, prefix, qLen] of [[1, 1, 64, 40, 37], [2, 3, 64, 29, 35], [1, 7, 128, 18, 20], [1, 4, 32, 0, 33], [1, 2, 16, 50, 17], [1, 1, 256, 3, 18]] as const) {
      const numHeads = numKvHeads * group, kvLen = prefix + qLen, rowLen = numKvHeads * hd, scale = 1 / Math.sqrt(hd);
      const pool = ops.createKvPool(1, kvLen + 64, numKvHeads, hd, dtype);
      const slots = shuffledSlots(kvLen, kvLen + 64, rand);
      ops.storeKv(pool, 0, randn(kvLen * rowLen, rand), randn(kvLen * rowLen, rand), slots, kvLen);
      const q = randn(qLen * numHeads * hd, rand), qRow = numHeads * hd;
      const what = `${ops.dtypeName(dtype)} kvHeads ${numKvHeads} group ${group} hd ${hd} prefix ${prefix} qLen ${qLen}`;
      perIsa((isa) => {
        const ext = new Float32Array(q.length);
        ops.attention(ext, q, pool, 0, numHeads, 1, new Int32Array([0, qLen]), new Int32Array([0, kvLen]), slots, scale);
        for (let j = 0; j < qLen; j++) {
          const dec = new Float32Array(qRow);
          ops.attention(dec, q.subarray(j * qRow, (j + 1) * qRow), pool, 0, numHeads, 1, new Int32Array([0, 1]), new Int32Array([0, prefix + j + 1]), slots, scale);
          assert.deepEqual(dec, ext.subarray(j * qRow, (j + 1) * qRow), `${isa} ${what}: query ${j}`);
        }
      });
      ops.freeKvPool(pool);
    }
  }
});

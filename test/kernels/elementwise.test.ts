/**
 * Row-wise kernels (rmsNorm, addRmsNorm, addBias, rope, gluMul, gatherRows, argmaxRows):
 * scalar vs f64 TS references, every ISA vs scalar, odd shapes, argument errors.
 * Tolerances: rmsNorm 2e-6 relative + 1e-6; rope 1e-5 absolute (|x| <= 1, cos/sin of f32
 * angles); glu 1e-5 relative + 1e-6 (SIMD exp); exact for gather/bias/argmax.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertClose, assertEqualArrays, ops, perIsa, randn, rng } from './helpers.js';

const SHAPES: [number, number][] = [[1, 1], [3, 17], [5, 33], [2, 100], [7, 64], [1, 1000]];

test('rmsNorm and addRmsNorm', () => {
  const rand = rng(20);
  for (const [rows, dim] of SHAPES) {
    const x = randn(rows * dim, rand, 2), w = randn(dim, rand), r0 = randn(rows * dim, rand);
    const ref = new Float64Array(rows * dim), res = new Float64Array(rows * dim), refAdd = new Float64Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      let ss = 0, ss2 = 0;
      for (let i = 0; i < dim; i++) {
        ss += x[r * dim + i]! ** 2;
        res[r * dim + i] = Math.fround(r0[r * dim + i]! + x[r * dim + i]!);
        ss2 += res[r * dim + i]! ** 2;
      }
      for (let i = 0; i < dim; i++) {
        ref[r * dim + i] = (x[r * dim + i]! / Math.sqrt(ss / dim + 1e-6)) * w[i]!;
        refAdd[r * dim + i] = (res[r * dim + i]! / Math.sqrt(ss2 / dim + 1e-6)) * w[i]!;
      }
    }
    const got = perIsa(() => {
      const out = new Float32Array(rows * dim);
      ops.rmsNorm(out, x, w, rows, dim, 1e-6);
      const inPlace = x.slice();
      ops.rmsNorm(inPlace, inPlace, w, rows, dim, 1e-6);
      assert.deepEqual(inPlace, out, 'rmsNorm in place equals out of place');
      const resid = r0.slice(), out2 = new Float32Array(rows * dim);
      ops.addRmsNorm(resid, x, out2, w, rows, dim, 1e-6);
      assert.deepEqual(resid, Float32Array.from(res), 'residual += x');
      return { out, out2 };
    });
    for (const [isa, g] of got) {
      assertClose(g.out, ref, { rtol: 2e-6, atol: 1e-6 }, `${isa} rmsNorm [${rows}, ${dim}]`);
      assertClose(g.out2, refAdd, { rtol: 2e-6, atol: 1e-6 }, `${isa} addRmsNorm [${rows}, ${dim}]`);
    }
  }
  assert.throws(() => ops.rmsNorm(new Float32Array(3), new Float32Array(4), new Float32Array(2), 2, 2, 1e-5), /out has 3 elements, needs 4/);
  assert.throws(() => ops.native().rmsNorm(new Float32Array(4), new Float32Array(4), new Float32Array(1), 2, 2, 1e-5), /rmsNorm: w has 1 elements/);
});

test('addBias and gatherRows are exact', () => {
  const rand = rng(21);
  for (const [rows, n] of SHAPES) {
    const out0 = randn(rows * n, rand), bias = randn(n, rand);
    const idx = Int32Array.from({ length: rows + 2 }, () => Math.floor(rand() * rows));
    perIsa((isa) => {
      const out = out0.slice();
      ops.addBias(out, bias, rows, n);
      for (let i = 0; i < rows * n; i++) assert.equal(out[i], Math.fround(out0[i]! + bias[i % n]!), `${isa} addBias ${i}`);
      const g = new Float32Array(idx.length * n);
      ops.gatherRows(g, out0, idx, idx.length, n);
      idx.forEach((r, i) => assert.deepEqual(g.subarray(i * n, (i + 1) * n), out0.subarray(r * n, (r + 1) * n)));
    });
  }
  assert.throws(() => ops.gatherRows(new Float32Array(4), new Float32Array(4), new Int32Array([2]), 1, 2), /rowIdx\[0\] = 2 is out of range \[0, 2\)/);
});

test('rope: neox and interleaved, partial rotary dims', () => {
  const rand = rng(22);
  for (const [tokens, heads, hd, rot] of [[1, 1, 2, 2], [3, 2, 16, 16], [5, 3, 64, 32], [2, 4, 100, 100], [7, 1, 34, 18]] as const) {
    const x0 = randn(tokens * heads * hd, rand);
    const pos = Int32Array.from({ length: tokens }, () => Math.floor(rand() * 5000));
    const inv = Float32Array.from({ length: rot / 2 }, (_, i) => 10000 ** (-(2 * i) / rot));
    for (const neox of [true, false]) {
      const ref = Float64Array.from(x0);
      for (let t = 0; t < tokens; t++) {
        for (let h = 0; h < heads; h++) {
          const b = (t * heads + h) * hd;
          for (let i = 0; i < rot / 2; i++) {
            const ang = Math.fround(pos[t]! * inv[i]!);
            const [a, c] = neox ? [b + i, b + i + rot / 2] : [b + 2 * i, b + 2 * i + 1];
            ref[a] = x0[a]! * Math.cos(ang) - x0[c]! * Math.sin(ang);
            ref[c] = x0[a]! * Math.sin(ang) + x0[c]! * Math.cos(ang);
          }
        }
      }
      const got = perIsa(() => {
        const x = x0.slice();
        ops.rope(x, pos, tokens, heads, hd, inv, neox);
        return x;
      });
      for (const [isa, x] of got) {
        assertClose(x, ref, { atol: 1e-5 }, `${isa} rope neox=${neox} [${tokens}, ${heads}, ${hd}] rot ${rot}`);
        assertClose(x, got.get('scalar')!, { atol: 1e-6 }, `${isa} vs scalar rope`);
      }
    }
  }
  assert.throws(() => ops.rope(new Float32Array(8), new Int32Array(1), 1, 1, 8, new Float32Array(5), true), /exceed headDim/);
});

test('ropeQk with a ropeTable equals rope of q and of k, bit for bit (every ISA)', () => {
  const rand = rng(23);
  for (const [tokens, hq, hk, hd, rot] of [[1, 1, 1, 2, 2], [5, 9, 3, 64, 64], [3, 4, 2, 34, 18], [33, 2, 1, 16, 16]] as const) {
    const q0 = randn(tokens * hq * hd, rand), k0 = randn(tokens * hk * hd, rand);
    const pos = Int32Array.from({ length: tokens }, () => Math.floor(rand() * 5000));
    const inv = Float32Array.from({ length: rot / 2 }, (_, i) => 10000 ** (-(2 * i) / rot));
    for (const neox of [true, false]) {
      perIsa((isa) => {
        const what = `${isa} neox=${neox} [${tokens}, ${hq}/${hk}, ${hd}] rot ${rot}`;
        const q = q0.slice(), k = k0.slice(), qr = q0.slice(), kr = k0.slice();
        const table = new Float32Array(tokens * rot);
        ops.ropeTable(table, pos, tokens, inv);
        ops.ropeQk(q, k, table, tokens, hq, hk, hd, rot / 2, neox);
        ops.rope(qr, pos, tokens, hq, hd, inv, neox);
        ops.rope(kr, pos, tokens, hk, hd, inv, neox);
        assertEqualArrays(q, qr, `${what} q`);
        assertEqualArrays(k, kr, `${what} k`);
      });
    }
  }
  assert.throws(() => ops.ropeQk(new Float32Array(8), new Float32Array(8), new Float32Array(10), 1, 1, 1, 8, 5, true), /exceed headDim/);
});

test('gluMul: silu and gelu-tanh', () => {
  const rand = rng(23);
  for (const [rows, dim] of SHAPES) {
    const gu = randn(rows * 2 * dim, rand, 6);
    for (const act of [0, 1] as const) {
      const ref = new Float64Array(rows * dim);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < dim; i++) {
          const g = gu[r * 2 * dim + i]!, u = gu[r * 2 * dim + dim + i]!;
          const a = act === 0 ? g / (1 + Math.exp(-g)) : 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));
          ref[r * dim + i] = a * u;
        }
      }
      perIsa((isa) => {
        const out = new Float32Array(rows * dim);
        ops.gluMul(out, gu, rows, dim, act);
        assertClose(out, ref, { rtol: 1e-5, atol: 1e-6 }, `${isa} gluMul act=${act} [${rows}, ${dim}]`);
      });
    }
  }
  assert.throws(() => ops.native().gluMul(new Float32Array(2), new Float32Array(4), 1, 2, 2), /act must be an integer in \[0, 1\]/);
});

test('argmaxRows: lowest index on ties, NaN ignored', () => {
  const rand = rng(24);
  for (const [rows, n] of [...SHAPES, [3, 31], [2, 257]] as [number, number][]) {
    const x = Float32Array.from({ length: rows * n }, () => Math.floor(rand() * 7)); // many ties
    perIsa((isa) => {
      const out = new Int32Array(rows);
      ops.argmaxRows(out, x, rows, n);
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * n, (r + 1) * n));
        assert.equal(out[r], row.indexOf(Math.max(...row)), `${isa} argmax [${rows}, ${n}] row ${r}`);
      }
    });
  }
  const special = new Float32Array([NaN, -Infinity, -5, NaN, -5, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, 3, 3]);
  perIsa((isa) => {
    const out = new Int32Array(3);
    ops.argmaxRows(out, special, 1, 5);
    assert.equal(out[0], 2, `${isa} NaN skipped`);
    ops.argmaxRows(out, special.subarray(5), 1, 12);
    assert.equal(out[0], 0, `${isa} all NaN -> 0`);
    ops.argmaxRows(out, special, 1, 19);
    assert.equal(out[0], 17, `${isa} long row`);
  });
});

test('applyTokenBitmask: -inf exactly where the bit is 0; odd vocab, stride > words, rows; every ISA and threads 1/2', () => {
  const rand = rng(77);
  const saved = ops.getNumThreads();
  for (const [rows, vocab, extra] of [[1, 1, 0], [3, 31, 1], [2, 32, 0], [5, 33, 2], [17, 1000, 0], [2, 49157, 3]] as const) {
    const words = Math.ceil(vocab / 32), stride = words + extra;
    const mask = new Uint32Array(rows * stride);
    for (let i = 0; i < mask.length; i++) mask[i] = rand() < 0.2 ? 0 : rand() < 0.2 ? 0xffffffff : Math.floor(rand() * 2 ** 32);
    const logits = randn(rows * vocab, rand);
    const ref = Float32Array.from(logits);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < vocab; j++) if (!((mask[r * stride + (j >> 5)]! >>> (j & 31)) & 1)) ref[r * vocab + j] = -Infinity;
    }
    perIsa((isa) => {
      for (const threads of [1, 2]) {
        ops.setNumThreads(threads);
        const out = Float32Array.from(logits);
        const tail = new Float32Array(out.length + 5).fill(7);  // nothing past rows * vocab is written
        tail.set(out);
        ops.applyTokenBitmask(tail, rows, vocab, mask, stride);
        assert.deepEqual(tail.subarray(0, rows * vocab), ref, `${isa} rows=${rows} vocab=${vocab} threads=${threads}`);
        assert.deepEqual([...tail.subarray(rows * vocab)], [7, 7, 7, 7, 7], `${isa} wrote past the end`);
      }
    });
  }
  ops.setNumThreads(saved);
  assert.throws(() => ops.applyTokenBitmask(new Float32Array(64), 1, 64, new Uint32Array(1), 2), /mask has 1 elements, needs 2/);
  assert.throws(() => ops.applyTokenBitmask(new Float32Array(64), 1, 64, new Uint32Array(2), 1), /maskStride must be an integer >= 2/);
});

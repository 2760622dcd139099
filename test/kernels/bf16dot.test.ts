/**
 * The bf16 dot path (createWeight { bf16Dot }, TSGL_WEIGHT_BF16_DOT): a BF16 weight whose matmuls
 * round x to bf16 (nearest even) before the dot. Reference: the f64 dot of bf16(x) and w, whose
 * products are exact; each output may differ from it only by f32 accumulation
 * (1e-5 * sum |x_k w_k| + 1e-6, as the other matmul tests). Every ISA (vdpbf16ps under AVX-512
 * with AVX512_BF16, x rounded then the f32 kernel elsewhere), threads 1 and 2, odd shapes
 * (cols not a multiple of 32, stacked parts) and matmul3 bit for bit (batch independence: matmul.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertClose, bf16ToF32, ops, perIsa, randn, rng, toDtype } from './helpers.js';

const { DType } = ops;

/** bf16 value of f (nearest even; f32 denormals to signed zero, as vcvtne2ps2bf16). */
function roundBf16(f: number): number {
  const b = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  if ((b & 0x7f800000) === 0) return 0;
  const r = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  return bf16ToF32(r & 0xffff);
}

function reference(x: Float32Array, m: number, wb: Uint8Array, n: number, k: number) {
  const w = new Float64Array(n * k);
  const h = new Uint16Array(wb.buffer, wb.byteOffset, n * k);
  for (let i = 0; i < n * k; i++) w[i] = bf16ToF32(h[i]!);
  const out = new Float64Array(m * n), tol = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const xr = Array.from(x.subarray(i * k, (i + 1) * k), roundBf16);
    for (let j = 0; j < n; j++) {
      let s = 0, abs = 0;
      for (let t = 0; t < k; t++) {
        s += xr[t]! * w[j * k + t]!;
        abs += Math.abs(xr[t]! * w[j * k + t]!);
      }
      out[i * n + j] = s;
      tol[i * n + j] = 1e-5 * abs + 1e-6;
    }
  }
  return { out, tol };
}

test('bf16 dot: every ISA and thread count vs the f64 dot of bf16(x) and w; odd cols, stacked parts', () => {
  const rand = rng(41);
  const saved = ops.getNumThreads();
  for (const [m, parts, k] of [[1, [37], 96], [3, [5, 8], 70], [4, [64], 576], [5, [33], 1], [13, [16, 21], 200], [64, [7, 50, 11], 288]] as [number, number[], number][]) {
    const n = parts.reduce((a, b) => a + b, 0);
    const wf = randn(n * k, rand);
    const whole = toDtype(wf, n, k, DType.BF16);
    const bufs: Uint8Array[] = [];
    let row = 0;
    for (const r of parts) { bufs.push(whole.slice(row * k * 2, (row + r) * k * 2)); row += r; }
    const x = randn(m * k, rand);
    const { out: ref, tol } = reference(x, m, whole, n, k);
    const w = ops.createWeight(bufs, parts, k, DType.BF16, { bf16Dot: true });
    for (const threads of [1, 2]) {
      ops.setNumThreads(threads);
      perIsa((isa) => {
        const out = new Float32Array(m * n);
        ops.matmul(out, x, w, m);
        assertClose(out, ref, { perElem: tol }, `${isa} m=${m} parts=${parts.join('+')} k=${k} threads=${threads}`);
      });
    }
    ops.freeWeight(w);
  }
  ops.setNumThreads(saved);
});

test('bf16 dot: rounding x is what changes (the plain BF16 weight computes the exact f32 dot)', () => {
  // x chosen so bf16(x) != x: 1 + 2^-12 rounds to 1; the plain weight keeps the 2^-12.
  const k = 64, n = 4;
  const x = new Float32Array(k).fill(1 + 2 ** -12);
  const wb = toDtype(new Float32Array(n * k).fill(1), n, k, DType.BF16);
  const dot = ops.createWeight([wb], [n], k, DType.BF16, { bf16Dot: true }), plain = ops.createWeight([wb], [n], k, DType.BF16);
  perIsa((isa) => {
    const a = new Float32Array(n), b = new Float32Array(n);
    ops.matmul(a, x, dot, 1);
    ops.matmul(b, x, plain, 1);
    assert.deepEqual(Array.from(a), [64, 64, 64, 64], `${isa} bf16 dot`);
    assert.deepEqual(Array.from(b), Array(4).fill(64 * (1 + 2 ** -12)), `${isa} f32 dot`);
  });
  ops.freeWeight(dot);
  ops.freeWeight(plain);
});

test('bf16 dot: matmul3 (one x, three weights in one pool job) equals three matmuls, bit for bit, every ISA', () => {
  // Batch independence (m 1 / 4 / 5 vs 13) is checked with the other dtypes in matmul.test.ts.
  const rand = rng(43);
  const k = 160, n = 37;
  const w = ops.createWeight([toDtype(randn(n * k, rand), n, k, DType.BF16)], [n], k, DType.BF16, { bf16Dot: true });
  const w2 = ops.createWeight([toDtype(randn(9 * k, rand), 9, k, DType.BF16)], [9], k, DType.BF16, { bf16Dot: true });
  const x = randn(13 * k, rand);
  perIsa((isa) => {
    for (const m of [1, 4, 5, 13]) {
      const xs = x.subarray(0, m * k);
      const a = new Float32Array(m * n), b = new Float32Array(m * 9), c = new Float32Array(m * n);
      const a1 = new Float32Array(m * n), b1 = new Float32Array(m * 9);
      ops.matmul3(a, b, c, xs, w, w2, w, m);
      ops.matmul(a1, xs, w, m);
      ops.matmul(b1, xs, w2, m);
      assert.deepEqual([a, b, c], [a1, b1, a1], `${isa} matmul3 m=${m}`);
    }
  });
  ops.freeWeight(w);
  ops.freeWeight(w2);
});

test('bf16 dot: refused for other dtypes', () => {
  const wb = toDtype(new Float32Array(4 * 32), 4, 32, DType.F16);
  assert.throws(() => ops.createWeight([wb], [4], 32, DType.F16, { bf16Dot: true }), /bf16Dot needs a BF16 weight/);
});

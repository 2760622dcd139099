/**
 * dtype tests: rowBytes, f16/bf16 rounding (exhaustive round trips, ties to even), Q8_0 and
 * Q4_0 quantizers against hand-computed blocks and the ggml formulas, and dequantizeRows of
 * all seven dtypes against the TS reference dequantizers, under every ISA.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertClose, assertEqualArrays, bf16ToF32, dequantRef, f16ToF32, ops, perIsa, randn, randomQuantRows, rng,
} from './helpers.js';

const { DType } = ops;

test('rowBytes follows GGML block sizes', () => {
  assert.equal(ops.rowBytes(DType.F32, 7), 28);
  assert.equal(ops.rowBytes(DType.F16, 7), 14);
  assert.equal(ops.rowBytes(DType.BF16, 3), 6);
  assert.equal(ops.rowBytes(DType.Q8_0, 64), 68);
  assert.equal(ops.rowBytes(DType.Q4_0, 96), 54);
  assert.equal(ops.rowBytes(DType.Q4_K, 512), 288);
  assert.equal(ops.rowBytes(DType.Q6_K, 256), 210);
  assert.throws(() => ops.rowBytes(DType.Q8_0, 33), /multiple of 32/);
  assert.throws(() => ops.native().rowBytes(DType.Q4_K, 128), /rowBytes: cols 128 is not a multiple of the block size 256/);
  assert.throws(() => ops.native().rowBytes(7 as ops.DTypeId, 32), /not a supported GGML type id/);
});

test('f16: every finite half round-trips, ties round to even, overflow and underflow', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const vals = new Float32Array(65536);
  ops.dequantizeRows(vals, new Uint8Array(all.buffer), 1, 65536, DType.F16);
  for (let h = 0; h < 65536; h += 97) {
    const exp = (h >> 10) & 31;
    if (exp !== 31 || (h & 0x3ff) === 0) assert.ok(Object.is(vals[h], f16ToF32(h)), `f16 ${h}`);
  }
  const back = new Uint16Array(65536);
  ops.quantizeRows(new Uint8Array(back.buffer), vals, 1, 65536, DType.F16);
  for (let h = 0; h < 65536; h++) {
    if (((h >> 10) & 31) === 31 && (h & 0x3ff) !== 0) assert.ok(Number.isNaN(f16ToF32(back[h]!)), `NaN ${h}`);
    else if (back[h] !== h) assert.fail(`f16 round trip of 0x${h.toString(16)} gave 0x${back[h]!.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1, 0x3c00], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02], [-2, 0xc000], [2 ** -14, 0x0400], [1.5 * 2 ** -24, 0x0002], [2.5 * 2 ** -24, 0x0002],
  ];
  const src = new Float32Array(cases.map((c) => c[0]));
  const out = new Uint16Array(cases.length);
  ops.quantizeRows(new Uint8Array(out.buffer), src, 1, cases.length, DType.F16);
  cases.forEach(([v, h], i) => assert.equal(out[i], h, `f16(${v})`));
});

test('bf16: round to nearest even, NaN stays NaN', () => {
  const cases: [number, number][] = [
    [1, 0x3f80], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81], [-0, 0x8000],
  ];
  const src = new Float32Array([...cases.map((c) => c[0]), NaN]);
  const out = new Uint16Array(src.length);
  ops.quantizeRows(new Uint8Array(out.buffer), src, 1, src.length, DType.BF16);
  cases.forEach(([v, h], i) => assert.equal(out[i], h, `bf16(${v})`));
  assert.ok(Number.isNaN(bf16ToF32(out[cases.length]!)));
});

test('Q8_0 quantizer: hand-computed block', () => {
  const x = new Float32Array(32);
  x[5] = 127;
  x[6] = -63.5; // rounds half away from zero -> -64
  x[7] = 0.49;
  const dst = new Uint8Array(34);
  ops.quantizeRows(dst, x, 1, 32, DType.Q8_0);
  assert.deepEqual([dst[0], dst[1]], [0x00, 0x3c]); // d = 1.0
  const qs = new Int8Array(dst.buffer, 2, 32);
  const expected = new Int8Array(32);
  expected[5] = 127;
  expected[6] = -64;
  assertEqualArrays(qs, expected, 'qs');
});

test('Q4_0 quantizer: hand-computed block (d = signed max / -8)', () => {
  const x = new Float32Array(32);
  x[3] = -8;
  x[20] = 4;
  x[31] = 7.9;
  const dst = new Uint8Array(18);
  ops.quantizeRows(dst, x, 1, 32, DType.Q4_0);
  assert.deepEqual([dst[0], dst[1]], [0x00, 0x3c]); // d = -8 / -8 = 1
  const expected = new Uint8Array(16).fill(0x88);
  expected[3] = 0x80; // low nibble (-8)/1 + 8.5 -> 0; high nibble x[19]=0 -> 8
  expected[4] = 0xc8; // high nibble x[20]: 4 + 8.5 -> 12
  expected[15] = 0xf8; // high nibble x[31]: 7.9 + 8.5 = 16.4 -> clamped to 15
  assertEqualArrays(dst.subarray(2), expected, 'qs');
});

test('Q8_0 / Q4_0 round trips stay within half a step of the block scale', () => {
  const rand = rng(1);
  for (const dtype of [DType.Q8_0, DType.Q4_0] as const) {
    for (const [rows, cols] of [[1, 32], [3, 64], [5, 160]] as const) {
      const x = randn(rows * cols, rand, 3);
      const q = new Uint8Array(rows * ops.rowBytes(dtype, cols));
      ops.quantizeRows(q, x, rows, cols, dtype);
      const y = new Float32Array(rows * cols);
      ops.dequantizeRows(y, q, rows, cols, dtype);
      for (let b = 0; b < (rows * cols) / 32; b++) {
        const blk = x.subarray(32 * b, 32 * b + 32);
        const amax = Math.max(...Array.from(blk, Math.abs));
        const step = dtype === DType.Q8_0 ? amax / 127 : amax / 8;
        // half a step, plus the fp16 rounding of d (relative 2^-11) times |q| * d <= amax
        // (Q4_0: a full step where the opposite sign of the max clamps at q = 15)
        const tol = new Float32Array(32).fill(step * (dtype === DType.Q8_0 ? 0.5 : 1) + amax * 2 ** -10 + 1e-7);
        assertClose(y.subarray(32 * b, 32 * b + 32), blk, { perElem: tol }, `${ops.dtypeName(dtype)} block ${b}`);
      }
      assertClose(y, dequantRef(q, rows, cols, dtype), {}, `${ops.dtypeName(dtype)} ref dequant`);
    }
  }
});

test('dequantizeRows matches the TS reference for all dtypes under every ISA', () => {
  const rand = rng(2);
  const shapes: Record<number, [number, number][]> = {
    [DType.F32]: [[3, 17], [1, 100]], [DType.F16]: [[3, 17], [2, 100]], [DType.BF16]: [[3, 33], [1, 7]],
    [DType.Q8_0]: [[3, 32], [2, 96]], [DType.Q4_0]: [[3, 64], [1, 32]],
    [DType.Q4_K]: [[3, 256], [2, 512]], [DType.Q6_K]: [[3, 256], [1, 768]],
  };
  for (const [dt, list] of Object.entries(shapes)) {
    const dtype = Number(dt) as ops.DTypeId;
    for (const [rows, cols] of list) {
      const bytes = dtype === DType.F32 || dtype === DType.F16 || dtype === DType.BF16
        ? (() => { const x = randn(rows * cols, rand, 4); const b = new Uint8Array(rows * ops.rowBytes(dtype, cols)); ops.quantizeRows(b, x, rows, cols, dtype); return b; })()
        : randomQuantRows(rows, cols, dtype, rand);
      const ref = dequantRef(bytes, rows, cols, dtype);
      perIsa((isa) => {
        const out = new Float32Array(rows * cols);
        ops.dequantizeRows(out, bytes, rows, cols, dtype);
        assertEqualArrays(out, ref, `${isa} ${ops.dtypeName(dtype)} [${rows}, ${cols}]`);
      });
    }
  }
});

test('quantizeRows / dequantizeRows reject bad arguments', () => {
  assert.throws(() => ops.quantizeRows(new Uint8Array(10), new Float32Array(32), 1, 32, DType.Q8_0), /dst has 10 elements, needs 34/);
  assert.throws(() => ops.native().quantizeRows(new Uint8Array(1000), new Float32Array(256), 1, 256, DType.Q4_K), /cannot be produced/);
  assert.throws(() => ops.native().dequantizeRows(new Float32Array(31), new Uint8Array(34), 1, 32, DType.Q8_0), /dst has 31 elements/);
  assert.throws(() => ops.native().dequantizeRows(new Float32Array(32), new Float32Array(34) as unknown as Uint8Array, 1, 32, DType.Q8_0), /src must be a Uint8Array/);
});

/**
 * Legacy GGML blocks rewritten at load (src/model/ggml-legacy.ts), checked against blocks packed
 * here straight from the GGML block layout: Q5_0 → Q8_0 keeps every value d * (q - 16) bit for
 * bit (read back through the addon's Q8_0 dequantization); Q5_1 / Q4_1 → f32 d * q + m; the
 * Q5_0 quantizer round-trips to within half a step and keeps all-zero blocks zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { GGML_Q4_1, GGML_Q5_0, GGML_Q5_1, halfToFloat, legacyTarget, quantizeQ5_0, rewriteLegacy } from '../../src/model/ggml-legacy.js';

/** Packs 32 values q (0..31, or 0..15 for Q4_1) into the GGML block layout with the given header. */
function packBlock(header: number[], q: number[], fiveBit: boolean): number[] {
  const qs = Array.from({ length: 16 }, (_, j) => (q[j]! & 0xf) | ((q[j + 16]! & 0xf) << 4));
  if (!fiveBit) return [...header, ...qs];
  let qh = 0;
  for (let j = 0; j < 16; j++) qh |= ((q[j]! >> 4) << j) | ((q[j + 16]! >> 4) << (j + 16));
  qh >>>= 0;
  return [...header, qh & 0xff, (qh >>> 8) & 0xff, (qh >>> 16) & 0xff, qh >>> 24, ...qs];
}

const half = (bits: number): number[] => [bits & 0xff, bits >> 8];
const values = (seed: number, max: number): number[] => Array.from({ length: 32 }, (_, j) => (j * 7 + seed * 13) % (max + 1));

test('halfToFloat: normal, negative, subnormal, largest, zero', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0000), 0);
  assert.equal(halfToFloat(0x7c00), Infinity);
});

test('Q5_0 → Q8_0 keeps d * (q - 16) exactly, 5th bits of both halves included', () => {
  const scales = [0x3555, 0xb800, 0x2e66]; // 0.333..., -0.5, 0.0999...
  const qs = scales.map((_, b) => values(b, 31));
  qs[0]![0] = 31; qs[0]![16] = 16; qs[1]![15] = 0; qs[1]![31] = 31; // edges in both halves
  const src = Uint8Array.from(scales.flatMap((d, b) => packBlock(half(d), qs[b]!, true)));
  assert.equal(legacyTarget(GGML_Q5_0), DType.Q8_0);
  const q8 = rewriteLegacy(GGML_Q5_0, src, 96);
  const out = new Float32Array(96);
  ops.dequantizeRows(out, q8, 1, 96, DType.Q8_0);
  const want = scales.flatMap((d, b) => qs[b]!.map((q) => Math.fround(halfToFloat(d) * (q - 16))));
  assert.deepEqual([...out], want);
});

test('Q5_1 and Q4_1 → f32 rows of d * q + m', () => {
  const d = 0x3400, m = 0xbc00; // 0.25, -1
  for (const [type, fiveBit, max] of [[GGML_Q5_1, true, 31], [GGML_Q4_1, false, 15]] as const) {
    const q = values(3, max);
    const src = Uint8Array.from(packBlock([...half(d), ...half(m)], q, fiveBit));
    assert.equal(legacyTarget(type), DType.F32);
    const out = new Float32Array(rewriteLegacy(type, src, 32).buffer);
    assert.deepEqual([...out], q.map((v) => 0.25 * v - 1), `type ${type}`);
  }
});

test('quantizeQ5_0: within half a step of the input, zero blocks stay zero, wrong sizes throw', () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? Math.sin(i * 1.7) * 3 : 0));
  x[5] = -4; // largest magnitude of block 0: d = -4 / -16 = 0.25
  const q5 = quantizeQ5_0(x);
  assert.equal(q5.byteLength, 44);
  const out = new Float32Array(64);
  ops.dequantizeRows(out, rewriteLegacy(GGML_Q5_0, q5, 64), 1, 64, DType.Q8_0);
  for (let i = 0; i < 32; i++) assert.ok(Math.abs(out[i]! - x[i]!) <= 0.125 + 1e-6, `value ${i}: ${out[i]} vs ${x[i]}`);
  assert.equal(out[5], -4);
  assert.ok(out.subarray(32).every((v) => v === 0));
  assert.throws(() => quantizeQ5_0(new Float32Array(31)), /whole number of 32-blocks/);
  assert.throws(() => rewriteLegacy(GGML_Q5_0, new Uint8Array(21), 32), /needs 22 bytes/);
  assert.equal(legacyTarget(DType.Q8_0), null);
});

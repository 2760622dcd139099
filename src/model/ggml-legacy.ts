/**
 * GGML block formats tsgl has no kernels for, rewritten at load into formats it computes with.
 * They come from llama.cpp's k-quant mixes: a Q4_K_M / Q5_K_M file stores every matrix whose
 * row length is not a multiple of 256 (SmolLM2's 576, Qwen2.5-0.5B's 896) as Q5_0 / Q5_1.
 *
 *   Q5_0 block (22 bytes, 32 values): f16 d | u32 qh (bit j = 5th bit of value j) | 16 bytes of
 *        nibbles (low nibble = value j, high nibble = value j + 16); value = d * (q - 16)
 *   Q5_1 block (24 bytes): f16 d | f16 m | u32 qh | 16 bytes of nibbles; value = d * q + m
 *   Q4_1 block (20 bytes): f16 d | f16 m | 16 bytes of nibbles; value = d * q + m
 *
 * Invariants:
 * - Q5_0 → Q8_0 is lossless: the same f16 scale and q - 16 in [-16, 15] as the int8, so every
 *   dequantized value is bit-identical and the int8 (VNNI) paths apply (34 bytes per block
 *   instead of 22).
 * - quantizeQ5_0 is GGML's reference quantizer (quantize_row_q5_0_ref), for `tsgl convert`.
 * - Q5_1 / Q4_1 (an offset per block, which no int8 scheme here carries) → F32 rows holding
 *   fround(fround(d * q) + m), GGML's reference dequantization without a fused multiply-add.
 */
import { DType, type DTypeId } from '../native/binding.js';
import * as ops from '../native/ops.js';

/** GGML type ids of the formats rewritten here. */
export const GGML_Q4_1 = 3;
export const GGML_Q5_0 = 6;
export const GGML_Q5_1 = 7;

/** The dtype a legacy format is rewritten into, or null when `dtype` is not one of them. */
export function legacyTarget(dtype: number): DTypeId | null {
  if (dtype === GGML_Q5_0) return DType.Q8_0;
  if (dtype === GGML_Q5_1 || dtype === GGML_Q4_1) return DType.F32;
  return null;
}

/** Rewrites `numElements` values of a legacy format into `legacyTarget(dtype)` bytes. */
export function rewriteLegacy(dtype: number, src: Uint8Array, numElements: number): Uint8Array {
  if (numElements % 32 !== 0) throw new Error(`rewriteLegacy: ${numElements} values is not a whole number of 32-blocks`);
  const numBlocks = numElements / 32;
  const need = numBlocks * (dtype === GGML_Q5_0 ? 22 : dtype === GGML_Q5_1 ? 24 : 20);
  if (src.byteLength !== need) throw new Error(`rewriteLegacy: type ${dtype} needs ${need} bytes for ${numElements} values, got ${src.byteLength}`);
  if (dtype === GGML_Q5_0) return q5_0ToQ8_0(src, numBlocks);
  if (dtype === GGML_Q5_1 || dtype === GGML_Q4_1) return new Uint8Array(offsetBlocksToF32(src, numBlocks, dtype === GGML_Q5_1).buffer);
  throw new Error(`rewriteLegacy: GGML type ${dtype} is not a legacy format`);
}

/** Value j of a block (j < 16): low nibble of byte j, 5th bit from bit j of qh (0 for 4-bit blocks). */
function lowValue(byte: number, qh: number, j: number): number {
  return (byte & 0x0f) | (((qh >>> j) & 1) << 4);
}

/** Value j + 16: high nibble of byte j, 5th bit from bit j + 16 of qh. */
function highValue(byte: number, qh: number, j: number): number {
  return (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
}

function q5_0ToQ8_0(src: Uint8Array, numBlocks: number): Uint8Array {
  const out = new Uint8Array(numBlocks * 34);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < numBlocks; b++) {
    const s = b * 22, o = b * 34;
    out[o] = src[s]!; // f16 d, unchanged
    out[o + 1] = src[s + 1]!;
    const qh = view.getUint32(s + 2, true);
    for (let j = 0; j < 16; j++) {
      const byte = src[s + 6 + j]!;
      out[o + 2 + j] = (lowValue(byte, qh, j) - 16) & 0xff; // int8 as its two's-complement byte
      out[o + 2 + j + 16] = (highValue(byte, qh, j) - 16) & 0xff;
    }
  }
  return out;
}

function offsetBlocksToF32(src: Uint8Array, numBlocks: number, fiveBit: boolean): Float32Array {
  const out = new Float32Array(numBlocks * 32);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const blockBytes = fiveBit ? 24 : 20, qsAt = fiveBit ? 8 : 4;
  for (let b = 0; b < numBlocks; b++) {
    const s = b * blockBytes;
    const d = halfToFloat(view.getUint16(s, true)), m = halfToFloat(view.getUint16(s + 2, true));
    const qh = fiveBit ? view.getUint32(s + 4, true) : 0;
    for (let j = 0; j < 16; j++) {
      const byte = src[s + qsAt + j]!;
      out[b * 32 + j] = Math.fround(Math.fround(d * lowValue(byte, qh, j)) + m);
      out[b * 32 + j + 16] = Math.fround(Math.fround(d * highValue(byte, qh, j)) + m);
    }
  }
  return out;
}

/**
 * f32 rows → Q5_0 blocks as GGML's reference quantizer does: per block, d = (value of largest
 * magnitude) / -16, q = min(31, trunc(x / d + 16.5)), d stored as f16. `numElements` % 32 == 0.
 */
export function quantizeQ5_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new Error(`quantizeQ5_0: ${x.length} values is not a whole number of 32-blocks`);
  const numBlocks = x.length / 32;
  const scales = new Float32Array(numBlocks);
  for (let b = 0; b < numBlocks; b++) {
    let amax = 0, max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
    }
    scales[b] = Math.fround(max / -16);
  }
  const halves = new Uint8Array(numBlocks * 2);
  ops.quantizeRows(halves, scales, 1, numBlocks, DType.F16);
  const out = new Uint8Array(numBlocks * 22);
  const view = new DataView(out.buffer);
  for (let b = 0; b < numBlocks; b++) {
    const d = scales[b]!, id = d !== 0 ? Math.fround(1 / d) : 0, o = b * 22;
    out[o] = halves[2 * b]!;
    out[o + 1] = halves[2 * b + 1]!;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(Math.fround(Math.fround(x[b * 32 + j]! * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(Math.fround(Math.fround(x[b * 32 + 16 + j]! * id) + 16.5)));
      out[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + 16);
    }
    view.setUint32(o + 2, qh >>> 0, true);
  }
  return out;
}

/** IEEE half (bits) → its exact float value. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

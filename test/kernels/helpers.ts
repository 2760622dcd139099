/**
 * Shared helpers for the kernel tests: a seeded RNG, plain TypeScript reference
 * implementations (computed in f64 unless a step is f32 by contract, emulated with
 * Math.fround), and tolerance assertions that report the first mismatch.
 */
import assert from 'node:assert/strict';

import * as ops from '../../src/native/ops.js';

export { ops };

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export function randBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** ISAs this CPU can run, scalar first. */
export function isas(): ops.IsaName[] {
  return ops.cpuInfo().supportedIsas;
}

/** Runs fn under each ISA (restoring the original) and returns the results by ISA. */
export function perIsa<T>(fn: (isa: ops.IsaName) => T): Map<ops.IsaName, T> {
  const saved = ops.getIsa();
  const out = new Map<ops.IsaName, T>();
  try {
    for (const isa of isas()) {
      ops.setIsa(isa);
      out.set(isa, fn(isa));
    }
  } finally {
    ops.setIsa(saved);
  }
  return out;
}

/** |a - b| <= atol + rtol * |b| elementwise (b is the reference), or per-element tolerance. */
export function assertClose(
  a: ArrayLike<number>, b: ArrayLike<number>, tol: { atol?: number; rtol?: number; perElem?: ArrayLike<number> }, what: string,
): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  const atol = tol.atol ?? 0, rtol = tol.rtol ?? 0;
  for (let i = 0; i < a.length; i++) {
    const lim = atol + rtol * Math.abs(b[i]!) + (tol.perElem ? tol.perElem[i]! : 0);
    const ok = Math.abs(a[i]! - b[i]!) <= lim || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!));
    if (!ok) assert.fail(`${what}: element ${i}: got ${a[i]}, expected ${b[i]} (tolerance ${lim})`);
  }
}

export function assertEqualArrays(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) {
      assert.fail(`${what}: element ${i}: ${a[i]} !== ${b[i]}`);
    }
  }
}

// --- f16 / bf16 (independent TS implementations) ---

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16ToF32(h: number): number {
  u32buf[0] = h << 16;
  return f32buf[0]!;
}

// --- reference dequantizers (from the GGML layouts) ---

export function dequantRef(bytes: Uint8Array, rows: number, cols: number, dtype: ops.DTypeId): Float32Array {
  const out = new Float32Array(rows * cols);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rb = ops.rowBytes(dtype, cols);
  const h = (o: number) => f16ToF32(dv.getUint16(o, true));
  const f = Math.fround;
  for (let r = 0; r < rows; r++) {
    const base = r * rb, y = r * cols;
    for (let b = 0; b < cols / ops.blockSize(dtype); b++) {
      switch (dtype) {
        case ops.DType.F32: out[y + b] = dv.getFloat32(base + 4 * b, true); break;
        case ops.DType.F16: out[y + b] = h(base + 2 * b); break;
        case ops.DType.BF16: out[y + b] = bf16ToF32(dv.getUint16(base + 2 * b, true)); break;
        case ops.DType.Q8_0: {
          const o = base + 34 * b, d = h(o);
          for (let j = 0; j < 32; j++) out[y + 32 * b + j] = f(dv.getInt8(o + 2 + j) * d);
          break;
        }
        case ops.DType.Q4_0: {
          const o = base + 18 * b, d = h(o);
          for (let j = 0; j < 32; j++) {
            const byte = bytes[o + 2 + (j % 16)]!;
            const q = j < 16 ? byte & 15 : byte >> 4;
            out[y + 32 * b + j] = f((q - 8) * d);
          }
          break;
        }
        case ops.DType.Q4_K: dequantKQuant(bytes, base + 144 * b, out, y + 256 * b, dtype); break;
        case ops.DType.Q6_K: dequantKQuant(bytes, base + 210 * b, out, y + 256 * b, dtype); break;
      }
    }
  }
  return out;
}

/**
 * A K-quant super-block's integers and scales, decoded from the GGML layout:
 *   Q4_K: q (0..15) of 256 values, per 32-value sub-block scale fround(d * sc) and min
 *         fround(dmin * m); value = fround(fround(scale * q) - min).
 *   Q6_K: q - 32 (-32..31), per 16-value sub-block scale fround(d * sc) (sc int8), min 0;
 *         value = fround(scale * (q - 32)).
 */
export function kquantBlock(b: Uint8Array, o: number, dtype: ops.DTypeId): { q: Int32Array; scale: Float64Array; min: Float64Array; sub: number } {
  const dv = new DataView(b.buffer, b.byteOffset);
  const f = Math.fround, q = new Int32Array(256);
  if (dtype === ops.DType.Q4_K) {
    // d, dmin (f16), 12 bytes of 6-bit (scale, min) x 8, 128 bytes of nibbles. Sub-block s
    // (32 elements) uses nibbles of qs[32*floor(s/2) ..], low if s even else high.
    const d = f16ToF32(dv.getUint16(o, true)), dmin = f16ToF32(dv.getUint16(o + 2, true));
    const sc = b.subarray(o + 4, o + 16), qs = b.subarray(o + 16, o + 144);
    const scale = new Float64Array(8), min = new Float64Array(8);
    for (let s = 0; s < 8; s++) {
      scale[s] = f(d * (s < 4 ? sc[s]! & 63 : (sc[s + 4]! & 15) | ((sc[s - 4]! >> 6) << 4)));
      min[s] = f(dmin * (s < 4 ? sc[s + 4]! & 63 : (sc[s + 4]! >> 4) | ((sc[s]! >> 6) << 4)));
      for (let l = 0; l < 32; l++) {
        const byte = qs[32 * (s >> 1) + l]!;
        q[32 * s + l] = s % 2 === 0 ? byte & 15 : byte >> 4;
      }
    }
    return { q, scale, min, sub: 32 };
  }
  // Q6_K: ql[128], qh[64], scales int8[16], d (f16). Element e in half h (128 each), lane
  // l = e % 32, quarter k = (e % 128) / 32: low nibble of ql[64h + l + 32(k%2)] (k<2) or high
  // (k>=2); 2 high bits from qh[32h + l] >> 2k; scale index 8h + floor(l/16) + 2k = e / 16.
  const d = f16ToF32(dv.getUint16(o + 208, true));
  const scale = new Float64Array(16);
  for (let t = 0; t < 16; t++) scale[t] = f(d * dv.getInt8(o + 192 + t));
  for (let e = 0; e < 256; e++) {
    const h = e >> 7, k = (e & 127) >> 5, l = e & 31;
    const qlb = b[o + 64 * h + l + 32 * (k & 1)]!;
    const lo = k < 2 ? qlb & 15 : qlb >> 4;
    const hi = (b[o + 128 + 32 * h + l]! >> (2 * k)) & 3;
    q[e] = (lo | (hi << 4)) - 32;
  }
  return { q, scale, min: new Float64Array(16), sub: 16 };
}

function dequantKQuant(b: Uint8Array, o: number, out: Float32Array, y: number, dtype: ops.DTypeId): void {
  const { q, scale, min, sub } = kquantBlock(b, o, dtype);
  const f = Math.fround;
  for (let e = 0; e < 256; e++) out[y + e] = f(f(scale[e / sub | 0]! * q[e]!) - min[e / sub | 0]!);
}

/** Random but valid-scaled blocks: every fp16 scale field set to a small finite value. */
export function randomQuantRows(rows: number, cols: number, dtype: ops.DTypeId, rand: () => number): Uint8Array {
  const rb = ops.rowBytes(dtype, cols);
  const bytes = randBytes(rows * rb, rand);
  const dv = new DataView(bytes.buffer);
  const half = () => 0x2000 + Math.floor(rand() * 0x1000); // ~2^-7 .. 2^-6, positive
  const bs = ops.blockSize(dtype);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < cols / bs; b++) {
      switch (dtype) {
        case ops.DType.Q8_0: dv.setUint16(r * rb + 34 * b, half(), true); break;
        case ops.DType.Q4_0: dv.setUint16(r * rb + 18 * b, half(), true); break;
        case ops.DType.Q4_K: {
          const o = r * rb + 144 * b;
          dv.setUint16(o, half(), true);
          dv.setUint16(o + 2, half(), true);
          break;
        }
        case ops.DType.Q6_K: dv.setUint16(r * rb + 210 * b + 208, half(), true); break;
        default: break;
      }
    }
  }
  return bytes;
}

/** Bytes of rows of f32 values in a float dtype (F32, F16, BF16) via the native quantizer. */
export function toDtype(x: Float32Array, rows: number, cols: number, dtype: ops.DTypeId): Uint8Array {
  const dst = new Uint8Array(rows * ops.rowBytes(dtype, cols));
  ops.quantizeRows(dst, x, rows, cols, dtype);
  return dst;
}

// --- reference activation quantization (llama.cpp Q8_0 semantics, f32 emulated) ---

/** Quantizes x (length multiple of 32) to {d (fp16-rounded), qs}. */
export function quantizeQ8Ref(x: Float32Array): { d: number[]; qs: Int8Array } {
  const f = Math.fround, nb = x.length / 32;
  const d: number[] = [], qs = new Int8Array(x.length);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
    const db = f(amax / 127), id = db !== 0 ? f(1 / db) : 0;
    for (let j = 0; j < 32; j++) {
      const v = f(x[32 * b + j]! * id);
      qs[32 * b + j] = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
    }
    d.push(f16ToF32(f16Bits(db)));
  }
  return { d, qs };
}

/** f32 -> f16 bits, round to nearest even (via the native F16 quantizer). */
export function f16Bits(v: number): number {
  const dst = new Uint8Array(2);
  ops.quantizeRows(dst, new Float32Array([v]), 1, 1, ops.DType.F16);
  return dst[0]! | (dst[1]! << 8);
}

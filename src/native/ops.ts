/**
 * Typed wrappers over the native addon: the only module the rest of tsgl imports for kernels.
 *
 * Invariants:
 * - Each wrapper asserts shapes cheaply (typed array lengths against the dims it is given)
 *   and throws a readable `Error` before crossing into C++; the addon re-checks lengths,
 *   handles and indices as a last line of defence.
 * - Weights and KV pools are returned as small frozen descriptors carrying their shapes, so
 *   callers never pass a bare handle with the wrong dims.
 * - Typed arrays may be longer than needed (buffers allocated once at max size); only the
 *   leading elements described by the dims are read or written.
 * - Shapes in comments are row-major, e.g. `x: [rows, cols]`.
 */
import { DType, type CpuInfo, type DTypeId, type IsaName, type NativeBinding } from './binding.js';
import { loadNativeBinding } from './load.js';

export { DType };
export type { CpuInfo, DTypeId, IsaName, NativeBinding };

let binding: NativeBinding | undefined;

/** The addon, loaded on first use (singleton). */
export function native(): NativeBinding {
  binding ??= loadNativeBinding();
  return binding;
}

/** A registered weight matrix: `rows` output features of `cols` inputs in `dtype`. */
export interface Weight {
  readonly handle: number;
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DTypeId;
}

/** A KV page pool: K and V each [numLayers][numSlots][numKvHeads][headDim] in `dtype`. */
export interface KvPool {
  readonly handle: number;
  readonly numLayers: number;
  readonly numSlots: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly dtype: DTypeId;
}

const DTYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(DType).map(([k, v]) => [v, k]));

/** Elements per quantization block of a dtype. */
export function blockSize(dtype: DTypeId): number {
  if (dtype === DType.Q8_0 || dtype === DType.Q4_0) return 32;
  if (dtype === DType.Q4_K || dtype === DType.Q6_K) return 256;
  return 1;
}

export function dtypeName(dtype: number): string {
  return DTYPE_NAMES.get(dtype) ?? `unknown(${dtype})`;
}

function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

function dim(op: string, name: string, v: number, min = 0): void {
  if (!Number.isSafeInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${v}`);
}

// Shape dims are passed as numbers (-1 = absent) and formatted only on failure: the hot
// kernel wrappers build no strings per call.
function len(op: string, name: string, a: ArrayLike<unknown>, need: number, d0: number, d1 = -1, d2 = -1, unit = ''): void {
  if (a.length < need) {
    const dims = [d0, d1, d2].filter((d) => d >= 0).join(', ');
    fail(op, `${name} has ${a.length} elements, needs ${need} ([${dims}]${unit})`);
  }
}

function isDType(op: string, dtype: number): asserts dtype is DTypeId {
  if (!DTYPE_NAMES.has(dtype)) fail(op, `unknown dtype ${dtype}`);
}

// --- system ---

export function cpuInfo(): CpuInfo {
  return native().cpuInfo();
}
export function setIsa(isa: IsaName): void {
  native().setIsa(isa);
}
export function getIsa(): IsaName {
  return native().getIsa();
}
export function setNumThreads(n: number): void {
  dim('setNumThreads', 'numThreads', n, 1);
  native().setNumThreads(n);
}
export function getNumThreads(): number {
  return native().getNumThreads();
}

// --- files ---

/** Read-only, zero-copy view of a whole file (unmapped when the buffer is collected). */
export function mapFile(path: string): ArrayBuffer {
  return native().mapFile(path);
}

// --- weights ---

/** Bytes of one row of `cols` elements in `dtype`. */
export function rowBytes(dtype: DTypeId, cols: number): number {
  isDType('rowBytes', dtype);
  dim('rowBytes', 'cols', cols);
  if (cols % blockSize(dtype) !== 0) fail('rowBytes', `cols ${cols} is not a multiple of ${blockSize(dtype)} (${dtypeName(dtype)})`);
  return native().rowBytes(dtype, cols);
}

/**
 * Registers `parts` (each [rowsPerPart[i], rowBytes] bytes) stacked along rows; zero copy.
 * `prepack` (default true): let the addon keep a copy in its GEMM layout where it has one
 * (Q8_0 / Q4_0 on AVX-512 VNNI, 1.06x / 1.11x their bytes); pass false for tables only `embed` reads.
 * `bf16Dot` (BF16 only, default false): matmuls round x to bf16 before the dot (vdpbf16ps on
 * CPUs with AVX512_BF16; the other paths round x, then run their f32 kernel).
 * `glu` (default false): a [gate; up] weight (gate rows first, even rows) for `matmulGlu`.
 */
export function createWeight(
  parts: Uint8Array[], rowsPerPart: number[], cols: number, dtype: DTypeId, opts: { prepack?: boolean; bf16Dot?: boolean; glu?: boolean } = {},
): Weight {
  const op = 'createWeight';
  if (parts.length === 0 || parts.length !== rowsPerPart.length) {
    fail(op, `parts (${parts.length}) and rowsPerPart (${rowsPerPart.length}) must be non-empty and of equal length`);
  }
  dim(op, 'cols', cols, 1);
  const rb = rowBytes(dtype, cols);
  let rows = 0;
  parts.forEach((p, i) => {
    dim(op, `rowsPerPart[${i}]`, rowsPerPart[i]!);
    const need = rowsPerPart[i]! * rb;
    if (p.byteLength < need) fail(op, `parts[${i}] has ${p.byteLength} bytes, needs ${need} (${rowsPerPart[i]} x ${rb})`);
    rows += rowsPerPart[i]!;
  });
  if (opts.bf16Dot && dtype !== DType.BF16) fail(op, `bf16Dot needs a BF16 weight, got ${dtypeName(dtype)}`);
  if (opts.glu && rows % 2 !== 0) fail(op, `glu needs an even number of rows (gate, then up), got ${rows}`);
  const handle = native().createWeight(parts, rowsPerPart, cols, dtype, opts.prepack ?? true, opts.bf16Dot ?? false, opts.glu ?? false);
  return Object.freeze({ handle, rows, cols, dtype });
}

export function freeWeight(w: Weight): void {
  native().freeWeight(w.handle);
}

/** Bytes of `w`'s pre-packed GEMM copy (0: none; see createWeight). */
export function weightPackedBytes(w: Weight): number {
  // (optional chaining: older builds, e.g. an A/B baseline via TSGL_NATIVE_PATH, lack it)
  return native().weightPackedBytes?.(w.handle) ?? 0;
}

/** f32 rows -> dtype (F32, F16, BF16, Q8_0, Q4_0). src: [rows, cols]; dst: [rows, rowBytes]. */
export function quantizeRows(dst: Uint8Array, src: Float32Array, rows: number, cols: number, dtype: DTypeId): void {
  const op = 'quantizeRows';
  dim(op, 'rows', rows);
  const rb = rowBytes(dtype, cols);
  len(op, 'src', src, rows * cols, rows, cols);
  len(op, 'dst', dst, rows * rb, rows, rb, -1, ' bytes');
  native().quantizeRows(dst, src, rows, cols, dtype);
}

/** dtype rows -> f32. src: [rows, rowBytes]; dst: [rows, cols]. */
export function dequantizeRows(dst: Float32Array, src: Uint8Array, rows: number, cols: number, dtype: DTypeId): void {
  const op = 'dequantizeRows';
  dim(op, 'rows', rows);
  const rb = rowBytes(dtype, cols);
  len(op, 'src', src, rows * rb, rows, rb, -1, ' bytes');
  len(op, 'dst', dst, rows * cols, rows, cols);
  native().dequantizeRows(dst, src, rows, cols, dtype);
}

// --- kernels ---

/** out[t, :] = W[ids[t], :] dequantized. out: [numTokens, w.cols] */
export function embed(out: Float32Array, w: Weight, ids: Int32Array, numTokens: number): void {
  dim('embed', 'numTokens', numTokens);
  len('embed', 'ids', ids, numTokens, numTokens);
  len('embed', 'out', out, numTokens * w.cols, numTokens, w.cols);
  native().embed(out, w.handle, ids, numTokens);
}

/** out = rmsNorm(x) * w. x, out: [rows, dim] (out may be x); w: [dim] */
export function rmsNorm(out: Float32Array, x: Float32Array, w: Float32Array, rows: number, d: number, eps: number): void {
  dim('rmsNorm', 'rows', rows);
  dim('rmsNorm', 'dim', d, 1);
  len('rmsNorm', 'x', x, rows * d, rows, d);
  len('rmsNorm', 'out', out, rows * d, rows, d);
  len('rmsNorm', 'w', w, d, d);
  native().rmsNorm(out, x, w, rows, d, eps);
}

/** residual += x; out = rmsNorm(residual) * w. residual, x, out: [rows, dim]; w: [dim] */
export function addRmsNorm(
  residual: Float32Array, x: Float32Array, out: Float32Array, w: Float32Array, rows: number, d: number, eps: number,
): void {
  const op = 'addRmsNorm';
  dim(op, 'rows', rows);
  dim(op, 'dim', d, 1);
  len(op, 'residual', residual, rows * d, rows, d);
  len(op, 'x', x, rows * d, rows, d);
  len(op, 'out', out, rows * d, rows, d);
  len(op, 'w', w, d, d);
  native().addRmsNorm(residual, x, out, w, rows, d, eps);
}

/** out[rows, w.rows] = x[rows, w.cols] @ W^T */
export function matmul(out: Float32Array, x: Float32Array, w: Weight, rows: number): void {
  dim('matmul', 'rows', rows);
  len('matmul', 'x', x, rows * w.cols, rows, w.cols);
  len('matmul', 'out', out, rows * w.rows, rows, w.rows);
  native().matmul(out, x, w.handle, rows);
}

/**
 * outA = x @ A^T, outB = x @ B^T, outC = x @ C^T (equal cols; e.g. q/k/v projections) in one
 * native call: x is quantized once and all three share one thread-pool job at decode sizes.
 * Same results as three `matmul` calls.
 */
export function matmul3(
  outA: Float32Array, outB: Float32Array, outC: Float32Array, x: Float32Array, a: Weight, b: Weight, c: Weight, rows: number,
): void {
  dim('matmul3', 'rows', rows);
  if (b.cols !== a.cols || c.cols !== a.cols) fail('matmul3', `weights must have equal cols, got ${a.cols}, ${b.cols}, ${c.cols}`);
  len('matmul3', 'x', x, rows * a.cols, rows, a.cols);
  len('matmul3', 'outA', outA, rows * a.rows, rows, a.rows);
  len('matmul3', 'outB', outB, rows * b.rows, rows, b.rows);
  len('matmul3', 'outC', outC, rows * c.rows, rows, c.rows);
  native().matmul3(outA, outB, outC, x, a.handle, b.handle, c.handle, rows);
}

/**
 * out = act(x @ gate^T) * (x @ up^T) for a weight created with `glu` ([2 * d, cols], gate rows
 * first): the values of `matmul` into gateUp then `gluMul`, which is what runs when the addon has
 * no fused kernel for the weight (pre-packed Q8_0 / Q4_0 with d % 16 == 0 on AVX-512 VNNI fuse
 * the GLU into the GEMM and leave gateUp untouched). x: [rows, cols]; gateUp: [rows, 2 * d]
 * scratch; out: [rows, d].
 */
export function matmulGlu(out: Float32Array, gateUp: Float32Array, x: Float32Array, w: Weight, rows: number, act: ActId): void {
  const op = 'matmulGlu';
  dim(op, 'rows', rows);
  if (act !== 0 && act !== 1) fail(op, `act must be 0 (silu) or 1 (gelu tanh), got ${act}`);
  const d = w.rows / 2;
  len(op, 'x', x, rows * w.cols, rows, w.cols);
  len(op, 'gateUp', gateUp, rows * w.rows, rows, w.rows);
  len(op, 'out', out, rows * d, rows, d);
  native().matmulGlu(out, gateUp, x, w.handle, rows, act);
}

/** out[r, :] += bias. out: [rows, n]; bias: [n] */
export function addBias(out: Float32Array, bias: Float32Array, rows: number, n: number): void {
  dim('addBias', 'rows', rows);
  dim('addBias', 'n', n);
  len('addBias', 'out', out, rows * n, rows, n);
  len('addBias', 'bias', bias, n, n);
  native().addBias(out, bias, rows, n);
}

/** In-place RoPE. x: [numTokens, numHeads, headDim]; positions: [numTokens]; invFreq: [rotDim/2] */
export function rope(
  x: Float32Array, positions: Int32Array, numTokens: number, numHeads: number, headDim: number,
  invFreq: Float32Array, neox: boolean,
): void {
  const op = 'rope';
  dim(op, 'numTokens', numTokens);
  dim(op, 'numHeads', numHeads);
  dim(op, 'headDim', headDim);
  if (2 * invFreq.length > headDim) fail(op, `rotary dims 2*${invFreq.length} exceed headDim ${headDim}`);
  len(op, 'x', x, numTokens * numHeads * headDim, numTokens, numHeads, headDim);
  len(op, 'positions', positions, numTokens, numTokens);
  native().rope(x, positions, numTokens, numHeads, headDim, invFreq, neox);
}

/** Per-token cos/sin of RoPE, computed once per forward. table: [numTokens, 2 * invFreq.length] */
export function ropeTable(table: Float32Array, positions: Int32Array, numTokens: number, invFreq: Float32Array): void {
  const op = 'ropeTable';
  dim(op, 'numTokens', numTokens);
  len(op, 'positions', positions, numTokens, numTokens);
  len(op, 'table', table, numTokens * 2 * invFreq.length, numTokens, 2 * invFreq.length);
  native().ropeTable(table, positions, numTokens, invFreq);
}

/**
 * In-place RoPE of q ([numTokens, numQHeads, headDim]) and k ([numTokens, numKHeads, headDim])
 * from a `ropeTable` of their positions (rotHalf = its invFreq length): the values of
 * `rope(q)` and `rope(k)`, in one pass with the angles computed once per forward.
 */
export function ropeQk(
  q: Float32Array, k: Float32Array, table: Float32Array, numTokens: number, numQHeads: number, numKHeads: number,
  headDim: number, rotHalf: number, neox: boolean,
): void {
  const op = 'ropeQk';
  dim(op, 'numTokens', numTokens);
  dim(op, 'headDim', headDim);
  if (2 * rotHalf > headDim) fail(op, `rotary dims 2*${rotHalf} exceed headDim ${headDim}`);
  len(op, 'q', q, numTokens * numQHeads * headDim, numTokens, numQHeads, headDim);
  len(op, 'k', k, numTokens * numKHeads * headDim, numTokens, numKHeads, headDim);
  len(op, 'table', table, numTokens * 2 * rotHalf, numTokens, 2 * rotHalf);
  native().ropeQk(q, k, table, numTokens, numQHeads, numKHeads, headDim, rotHalf, neox);
}

export const Act = { SILU: 0, GELU_TANH: 1 } as const;
export type ActId = (typeof Act)[keyof typeof Act];

/** out = act(gate) * up. gateUp: [rows, 2*dim] (gate first); out: [rows, dim] */
export function gluMul(out: Float32Array, gateUp: Float32Array, rows: number, d: number, act: ActId): void {
  dim('gluMul', 'rows', rows);
  dim('gluMul', 'dim', d);
  if (act !== 0 && act !== 1) fail('gluMul', `act must be 0 (silu) or 1 (gelu tanh), got ${act}`);
  len('gluMul', 'gateUp', gateUp, rows * 2 * d, rows, 2 * d);
  len('gluMul', 'out', out, rows * d, rows, d);
  native().gluMul(out, gateUp, rows, d, act);
}

/** out[i, :] = x[rowIdx[i], :]. x: [*, dim]; out: [numRows, dim] */
export function gatherRows(out: Float32Array, x: Float32Array, rowIdx: Int32Array, numRows: number, d: number): void {
  dim('gatherRows', 'numRows', numRows);
  dim('gatherRows', 'dim', d);
  len('gatherRows', 'rowIdx', rowIdx, numRows, numRows);
  len('gatherRows', 'out', out, numRows * d, numRows, d);
  native().gatherRows(out, x, rowIdx, numRows, d);
}

/** out[r] = argmax_j x[r, j] (lowest j on ties, NaN ignored). x: [rows, n]; out: [rows] */
export function argmaxRows(out: Int32Array, x: Float32Array, rows: number, n: number): void {
  dim('argmaxRows', 'rows', rows);
  dim('argmaxRows', 'n', n, 1);
  len('argmaxRows', 'x', x, rows * n, rows, n);
  len('argmaxRows', 'out', out, rows, rows);
  native().argmaxRows(out, x, rows, n);
}

/**
 * Grammar bitmask: logits[r, j] = -Infinity where bit (j % 32) of mask[r * maskStride + (j >> 5)]
 * is 0 (xgrammar's token bitmask layout; 1 = allowed), j < vocab. logits: [rows, vocab].
 */
export function applyTokenBitmask(logits: Float32Array, rows: number, vocab: number, mask: Uint32Array, maskStride: number): void {
  const words = Math.ceil(vocab / 32);
  dim('applyTokenBitmask', 'rows', rows);
  dim('applyTokenBitmask', 'vocab', vocab);
  dim('applyTokenBitmask', 'maskStride', maskStride, words);
  len('applyTokenBitmask', 'logits', logits, rows * vocab, rows, vocab);
  if (rows > 0) len('applyTokenBitmask', 'mask', mask, (rows - 1) * maskStride + words, rows, maskStride);
  native().applyTokenBitmask(logits, rows, vocab, mask, maskStride);
}

// --- KV pool and attention ---

/** Allocates a zeroed pool (slot 0 is the padding slot). kvDtype: F32, F16 or BF16. */
export function createKvPool(numLayers: number, numSlots: number, numKvHeads: number, headDim: number, dtype: DTypeId): KvPool {
  const op = 'createKvPool';
  dim(op, 'numLayers', numLayers, 1);
  dim(op, 'numSlots', numSlots, 1);
  dim(op, 'numKvHeads', numKvHeads, 1);
  dim(op, 'headDim', headDim, 1);
  if (dtype !== DType.F32 && dtype !== DType.F16 && dtype !== DType.BF16) fail(op, `kvDtype must be F32, F16 or BF16, got ${dtypeName(dtype)}`);
  const handle = native().createKvPool(numLayers, numSlots, numKvHeads, headDim, dtype);
  return Object.freeze({ handle, numLayers, numSlots, numKvHeads, headDim, dtype });
}

export function freeKvPool(pool: KvPool): void {
  native().freeKvPool(pool.handle);
}

/**
 * Backs slots [0, numSlots) of every layer with memory now rather than at their first store
 * (the pool is mapped lazily); contents stay zero. Returns the bytes committed.
 */
export function commitKvPool(pool: KvPool, numSlots: number): number {
  dim('commitKvPool', 'numSlots', numSlots);
  return native().commitKvPool(pool.handle, Math.min(numSlots, pool.numSlots));
}

function kvArgs(op: string, pool: KvPool, layer: number, k: Float32Array, v: Float32Array, loc: Int32Array, n: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= pool.numLayers) fail(op, `layer ${layer} out of range [0, ${pool.numLayers})`);
  dim(op, 'numTokens', n);
  len(op, 'k', k, n * pool.numKvHeads * pool.headDim, n, pool.numKvHeads, pool.headDim);
  len(op, 'v', v, n * pool.numKvHeads * pool.headDim, n, pool.numKvHeads, pool.headDim);
  len(op, 'slots', loc, n, n);
}

/** Writes k, v: [numTokens, numKvHeads, headDim] into slots outLoc[t] of `layer`. */
export function storeKv(pool: KvPool, layer: number, k: Float32Array, v: Float32Array, outLoc: Int32Array, numTokens: number): void {
  kvArgs('storeKv', pool, layer, k, v, outLoc, numTokens);
  native().storeKv(pool.handle, layer, k, v, outLoc, numTokens);
}

/** Reads slots back as f32 k, v: [numTokens, numKvHeads, headDim]. */
export function loadKv(pool: KvPool, layer: number, k: Float32Array, v: Float32Array, slots: Int32Array, numTokens: number): void {
  kvArgs('loadKv', pool, layer, k, v, slots, numTokens);
  native().loadKv(pool.handle, layer, k, v, slots, numTokens);
}

/**
 * Paged causal GQA attention (see binding.ts). q, out: [qIndptr[numReqs], numHeads, headDim];
 * qIndptr, kvIndptr: [numReqs + 1]; kvIndices: [kvIndptr[numReqs]].
 */
export function attention(
  out: Float32Array, q: Float32Array, pool: KvPool, layer: number, numHeads: number, numReqs: number,
  qIndptr: Int32Array, kvIndptr: Int32Array, kvIndices: Int32Array, scale: number,
): void {
  const op = 'attention';
  if (!Number.isInteger(layer) || layer < 0 || layer >= pool.numLayers) fail(op, `layer ${layer} out of range [0, ${pool.numLayers})`);
  dim(op, 'numHeads', numHeads, 1);
  dim(op, 'numReqs', numReqs);
  if (numHeads % pool.numKvHeads !== 0) fail(op, `numHeads ${numHeads} is not a multiple of numKvHeads ${pool.numKvHeads}`);
  len(op, 'qIndptr', qIndptr, numReqs + 1, numReqs + 1);
  len(op, 'kvIndptr', kvIndptr, numReqs + 1, numReqs + 1);
  const numTokens = qIndptr[numReqs]!;
  len(op, 'kvIndices', kvIndices, kvIndptr[numReqs]!, kvIndptr[numReqs]!);
  len(op, 'q', q, numTokens * numHeads * pool.headDim, numTokens, numHeads, pool.headDim);
  len(op, 'out', out, numTokens * numHeads * pool.headDim, numTokens, numHeads, pool.headDim);
  native().attention(out, q, pool.handle, layer, numHeads, numReqs, qIndptr, kvIndptr, kvIndices, scale);
}

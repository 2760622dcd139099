/**
 * The whole surface of the native addon (`build/Release/tsgl_native.node`), declared once.
 *
 * Invariants:
 * - Only typed arrays, numbers and strings cross this boundary; per step only typed arrays
 *   and integers. Every kernel is synchronous, multithreaded inside, writes into the `out`
 *   arrays it is handed and allocates nothing.
 * - Weights and the KV pool are native-owned arenas addressed by integer handles.
 * - Matrices follow the Hugging Face / GGML convention: a weight has `rows` output features,
 *   each a contiguous row of `cols` input features (GGML ne0 = cols). `matmul` computes
 *   `out[m, n] = sum_k x[m, k] * W[n, k]`.
 * - Only `src/native/ops.ts` (and the kernel tests) import this module.
 */

/** GGML type ids, used for every dtype that crosses the boundary. */
export const DType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
} as const;
export type DTypeId = (typeof DType)[keyof typeof DType];

/** Instruction-set variants, from slowest to fastest; `scalar` is the portable reference. */
export type IsaName = 'scalar' | 'avx2' | 'avx512';

export interface CpuInfo {
  /** The fastest variant this CPU supports (the one chosen at load). */
  isa: IsaName;
  /** Every variant this CPU can run, `scalar` first. */
  supportedIsas: IsaName[];
  /** CPU feature flags detected at run time, e.g. `avx512f`, `avx512_vnni`, `avx512_bf16`, `amx_int8`. */
  features: string[];
  physicalCores: number;
  logicalCores: number;
}

export interface NativeBinding {
  // --- system ---
  cpuInfo(): CpuInfo;
  /** Selects the kernel variant for all later calls (tests); throws if unsupported here. */
  setIsa(isa: IsaName): void;
  getIsa(): IsaName;
  /** Resizes the persistent pool; workers sleep when idle. */
  setNumThreads(numThreads: number): void;
  getNumThreads(): number;

  // --- files ---
  /** mmap(PROT_READ, MAP_PRIVATE) the whole file, zero copy; unmapped when the buffer is collected. */
  mapFile(path: string): ArrayBuffer;

  // --- weights (native handles) ---
  /**
   * Registers a weight matrix made of `parts` stacked along rows (e.g. q|k|v or gate|up), each
   * a view of `rowsPerPart[i]` rows x `cols` in `dtype`. The bytes are referenced, not copied
   * (the binding keeps the views alive). Returns a handle > 0. Unless `prepack` is false, a
   * Q8_0 or Q4_0 weight on an AVX-512 VNNI CPU also gets a native copy in the int8 GEMM's panel
   * layout (freed with the handle; TSGL_REPACK=0 turns this off). `bf16Dot` (BF16 only): the
   * matmul rounds x to bf16 before the dot (TSGL_WEIGHT_BF16_DOT). `glu`: a [gate; up] weight
   * for `matmulGlu` (TSGL_WEIGHT_GLU; its panels may be packed for the fused GLU).
   */
  createWeight(parts: Uint8Array[], rowsPerPart: number[], cols: number, dtype: DTypeId, prepack?: boolean, bf16Dot?: boolean, glu?: boolean): number;
  freeWeight(handle: number): void;
  /** Bytes of the weight's pre-packed copy, 0 if it has none. */
  weightPackedBytes?(handle: number): number;
  /** Bytes one row of `cols` elements takes in `dtype` (cols must be a multiple of the block size). */
  rowBytes(dtype: DTypeId, cols: number): number;
  /** Quantizes/converts f32 rows into `dtype` (F32, F16, BF16, Q8_0, Q4_0); dst is [rows, rowBytes]. */
  quantizeRows(dst: Uint8Array, src: Float32Array, rows: number, cols: number, dtype: DTypeId): void;
  /** Dequantizes rows of any supported dtype into f32; dst is [rows, cols]. */
  dequantizeRows(dst: Float32Array, src: Uint8Array, rows: number, cols: number, dtype: DTypeId): void;

  // --- kernels ---
  /** out[t, :] = row ids[t] of the weight, dequantized. out: [numTokens, cols] */
  embed(out: Float32Array, weight: number, ids: Int32Array, numTokens: number): void;
  /** out[r] = x[r] / rms(x[r]) * w. x, out: [rows, dim]; w: [dim]; out may alias x. */
  rmsNorm(out: Float32Array, x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number): void;
  /** residual += x; out = rmsNorm(residual) * w. All [rows, dim]. */
  addRmsNorm(
    residual: Float32Array, x: Float32Array, out: Float32Array, w: Float32Array,
    rows: number, dim: number, eps: number,
  ): void;
  /** out[rows, weight.rows] = x[rows, weight.cols] @ W^T. */
  matmul(out: Float32Array, x: Float32Array, weight: number, rows: number): void;
  /** Three matmuls of one x (equal cols) in one call / one thread-pool job at small rows. */
  matmul3(outA: Float32Array, outB: Float32Array, outC: Float32Array, x: Float32Array, wA: number, wB: number, wC: number, rows: number): void;
  /** out[r, :] += bias for each of rows. out: [rows, n]; bias: [n] */
  addBias(out: Float32Array, bias: Float32Array, rows: number, n: number): void;
  /**
   * In-place rotary embedding on x: [numTokens, numHeads, headDim], rotating the first
   * 2*invFreq.length dims of each head. angle = positions[t] * invFreq[i] (scaling is baked into
   * invFreq by the caller). neox: pairs (i, i + rotDim/2) ("rotate half", HF layout);
   * otherwise adjacent pairs (2i, 2i+1) (GGML / llama2.c layout).
   */
  rope(
    x: Float32Array, positions: Int32Array, numTokens: number, numHeads: number, headDim: number,
    invFreq: Float32Array, neox: boolean,
  ): void;
  /** out = act(gate) * up, gateUp: [rows, 2*dim] (gate first), out: [rows, dim]. act 0 silu, 1 gelu(tanh). */
  gluMul(out: Float32Array, gateUp: Float32Array, rows: number, dim: number, act: number): void;
  /** table [numTokens, 2 * invFreq.length]: per token cos(pos * f) then sin(pos * f), as rope uses them. */
  ropeTable(table: Float32Array, positions: Int32Array, numTokens: number, invFreq: Float32Array): void;
  /** rope of q and k from a ropeTable, in one pass (the values of two rope calls). */
  ropeQk(q: Float32Array, k: Float32Array, table: Float32Array, numTokens: number, numQHeads: number, numKHeads: number,
    headDim: number, rotHalf: number, neox: boolean): void;
  /** out = act(x gate^T) * (x up^T) for a glu weight; gateUp: scratch the unfused path writes. */
  matmulGlu(out: Float32Array, gateUp: Float32Array, x: Float32Array, weight: number, rows: number, act: number): void;
  /** out[i, :] = x[rowIdx[i], :] for i < numRows. x: [*, dim]; out: [numRows, dim] */
  gatherRows(out: Float32Array, x: Float32Array, rowIdx: Int32Array, numRows: number, dim: number): void;
  /** out[r] = argmax_j x[r, j] (lowest j on ties). x: [rows, n] */
  argmaxRows(out: Int32Array, x: Float32Array, rows: number, n: number): void;
  /** logits[r, j] = -Infinity where bit j of mask row r is 0 (xgrammar layout). mask: [rows, maskStride] */
  applyTokenBitmask(logits: Float32Array, rows: number, vocab: number, mask: Uint32Array, maskStride: number): void;

  // --- KV pool and attention ---
  /**
   * A pool of numSlots token slots per layer: K and V each [numLayers][numSlots][numKvHeads][headDim]
   * in kvDtype (F32, F16 or BF16). Slot 0 is the padding slot. Returns a handle > 0.
   */
  createKvPool(numLayers: number, numSlots: number, numKvHeads: number, headDim: number, kvDtype: DTypeId): number;
  freeKvPool(handle: number): void;
  commitKvPool(handle: number, numSlots: number): number;
  /** Writes k, v: [numTokens, numKvHeads, headDim] into slots outLoc[t] of `layer`. */
  storeKv(pool: number, layer: number, k: Float32Array, v: Float32Array, outLoc: Int32Array, numTokens: number): void;
  /** Reads slots back into f32 (tests): k, v: [numTokens, numKvHeads, headDim]. */
  loadKv(pool: number, layer: number, k: Float32Array, v: Float32Array, slots: Int32Array, numTokens: number): void;
  /**
   * Paged causal attention with GQA over the pool, for a batch of numReqs requests.
   * q, out: [numTokens, numHeads, headDim]. Request r owns query rows qIndptr[r]..qIndptr[r+1]
   * (qLen) and KV slots kvIndices[kvIndptr[r]..kvIndptr[r+1]] (kvLen, positions 0..kvLen-1 in order,
   * the new tokens being the last qLen). Query j of request r sits at position kvLen - qLen + j and
   * sees KV positions 0..that position. Head h reads KV head h / (numHeads / numKvHeads).
   */
  attention(
    out: Float32Array, q: Float32Array, pool: number, layer: number, numHeads: number,
    numReqs: number, qIndptr: Int32Array, kvIndptr: Int32Array, kvIndices: Int32Array, scale: number,
  ): void;
}

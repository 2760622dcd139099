/**
 * ModelWeights: a model's tensors registered with the native addon, in the layout the model
 * files read (fused gate|up, separate q/k/v, f32 norm and bias vectors).
 *
 * Invariants:
 * - Matrices keep the checkpoint's bytes (zero copy) unless --dtype / --quantization asks for
 *   another dtype; then they are converted once here, through f32.
 * - Vectors (norms, biases, rope factors) are always f32 copies (small).
 * - A missing required tensor fails with its HF name and the file it was expected in.
 */
import { DType, type DTypeId } from '../native/binding.js';
import * as ops from '../native/ops.js';
import type { Weight } from '../native/ops.js';
import { GGML_TYPE_NAME } from '../formats/gguf.js';
import { legacyTarget, rewriteLegacy } from './ggml-legacy.js';
import type { ModelConfig } from './model-config.js';
import { tensorBytes, type RawTensor, type WeightSource } from './weight-source.js';

export interface LayerWeights {
  inputNorm: Float32Array; // [hidden]
  q: Weight; // [numHeads*headDim, hidden]
  k: Weight; // [numKvHeads*headDim, hidden]
  v: Weight; // [numKvHeads*headDim, hidden]
  qBias: Float32Array | null;
  kBias: Float32Array | null;
  vBias: Float32Array | null;
  qNorm: Float32Array | null; // [headDim]
  kNorm: Float32Array | null; // [headDim]
  o: Weight; // [hidden, numHeads*headDim]
  postAttnNorm: Float32Array; // [hidden]
  gateUp: Weight; // [2*intermediate, hidden], gate rows first
  down: Weight; // [hidden, intermediate]
}

export interface ModelWeights {
  embed: Weight; // [vocab, hidden]
  lmHead: Weight; // [vocab, hidden] (the embed handle when tied)
  finalNorm: Float32Array; // [hidden]
  ropeFreqFactors: Float32Array | null; // [rotaryDim/2] (GGUF llama3 rope_freqs)
  layers: LayerWeights[];
  /** The dtype most matrices ended up in, for the banner. */
  matrixDtype: string;
  /** Matrices registered with the bf16 dot path (activations rounded to bf16). */
  bf16DotMatrices: number;
  bytes: number;
  /** Native pre-packed GEMM copies (ops.weightPackedBytes), on top of `bytes`. */
  packedBytes?: number;
}

/** What to store 2-D weights as: 'auto' keeps the checkpoint's dtype. */
export type WeightDtype = 'auto' | DTypeId;

export interface LoadWeightsOptions {
  weightDtype: WeightDtype;
  /** BF16 matrices take the bf16 dot path (activations rounded to bf16). */
  bf16Dot?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const DTYPE_NAME: Record<number, string> = {
  [DType.F32]: 'float32', [DType.F16]: 'float16', [DType.BF16]: 'bfloat16', [DType.Q8_0]: 'q8_0',
  [DType.Q4_0]: 'q4_0', [DType.Q4_K]: 'q4_k', [DType.Q6_K]: 'q6_k',
};
const SUPPORTED_MATRIX = new Set<number>(Object.keys(DTYPE_NAME).map(Number));
const QUANTIZE_TARGETS = new Set<number>([DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0]);

export function dtypeName(dtype: number): string {
  return DTYPE_NAME[dtype] ?? GGML_TYPE_NAME[dtype]?.toLowerCase() ?? `ggml-type-${dtype}`;
}

class WeightLoader {
  private doneBytes = 0;
  bytes = 0;
  packedBytes = 0;
  bf16DotMatrices = 0;
  readonly dtypeCounts = new Map<number, number>();
  constructor(private readonly src: WeightSource, private readonly opts: LoadWeightsOptions) {}

  raw(name: string): RawTensor {
    const t = this.src.get(name);
    if (!t) throw new Error(`${this.src.path}: required tensor ${name} is missing`);
    return t;
  }

  private progress(t: RawTensor): void {
    this.doneBytes += t.bytes.byteLength;
    this.opts.onProgress?.(Math.min(this.doneBytes, this.src.totalBytes), this.src.totalBytes);
  }

  /** A vector as f32 (always a copy). */
  vector(name: string): Float32Array {
    const t = this.raw(name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const out = toF32(t, 1, n);
    this.progress(t);
    return out;
  }

  optionalVector(name: string): Float32Array | null {
    return this.src.get(name) ? this.vector(name) : null;
  }

  /** The bytes of a matrix in its target dtype, plus that dtype. */
  private matrixBytes(t: RawTensor): { bytes: Uint8Array; dtype: DTypeId } {
    const [rows, cols] = t.shape as [number, number];
    if (!SUPPORTED_MATRIX.has(t.dtype)) {
      const supported = [...SUPPORTED_MATRIX].map(dtypeName).join(', ');
      throw new Error(`${this.src.path}: tensor ${t.name} has dtype ${dtypeName(t.dtype)}, which tsgl cannot compute with yet (supported: ${supported}; q5_0, q5_1, q4_1 are rewritten at load)`);
    }
    let target = this.opts.weightDtype === 'auto' ? (t.dtype as DTypeId) : this.opts.weightDtype;
    if (target !== t.dtype && !QUANTIZE_TARGETS.has(target)) target = t.dtype as DTypeId;
    // Block formats need whole blocks per row; rows that do not fit stay in a float type.
    if (target === DType.Q8_0 || target === DType.Q4_0) {
      if (cols % 32 !== 0) target = t.dtype === DType.F32 || t.dtype === DType.BF16 || t.dtype === DType.F16 ? (t.dtype as DTypeId) : DType.F32;
    }
    if (target === t.dtype) return { bytes: t.bytes, dtype: target };
    const f32 = toF32(t, rows, cols);
    const out = new Uint8Array(tensorBytes(target, [rows, cols]));
    ops.quantizeRows(out, f32, rows, cols, target);
    return { bytes: out, dtype: target };
  }

  /** A matrix in a format with kernels: legacy GGML blocks (Q5_0, Q5_1, Q4_1) rewritten. */
  private computable(t: RawTensor): RawTensor {
    const target = legacyTarget(t.dtype);
    if (target === null) return t;
    const numElements = t.shape.reduce((a, b) => a * b, 1);
    return { ...t, dtype: target, bytes: rewriteLegacy(t.dtype, t.bytes, numElements) };
  }

  /** Registers rows of one or more matrices stacked into one native weight. */
  matrix(names: string[], opts: { prepack?: boolean; glu?: boolean } = {}): Weight {
    const files = names.map((n) => this.raw(n));
    const parts = files.map((t) => this.computable(t));
    const cols = parts[0]!.shape[1]!;
    let converted = parts.map((t) => this.matrixBytes(t));
    if (converted.some((c) => c.dtype !== converted[0]!.dtype)) {
      // Mixed dtypes cannot share one handle: fall back to f32 for all parts.
      converted = parts.map((t) => ({ bytes: new Uint8Array(toF32(t, t.shape[0]!, cols).buffer), dtype: DType.F32 as DTypeId }));
    }
    const dtype = converted[0]!.dtype;
    const bf16Dot = this.opts.bf16Dot === true && dtype === DType.BF16;
    if (bf16Dot) this.bf16DotMatrices++;
    const handle = ops.createWeight(converted.map((c) => c.bytes), parts.map((t) => t.shape[0]!), cols, dtype, { ...opts, bf16Dot });
    this.packedBytes += ops.weightPackedBytes(handle);
    for (let i = 0; i < parts.length; i++) {
      this.bytes += converted[i]!.bytes.byteLength;
      this.dtypeCounts.set(dtype, (this.dtypeCounts.get(dtype) ?? 0) + converted[i]!.bytes.byteLength);
      this.progress(files[i]!);
    }
    return handle;
  }
}

/** Any supported dtype → f32 (a fresh array). */
function toF32(t: RawTensor, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  ops.dequantizeRows(out, t.bytes, rows, cols, t.dtype as DTypeId);
  return out;
}

function layerWeights(w: WeightLoader, c: ModelConfig, i: number): LayerWeights {
  const p = `model.layers.${i}.`;
  return {
    inputNorm: w.vector(`${p}input_layernorm.weight`),
    q: w.matrix([`${p}self_attn.q_proj.weight`]),
    k: w.matrix([`${p}self_attn.k_proj.weight`]),
    v: w.matrix([`${p}self_attn.v_proj.weight`]),
    qBias: c.attentionBias ? w.vector(`${p}self_attn.q_proj.bias`) : null,
    kBias: c.attentionBias ? w.vector(`${p}self_attn.k_proj.bias`) : null,
    vBias: c.attentionBias ? w.vector(`${p}self_attn.v_proj.bias`) : null,
    qNorm: c.qkNorm ? w.vector(`${p}self_attn.q_norm.weight`) : null,
    kNorm: c.qkNorm ? w.vector(`${p}self_attn.k_norm.weight`) : null,
    o: w.matrix([`${p}self_attn.o_proj.weight`]),
    postAttnNorm: w.vector(`${p}post_attention_layernorm.weight`),
    gateUp: w.matrix([`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`], { glu: true }),
    down: w.matrix([`${p}mlp.down_proj.weight`]),
  };
}

export function loadWeights(src: WeightSource, opts: LoadWeightsOptions): ModelWeights {
  const c = src.config;
  const w = new WeightLoader(src, opts);
  const embedName = src.get('model.embed_tokens.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const hasHead = src.get('lm_head.weight') !== undefined && embedName !== 'lm_head.weight' && !c.tieWordEmbeddings;
  // An untied embedding table is only read row by row (embed): no GEMM copy.
  const embed = w.matrix([embedName], { prepack: !hasHead });
  const lmHead = hasHead ? w.matrix(['lm_head.weight']) : embed;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) layers.push(layerWeights(w, c, i));
  const finalNorm = w.vector('model.norm.weight');
  const ropeFreqFactors = w.optionalVector('rope_freqs.weight');
  let matrixDtype = 'float32';
  let most = -1;
  for (const [dtype, bytes] of w.dtypeCounts) if (bytes > most) { most = bytes; matrixDtype = dtypeName(dtype); }
  return { embed, lmHead, finalNorm, ropeFreqFactors, layers, matrixDtype, bf16DotMatrices: w.bf16DotMatrices, bytes: w.bytes, packedBytes: w.packedBytes };
}

export function freeWeights(mw: ModelWeights): void {
  const handles = new Set<Weight>([mw.embed, mw.lmHead]);
  for (const l of mw.layers) for (const h of [l.q, l.k, l.v, l.o, l.gateUp, l.down]) handles.add(h);
  for (const h of handles) ops.freeWeight(h);
}

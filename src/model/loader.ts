/**
 * loadModel: opens a weight source (HF folder, GGUF file or dummy config), registers the
 * weights with the addon (with a progress bar on stderr), and returns what the engine needs.
 *
 * Invariant: errors name the file and what is wrong (missing tensor, bad dtype, truncated file).
 */
import { SingleBar } from 'cli-progress';
import { DType } from '../native/binding.js';
import type { ModelConfig } from './model-config.js';
import { openWeightSource, type LoadFormat, type WeightSource } from './weight-source.js';
import { loadWeights, type ModelWeights, type WeightDtype } from './weights.js';

export interface LoadModelOptions {
  modelPath: string;
  loadFormat: LoadFormat;
  /** SGLang --dtype: auto, half, float16, bfloat16, float, float32. */
  dtype: string;
  /** SGLang --quantization: null, w8a8_int8 (→ Q8_0 blocks), gguf. */
  quantization: string | null;
  progress: boolean;
  /** BF16 matrices round their activations to bf16 and use the bf16 dot path (see
   *  TSGL_WEIGHT_BF16_DOT in native/include/kernels.h). Default: env TSGL_BF16_DOT=1. */
  bf16Dot?: boolean;
}

export interface LoadedModel {
  source: WeightSource;
  config: ModelConfig;
  weights: ModelWeights;
  loadMs: number;
}

export function weightDtypeFor(dtype: string, quantization: string | null): WeightDtype {
  if (quantization === 'w8a8_int8' || quantization === 'q8_0') return DType.Q8_0;
  if (quantization === 'q4_0') return DType.Q4_0;
  if (quantization && quantization !== 'gguf') {
    throw new Error(`--quantization ${quantization} is not supported by tsgl yet (supported: w8a8_int8, gguf)`);
  }
  switch (dtype) {
    case 'auto': return 'auto';
    case 'half': case 'float16': return DType.F16;
    case 'bfloat16': return DType.BF16;
    case 'float': case 'float32': return DType.F32;
    default: throw new Error(`--dtype ${dtype} is not supported (choose from auto, half, float16, bfloat16, float, float32)`);
  }
}

/** KV cache element types the pool supports. */
export type KvDtype = typeof DType.F32 | typeof DType.F16 | typeof DType.BF16;

/**
 * The KV cache element type. SGLang's `--kv-cache-dtype auto` stores KV in the model dtype: an
 * explicit --dtype decides; with --dtype auto, an HF checkpoint's torch_dtype (float32 stays f32,
 * float16/bfloat16 keep theirs) and a GGUF file's KV is f16, llama.cpp's default KV type.
 */
export function kvDtypeFor(kvCacheDtype: string, dtype: string, torchDtype: string): KvDtype {
  if (kvCacheDtype !== 'auto') throw new Error(`--kv-cache-dtype ${kvCacheDtype} is not supported by tsgl yet (supported: auto)`);
  const d = dtype === 'auto' ? torchDtype : dtype;
  switch (d) {
    case 'half': case 'float16': case 'gguf': return DType.F16;
    case 'bfloat16': return DType.BF16;
    default: return DType.F32;
  }
}

/**
 * TSGL_BF16_DOT: "1" rounds the activations of BF16 matmuls to bf16 (SGLang's and llama.cpp's
 * numerics for BF16 weights; ~2x prefill on CPUs with AVX512_BF16); unset or "0" keeps them
 * f32 (exact against the float64 goldens).
 */
export function bf16DotFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.TSGL_BF16_DOT;
  if (v === undefined || v === '' || v === '0') return false;
  if (v === '1') return true;
  throw new Error(`TSGL_BF16_DOT must be 0 or 1, got ${JSON.stringify(v)}`);
}

export function loadModel(opts: LoadModelOptions): LoadedModel {
  const t0 = performance.now();
  const source = openWeightSource(opts.modelPath, opts.loadFormat);
  const weightDtype = weightDtypeFor(opts.dtype, opts.quantization);
  const bar = opts.progress
    ? new SingleBar({
      format: 'Loading weights |{bar}| {percentage}% | {value}/{total} MiB | {duration}s',
      stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: false,
    })
    : null;
  const toMiB = (b: number): number => Math.round(b / 1048576);
  bar?.start(toMiB(source.totalBytes), 0);
  try {
    const weights = loadWeights(source, { weightDtype, bf16Dot: opts.bf16Dot ?? bf16DotFromEnv(), onProgress: (done) => bar?.update(toMiB(done)) });
    bar?.update(toMiB(source.totalBytes));
    return { source, config: source.config, weights, loadMs: performance.now() - t0 };
  } finally {
    bar?.stop();
  }
}

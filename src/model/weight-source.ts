/**
 * Weight sources: where a model's tensors come from, under Hugging Face names
 * (`model.layers.0.self_attn.q_proj.weight`), with shapes in HF order ([rows, cols]).
 *
 * - HfFolderSource: config.json + safetensors (single or sharded), mmapped, zero copy.
 * - GgufSource: a GGUF file, mmapped; GGUF names are mapped to HF names.
 * - DummySource: random weights generated from config.json alone (--load-format dummy).
 * - Llama2cSource (llama2c-source.ts): a llama2.c .bin checkpoint.
 *
 * Invariants: `RawTensor.bytes` is a view of the mapped file (never copied here); the dtype is a
 * GGML type id; a source never returns a tensor whose bytes do not match dtype × shape.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ggmlTensorBytes, readGguf, type GgufFile } from '../formats/gguf.js';
import { listSafetensorsFiles, readSafetensors } from '../formats/safetensors.js';
import { DType, type DTypeId } from '../native/binding.js';
import { mapFile } from '../native/ops.js';
import { Llama2cSource } from './llama2c-source.js';
import { modelConfigFromGguf, modelConfigFromHf, type ModelConfig } from './model-config.js';

export interface RawTensor {
  name: string;
  dtype: DTypeId | number;
  shape: number[]; // HF order: [rows, cols] for matrices, [n] for vectors
  bytes: Uint8Array;
}

export interface WeightSource {
  readonly kind: 'hf' | 'gguf' | 'dummy';
  readonly path: string;
  readonly config: ModelConfig;
  get(name: string): RawTensor | undefined;
  /** Bytes of all tensors (for the progress bar and the banner). */
  readonly totalBytes: number;
}

const ST_DTYPE: Record<string, number> = { F32: DType.F32, F16: DType.F16, BF16: DType.BF16 };

export class HfFolderSource implements WeightSource {
  readonly kind = 'hf' as const;
  readonly config: ModelConfig;
  readonly totalBytes: number;
  private readonly tensors = new Map<string, RawTensor>();

  constructor(readonly path: string) {
    const genPath = join(path, 'generation_config.json');
    this.config = modelConfigFromHf(join(path, 'config.json'), existsSync(genPath) ? genPath : undefined);
    let total = 0;
    for (const file of listSafetensorsFiles(path)) {
      const st = readSafetensors(file);
      const buf = mapFile(file);
      for (const info of st.tensors.values()) {
        const dtype = ST_DTYPE[info.dtype];
        if (dtype === undefined) continue; // integer buffers (e.g. rotary caches) are not weights
        this.tensors.set(info.name, { name: info.name, dtype, shape: info.shape, bytes: new Uint8Array(buf, info.offset, info.nbytes) });
        total += info.nbytes;
      }
      // Tied checkpoints may alias names in __metadata__ (tinystories: embed_tokens -> lm_head).
      for (const [alias, target] of Object.entries(st.metadata)) {
        const t = this.tensors.get(target);
        if (t && alias.endsWith('.weight') && !this.tensors.has(alias)) this.tensors.set(alias, { ...t, name: alias });
      }
    }
    this.totalBytes = total;
  }

  get(name: string): RawTensor | undefined {
    return this.tensors.get(name);
  }
}

/** GGUF tensor name (after `blk.N.`) → HF name (after `model.layers.N.`). */
const GGUF_LAYER_NAMES: Record<string, string> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_q_norm.weight': 'self_attn.q_norm.weight',
  'attn_k_norm.weight': 'self_attn.k_norm.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};
const GGUF_GLOBAL_NAMES: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
  'rope_freqs.weight': 'rope_freqs.weight',
};

export function ggufToHfName(name: string): string | undefined {
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const rest = GGUF_LAYER_NAMES[m[2]!];
    return rest ? `model.layers.${m[1]}.${rest}` : undefined;
  }
  return GGUF_GLOBAL_NAMES[name];
}

export class GgufSource implements WeightSource {
  readonly kind = 'gguf' as const;
  readonly config: ModelConfig;
  readonly totalBytes: number;
  readonly file: GgufFile;
  private readonly tensors = new Map<string, RawTensor>();

  constructor(readonly path: string) {
    this.file = readGguf(path);
    this.config = modelConfigFromGguf(this.file);
    const buf = mapFile(path);
    let total = 0;
    for (const t of this.file.tensors) {
      const hfName = ggufToHfName(t.name);
      if (!hfName) continue;
      const shape = [...t.dims].reverse(); // GGUF ne0 first → HF [rows, cols]
      this.tensors.set(hfName, { name: hfName, dtype: t.type, shape, bytes: new Uint8Array(buf, t.offset, t.nbytes) });
      total += t.nbytes;
    }
    this.totalBytes = total;
  }

  get(name: string): RawTensor | undefined {
    return this.tensors.get(name);
  }
}

/** Deterministic random weights in F32 from config.json shapes; norms are 1. */
export class DummySource implements WeightSource {
  readonly kind = 'dummy' as const;
  readonly config: ModelConfig;
  readonly totalBytes: number;
  private seed = 0x9e3779b9;

  constructor(readonly path: string) {
    const cfgPath = statSync(path).isDirectory() ? join(path, 'config.json') : path;
    const dir = statSync(path).isDirectory() ? path : join(path, '..');
    const genPath = join(dir, 'generation_config.json');
    this.config = modelConfigFromHf(cfgPath, existsSync(genPath) ? genPath : undefined);
    const c = this.config;
    const perLayer = c.hiddenSize * c.headDim * (2 * c.numHeads + 2 * c.numKvHeads) + 3 * c.hiddenSize * c.intermediateSize;
    this.totalBytes = 4 * (c.numLayers * perLayer + c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2));
  }

  get(name: string): RawTensor | undefined {
    const shape = dummyShape(this.config, name);
    if (!shape) return undefined;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (/norm\.weight$/.test(name)) data.fill(1);
    else this.fillRandom(data, name.includes('bias') ? 0.02 : 1 / Math.sqrt(shape[shape.length - 1]!));
    return { name, dtype: DType.F32, shape, bytes: new Uint8Array(data.buffer) };
  }

  private fillRandom(out: Float32Array, scale: number): void {
    let s = this.seed;
    for (let i = 0; i < out.length; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
    }
    this.seed = s;
  }
}

function dummyShape(c: ModelConfig, name: string): number[] | undefined {
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  if (name === 'model.embed_tokens.weight') return [c.vocabSize, c.hiddenSize];
  if (name === 'lm_head.weight') return c.tieWordEmbeddings ? undefined : [c.vocabSize, c.hiddenSize];
  if (name === 'model.norm.weight') return [c.hiddenSize];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m || Number(m[1]) >= c.numLayers) return undefined;
  const table: Record<string, number[] | undefined> = {
    'input_layernorm.weight': [c.hiddenSize],
    'post_attention_layernorm.weight': [c.hiddenSize],
    'self_attn.q_proj.weight': [qDim, c.hiddenSize],
    'self_attn.k_proj.weight': [kvDim, c.hiddenSize],
    'self_attn.v_proj.weight': [kvDim, c.hiddenSize],
    'self_attn.o_proj.weight': [c.hiddenSize, qDim],
    'self_attn.q_proj.bias': c.attentionBias ? [qDim] : undefined,
    'self_attn.k_proj.bias': c.attentionBias ? [kvDim] : undefined,
    'self_attn.v_proj.bias': c.attentionBias ? [kvDim] : undefined,
    'self_attn.q_norm.weight': c.qkNorm ? [c.headDim] : undefined,
    'self_attn.k_norm.weight': c.qkNorm ? [c.headDim] : undefined,
    'mlp.gate_proj.weight': [c.intermediateSize, c.hiddenSize],
    'mlp.up_proj.weight': [c.intermediateSize, c.hiddenSize],
    'mlp.down_proj.weight': [c.hiddenSize, c.intermediateSize],
  };
  return table[m[2]!];
}

/** Bytes a tensor of HF `shape` takes in `dtype`. */
export function tensorBytes(dtype: number, shape: readonly number[]): number {
  return ggmlTensorBytes(dtype, [...shape].reverse());
}

export type LoadFormat = 'auto' | 'safetensors' | 'gguf' | 'dummy';

/** Picks the source for a model path (folder or .gguf) and --load-format. */
export function openWeightSource(path: string, loadFormat: LoadFormat): WeightSource {
  if (!existsSync(path)) throw new Error(`model path ${path} does not exist`);
  if (loadFormat === 'dummy') return new DummySource(path);
  const isFile = statSync(path).isFile();
  if (loadFormat === 'gguf' || (loadFormat === 'auto' && isFile && path.endsWith('.gguf'))) return new GgufSource(path);
  if (isFile && path.endsWith('.bin')) return new Llama2cSource(path);
  if (isFile) throw new Error(`model path ${path} is a file but not a .gguf file; pass a Hugging Face folder or a GGUF file`);
  if (!existsSync(join(path, 'config.json'))) {
    const bins = readdirSync(path).filter((f) => f.endsWith('.bin') && !/^tok(enizer)?\d*\.bin$/.test(f));
    if (bins.length === 1) return new Llama2cSource(join(path, bins[0]!));
    throw new Error(`model folder ${path} has no config.json (need a Hugging Face model folder or a .gguf file)`);
  }
  return new HfFolderSource(path);
}

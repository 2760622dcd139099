/**
 * ModelConfig: the architecture hyper-parameters every model file reads, normalized from a
 * Hugging Face config.json or from GGUF metadata.
 *
 * Invariants:
 * - `architecture` is one of SUPPORTED_ARCHITECTURES; anything else fails here with a message
 *   naming it and listing the supported ones.
 * - `ropeNeox` says which RoPE pairing the stored q/k weights expect: HF checkpoints always use
 *   "rotate half" (neox); GGUF Llama files store permuted q/k and use adjacent pairs.
 */
import { readFileSync } from 'node:fs';
import type { GgufFile } from '../formats/gguf.js';
import { ggufArray, ggufNumber, ggufString } from '../formats/gguf.js';

export type Architecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3';

/** HF `architectures[0]` → family. */
export const SUPPORTED_ARCHITECTURES: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  hfArchitecture: string;
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  ropeNeox: boolean;
  /** Rotary dims per head (= headDim unless partial rotary). */
  rotaryDim: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  qkNorm: boolean;
  hiddenAct: 'silu' | 'gelu';
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** The checkpoint's declared dtype (torch_dtype), for --dtype auto reporting. */
  torchDtype: string;
}

export class ModelConfigError extends Error {}

function unsupported(name: string): ModelConfigError {
  const list = Object.keys(SUPPORTED_ARCHITECTURES).join(', ');
  return new ModelConfigError(`unsupported model architecture "${name}"; tsgl supports: ${list}`);
}

function eosList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function parseRopeScaling(raw: unknown, path: string): RopeScaling {
  if (raw === null || raw === undefined) return { type: 'none' };
  const r = raw as Record<string, unknown>;
  const type = String(r.rope_type ?? r.type ?? 'default');
  const factor = Number(r.factor ?? 1);
  if (type === 'default') return { type: 'none' };
  if (type === 'linear') return { type: 'linear', factor };
  if (type === 'llama3') {
    return {
      type: 'llama3', factor,
      lowFreqFactor: Number(r.low_freq_factor ?? 1),
      highFreqFactor: Number(r.high_freq_factor ?? 4),
      originalMaxPositions: Number(r.original_max_position_embeddings ?? 8192),
    };
  }
  throw new ModelConfigError(`${path}: rope_scaling type "${type}" is not supported yet (supported: linear, llama3)`);
}

/** Reads config.json of a Hugging Face folder (plus generation_config.json eos ids when present). */
export function modelConfigFromHf(configPath: string, generationConfigPath?: string): ModelConfig {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelConfigError(`cannot read model config ${configPath}: ${(e as Error).message}`);
  }
  const hfArchitecture = String((c.architectures as string[] | undefined)?.[0] ?? c.model_type ?? 'unknown');
  const architecture = SUPPORTED_ARCHITECTURES[hfArchitecture];
  if (!architecture) throw unsupported(hfArchitecture);
  const need = (key: string): number => {
    const v = c[key];
    if (typeof v !== 'number') throw new ModelConfigError(`${configPath}: missing or non-numeric "${key}"`);
    return v;
  };
  const numHeads = need('num_attention_heads');
  const hiddenSize = need('hidden_size');
  const headDim = typeof c.head_dim === 'number' ? c.head_dim : hiddenSize / numHeads;
  const eos = eosList(c.eos_token_id);
  if (generationConfigPath) {
    try {
      const g = JSON.parse(readFileSync(generationConfigPath, 'utf8')) as Record<string, unknown>;
      for (const id of eosList(g.eos_token_id)) if (!eos.includes(id)) eos.push(id);
    } catch {
      // generation_config.json is optional
    }
  }
  const act = String(c.hidden_act ?? 'silu');
  return {
    hfArchitecture, architecture, hiddenSize, headDim, numHeads,
    intermediateSize: need('intermediate_size'),
    numLayers: need('num_hidden_layers'),
    numKvHeads: typeof c.num_key_value_heads === 'number' ? c.num_key_value_heads : numHeads,
    vocabSize: need('vocab_size'),
    rmsNormEps: Number(c.rms_norm_eps ?? 1e-6),
    ropeTheta: Number(c.rope_theta ?? 10000),
    ropeScaling: parseRopeScaling(c.rope_scaling, configPath),
    ropeNeox: true,
    rotaryDim: headDim,
    maxPositionEmbeddings: Number(c.max_position_embeddings ?? 2048),
    tieWordEmbeddings: Boolean(c.tie_word_embeddings ?? false),
    attentionBias: architecture === 'qwen2' ? true : Boolean(c.attention_bias ?? false),
    qkNorm: architecture === 'qwen3',
    hiddenAct: act.startsWith('gelu') ? 'gelu' : 'silu',
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : null,
    eosTokenIds: eos,
    torchDtype: String(c.torch_dtype ?? 'float32'),
  };
}

const GGUF_ARCH: Record<string, [Architecture, string]> = {
  llama: ['llama', 'LlamaForCausalLM'],
  mistral: ['mistral', 'MistralForCausalLM'],
  qwen2: ['qwen2', 'Qwen2ForCausalLM'],
  qwen3: ['qwen3', 'Qwen3ForCausalLM'],
};

/** Reads the `<arch>.*` hyper-parameters of a GGUF file. */
export function modelConfigFromGguf(f: GgufFile): ModelConfig {
  const ggufArch = ggufString(f, 'general.architecture') ?? 'unknown';
  const entry = GGUF_ARCH[ggufArch];
  if (!entry) throw unsupported(`${ggufArch} (GGUF)`);
  const [architecture, hfArchitecture] = entry;
  const key = (k: string): number | undefined => ggufNumber(f, `${ggufArch}.${k}`);
  const need = (k: string): number => {
    const v = key(k);
    if (v === undefined) throw new ModelConfigError(`${f.path}: missing GGUF key ${ggufArch}.${k}`);
    return v;
  };
  const hiddenSize = need('embedding_length');
  const numHeads = need('attention.head_count');
  const headDim = key('attention.key_length') ?? hiddenSize / numHeads;
  const embd = f.tensors.find((t) => t.name === 'token_embd.weight');
  const vocabSize = key('vocab_size') ?? ggufArray(f, 'tokenizer.ggml.tokens')?.length ?? embd?.dims[1];
  if (!vocabSize) throw new ModelConfigError(`${f.path}: cannot determine the vocabulary size`);
  const scalingType = ggufString(f, `${ggufArch}.rope.scaling.type`);
  const scalingFactor = key('rope.scaling.factor') ?? 1;
  const ropeScaling: RopeScaling = scalingType === 'linear' && scalingFactor !== 1
    ? { type: 'linear', factor: scalingFactor }
    : { type: 'none' };
  const eos = ggufNumber(f, 'tokenizer.ggml.eos_token_id');
  const bos = ggufNumber(f, 'tokenizer.ggml.bos_token_id');
  const hasOutput = f.tensors.some((t) => t.name === 'output.weight');
  return {
    hfArchitecture, architecture, hiddenSize, numHeads, headDim, vocabSize,
    intermediateSize: need('feed_forward_length'),
    numLayers: need('block_count'),
    numKvHeads: key('attention.head_count_kv') ?? numHeads,
    rmsNormEps: key('attention.layer_norm_rms_epsilon') ?? 1e-5,
    ropeTheta: key('rope.freq_base') ?? 10000,
    ropeScaling,
    // GGUF Llama/Mistral store q/k permuted for adjacent-pair RoPE; Qwen uses NEOX order.
    ropeNeox: architecture === 'qwen2' || architecture === 'qwen3',
    rotaryDim: key('rope.dimension_count') ?? headDim,
    maxPositionEmbeddings: key('context_length') ?? 2048,
    tieWordEmbeddings: !hasOutput,
    attentionBias: f.tensors.some((t) => t.name === 'blk.0.attn_q.bias'),
    qkNorm: f.tensors.some((t) => t.name === 'blk.0.attn_q_norm.weight'),
    hiddenAct: 'silu',
    bosTokenId: bos ?? null,
    eosTokenIds: eos === undefined ? [] : [eos],
    torchDtype: 'gguf',
  };
}

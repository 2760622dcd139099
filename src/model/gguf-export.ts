/**
 * Exports a model (HF folder or a dummy config.json) to a GGUF file that both tsgl and llama.cpp
 * load, so the same bytes can be benchmarked by both engines (`tsgl convert`).
 *
 * Invariants:
 * - Names, metadata keys and layouts follow llama.cpp's converter: Llama/Mistral q/k rows are
 *   permuted for adjacent-pair RoPE, Qwen keeps NEOX order; Llama 3 rope scaling becomes a
 *   `rope_freqs.weight` tensor; norms and biases stay F32.
 * - Matrices whose row length is not a multiple of 32 cannot be block-quantized and are written
 *   as F16 (as llama.cpp does).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeGguf, type GgufKv, type GgufTensorOut } from '../formats/gguf-writer.js';
import { DType, type DTypeId } from '../native/binding.js';
import * as ops from '../native/ops.js';
import { GGML_Q5_0, quantizeQ5_0 } from './ggml-legacy.js';
import type { ModelConfig } from './model-config.js';
import { ropeInvFreq } from './rope.js';
import { openWeightSource, tensorBytes, type RawTensor, type WeightSource } from './weight-source.js';

export type ExportType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q5_0';
/** GGML type of the matrices (Q5_0 is written here, not by the addon). */
const EXPORT_DTYPE: Record<ExportType, number> = {
  f32: DType.F32, f16: DType.F16, bf16: DType.BF16, q8_0: DType.Q8_0, q4_0: DType.Q4_0, q5_0: GGML_Q5_0,
};
/** llama.cpp `general.file_type` (LLAMA_FTYPE_*). */
const FILE_TYPE: Record<ExportType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q5_0: 8, bf16: 32 };

export interface ExportOptions {
  modelPath: string;
  outPath: string;
  outType: ExportType;
  dummy: boolean;
  tokenizerPath?: string;
}

function toF32(t: RawTensor): Float32Array {
  const [rows, cols] = t.shape.length === 2 ? t.shape as [number, number] : [1, t.shape[0]!];
  const out = new Float32Array(rows * cols);
  ops.dequantizeRows(out, t.bytes, rows, cols, t.dtype as DTypeId);
  return out;
}

/** Reorders q/k rows from HF "rotate half" order to GGML adjacent pairs, per head. */
export function permuteForInterleavedRope(w: Float32Array, rows: number, cols: number, numHeads: number): Float32Array {
  const headDim = rows / numHeads;
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * headDim + j * half + i;
        const dst = h * headDim + 2 * i + j;
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

function encodeMatrix(f32: Float32Array, rows: number, cols: number, dtype: number): { data: Uint8Array; type: number } {
  const type = (dtype === DType.Q8_0 || dtype === DType.Q4_0 || dtype === GGML_Q5_0) && cols % 32 !== 0 ? DType.F16 : dtype;
  if (type === GGML_Q5_0) return { data: quantizeQ5_0(f32), type };
  const data = new Uint8Array(tensorBytes(type, [rows, cols]));
  ops.quantizeRows(data, f32, rows, cols, type as DTypeId);
  return { data, type };
}

function metadata(c: ModelConfig, arch: string, outType: ExportType, name: string): GgufKv[] {
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: arch },
    { key: 'general.name', type: 'string', value: name },
    { key: 'general.file_type', type: 'u32', value: FILE_TYPE[outType] },
    { key: 'general.quantization_version', type: 'u32', value: 2 },
    { key: `${arch}.context_length`, type: 'u32', value: c.maxPositionEmbeddings },
    { key: `${arch}.embedding_length`, type: 'u32', value: c.hiddenSize },
    { key: `${arch}.block_count`, type: 'u32', value: c.numLayers },
    { key: `${arch}.feed_forward_length`, type: 'u32', value: c.intermediateSize },
    { key: `${arch}.attention.head_count`, type: 'u32', value: c.numHeads },
    { key: `${arch}.attention.head_count_kv`, type: 'u32', value: c.numKvHeads },
    { key: `${arch}.attention.key_length`, type: 'u32', value: c.headDim },
    { key: `${arch}.attention.value_length`, type: 'u32', value: c.headDim },
    { key: `${arch}.rope.dimension_count`, type: 'u32', value: c.rotaryDim },
    { key: `${arch}.rope.freq_base`, type: 'f32', value: c.ropeTheta },
    { key: `${arch}.attention.layer_norm_rms_epsilon`, type: 'f32', value: c.rmsNormEps },
    { key: `${arch}.vocab_size`, type: 'u32', value: c.vocabSize },
  ];
  if (c.ropeScaling.type === 'linear') {
    kv.push({ key: `${arch}.rope.scaling.type`, type: 'string', value: 'linear' });
    kv.push({ key: `${arch}.rope.scaling.factor`, type: 'f32', value: c.ropeScaling.factor });
  }
  return kv;
}

/** Byte-level BPE tokenizer.json → llama.cpp `gpt2` vocab keys; an empty list when not convertible. */
function vocabMetadata(c: ModelConfig, tokenizerDir: string | undefined): GgufKv[] {
  const tokPath = tokenizerDir ? join(tokenizerDir, 'tokenizer.json') : undefined;
  if (!tokPath || !existsSync(tokPath)) return [{ key: 'tokenizer.ggml.model', type: 'string', value: 'none' }];
  const tok = JSON.parse(readFileSync(tokPath, 'utf8')) as {
    model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
    added_tokens?: { id: number; content: string; special: boolean }[];
    pre_tokenizer?: unknown;
  };
  const isByteLevel = JSON.stringify(tok.pre_tokenizer ?? '').includes('ByteLevel');
  if (tok.model.type !== 'BPE' || !isByteLevel) return [{ key: 'tokenizer.ggml.model', type: 'string', value: 'none' }];
  const tokens: string[] = new Array(c.vocabSize);
  const types = new Int32Array(c.vocabSize);
  for (let i = 0; i < c.vocabSize; i++) { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  for (const [piece, id] of Object.entries(tok.model.vocab)) if (id < c.vocabSize) { tokens[id] = piece; types[id] = 1; }
  for (const a of tok.added_tokens ?? []) if (a.id < c.vocabSize) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  const merges = tok.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const pre = c.architecture.startsWith('qwen') ? 'qwen2' : c.vocabSize >= 128000 ? 'llama-bpe' : 'gpt-2';
  const kv: GgufKv[] = [
    { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: 'string', value: pre },
    { key: 'tokenizer.ggml.tokens', type: 'string[]', value: tokens },
    { key: 'tokenizer.ggml.token_type', type: 'i32[]', value: types },
    { key: 'tokenizer.ggml.merges', type: 'string[]', value: merges },
  ];
  if (c.bosTokenId !== null) kv.push({ key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: c.bosTokenId });
  if (c.eosTokenIds.length) kv.push({ key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: c.eosTokenIds[0]! });
  const cfgPath = join(tokenizerDir!, 'tokenizer_config.json');
  if (existsSync(cfgPath)) {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { chat_template?: unknown };
    if (typeof cfg.chat_template === 'string') kv.push({ key: 'tokenizer.chat_template', type: 'string', value: cfg.chat_template });
  }
  return kv;
}

function layerTensors(src: WeightSource, c: ModelConfig, i: number, dtype: number, permute: boolean): GgufTensorOut[] {
  const p = `model.layers.${i}.`;
  const out: GgufTensorOut[] = [];
  const vec = (hf: string, gg: string): void => {
    const t = src.get(p + hf);
    if (t) out.push({ name: `blk.${i}.${gg}`, dims: [t.shape[0]!], type: DType.F32, data: new Uint8Array(toF32(t).buffer) });
  };
  const mat = (hf: string, gg: string, permuteHeads = 0): void => {
    const t = src.get(p + hf);
    if (!t) throw new Error(`${src.path}: tensor ${p + hf} is missing`);
    const [rows, cols] = t.shape as [number, number];
    let f32 = toF32(t);
    if (permuteHeads) f32 = permuteForInterleavedRope(f32, rows, cols, permuteHeads);
    const { data, type } = encodeMatrix(f32, rows, cols, dtype);
    out.push({ name: `blk.${i}.${gg}`, dims: [cols, rows], type, data });
  };
  vec('input_layernorm.weight', 'attn_norm.weight');
  mat('self_attn.q_proj.weight', 'attn_q.weight', permute ? c.numHeads : 0);
  mat('self_attn.k_proj.weight', 'attn_k.weight', permute ? c.numKvHeads : 0);
  mat('self_attn.v_proj.weight', 'attn_v.weight');
  vec('self_attn.q_proj.bias', 'attn_q.bias');
  vec('self_attn.k_proj.bias', 'attn_k.bias');
  vec('self_attn.v_proj.bias', 'attn_v.bias');
  vec('self_attn.q_norm.weight', 'attn_q_norm.weight');
  vec('self_attn.k_norm.weight', 'attn_k_norm.weight');
  mat('self_attn.o_proj.weight', 'attn_output.weight');
  vec('post_attention_layernorm.weight', 'ffn_norm.weight');
  mat('mlp.gate_proj.weight', 'ffn_gate.weight');
  mat('mlp.up_proj.weight', 'ffn_up.weight');
  mat('mlp.down_proj.weight', 'ffn_down.weight');
  return out;
}

export function exportGguf(opts: ExportOptions): { tensors: number; bytes: number } {
  const src = openWeightSource(opts.modelPath, opts.dummy ? 'dummy' : 'auto');
  if (src.kind === 'gguf') throw new Error('convert reads a Hugging Face folder or a config.json (--load-format dummy), not a GGUF file');
  const c = src.config;
  const dtype = EXPORT_DTYPE[opts.outType];
  const arch = c.architecture;
  const permute = arch === 'llama' || arch === 'mistral';
  const tensors: GgufTensorOut[] = [];
  const embed = src.get('model.embed_tokens.weight') ?? src.get('lm_head.weight');
  if (!embed) throw new Error(`${src.path}: no embedding tensor`);
  tensors.push({ name: 'token_embd.weight', dims: [c.hiddenSize, c.vocabSize], ...encodeMatrix(toF32(embed), c.vocabSize, c.hiddenSize, dtype) });
  for (let i = 0; i < c.numLayers; i++) tensors.push(...layerTensors(src, c, i, dtype, permute));
  const norm = src.get('model.norm.weight');
  if (!norm) throw new Error(`${src.path}: tensor model.norm.weight is missing`);
  tensors.push({ name: 'output_norm.weight', dims: [c.hiddenSize], type: DType.F32, data: new Uint8Array(toF32(norm).buffer) });
  const head = src.get('lm_head.weight');
  if (head && !c.tieWordEmbeddings && src.get('model.embed_tokens.weight')) {
    tensors.push({ name: 'output.weight', dims: [c.hiddenSize, c.vocabSize], ...encodeMatrix(toF32(head), c.vocabSize, c.hiddenSize, dtype) });
  }
  if (c.ropeScaling.type === 'llama3') {
    // llama.cpp divides the base frequencies by these factors.
    const base = ropeInvFreq(c.rotaryDim, c.ropeTheta, { type: 'none' });
    const scaled = ropeInvFreq(c.rotaryDim, c.ropeTheta, c.ropeScaling);
    const factors = base.map((b, i) => b / scaled[i]!);
    tensors.push({ name: 'rope_freqs.weight', dims: [factors.length], type: DType.F32, data: new Uint8Array(factors.buffer) });
  }
  const name = opts.modelPath.split('/').filter(Boolean).pop() ?? 'model';
  const kvs = [...metadata(c, arch, opts.outType, name), ...vocabMetadata(c, opts.tokenizerPath ?? (opts.dummy ? undefined : opts.modelPath))];
  writeGguf(opts.outPath, kvs, tensors);
  return { tensors: tensors.length, bytes: tensors.reduce((a, t) => a + t.data.byteLength, 0) };
}

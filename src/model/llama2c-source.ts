/**
 * Llama2cSource: karpathy's llama2.c checkpoint format (legacy version 0): a header of 7 int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
 * means an unshared classifier follows), then f32 weights in llama2.c order:
 *   token_embedding [V, dim] | rms_att [L, dim] | wq [L, dim, dim] | wk [L, kvDim, dim] | wv [L, kvDim, dim]
 *   | wo [L, dim, dim] | rms_ffn [L, dim] | w1 [L, hidden, dim] | w2 [L, dim, hidden] | w3 [L, hidden, dim]
 *   | rms_final [dim] | freq_cis_real, freq_cis_imag [seq_len, headDim/2] each | (wcls [V, dim])
 * Weights are row-major [out, in] like HF; RoPE pairs adjacent dims (ropeNeox false).
 *
 * Invariant: the file size must equal what the header implies, else a clear error.
 */
import { statSync } from 'node:fs';
import { DType } from '../native/binding.js';
import { mapFile } from '../native/ops.js';
import type { ModelConfig } from './model-config.js';
import type { RawTensor, WeightSource } from './weight-source.js';

export class Llama2cSource implements WeightSource {
  readonly kind = 'hf' as const;
  readonly config: ModelConfig;
  readonly totalBytes: number;
  private readonly tensors = new Map<string, RawTensor>();

  constructor(readonly path: string) {
    const buf = mapFile(path);
    if (buf.byteLength < 28) throw new Error(`${path}: too small for a llama2.c checkpoint (${buf.byteLength} bytes)`);
    const [dim, hidden, numLayers, numHeads, numKvHeads, rawVocab, seqLen] = Array.from(new Int32Array(buf, 0, 7)) as number[];
    const vocab = Math.abs(rawVocab!);
    const headDim = dim! / numHeads!;
    const kvDim = numKvHeads! * headDim;
    const L = numLayers!;
    let off = 28;
    const take = (name: string, shape: number[]): void => {
      const nbytes = 4 * shape.reduce((a, b) => a * b, 1);
      if (off + nbytes > buf.byteLength) throw new Error(`${path}: truncated llama2.c checkpoint (tensor ${name} ends at ${off + nbytes}, file has ${buf.byteLength} bytes)`);
      this.tensors.set(name, { name, dtype: DType.F32, shape, bytes: new Uint8Array(buf, off, nbytes) });
      off += nbytes;
    };
    const perLayer = (suffix: string, shape: number[]): void => {
      for (let l = 0; l < L; l++) take(`model.layers.${l}.${suffix}`, shape);
    };
    take('model.embed_tokens.weight', [vocab, dim!]);
    perLayer('input_layernorm.weight', [dim!]);
    perLayer('self_attn.q_proj.weight', [dim!, dim!]);
    perLayer('self_attn.k_proj.weight', [kvDim, dim!]);
    perLayer('self_attn.v_proj.weight', [kvDim, dim!]);
    perLayer('self_attn.o_proj.weight', [dim!, dim!]);
    perLayer('post_attention_layernorm.weight', [dim!]);
    perLayer('mlp.gate_proj.weight', [hidden!, dim!]);
    perLayer('mlp.down_proj.weight', [dim!, hidden!]);
    perLayer('mlp.up_proj.weight', [hidden!, dim!]);
    take('model.norm.weight', [dim!]);
    off += 2 * 4 * seqLen! * (headDim / 2); // unused RoPE tables
    if (rawVocab! < 0) take('lm_head.weight', [vocab, dim!]);
    if (off !== statSync(path).size) throw new Error(`${path}: size ${statSync(path).size} does not match a llama2.c checkpoint with header ${[dim, hidden, numLayers, numHeads, numKvHeads, rawVocab, seqLen].join(' ')} (expected ${off} bytes)`);
    this.totalBytes = off;
    this.config = {
      hfArchitecture: 'LlamaForCausalLM', architecture: 'llama', hiddenSize: dim!, intermediateSize: hidden!, numLayers: L,
      numHeads: numHeads!, numKvHeads: numKvHeads!, headDim, vocabSize: vocab, rmsNormEps: 1e-5, ropeTheta: 10000,
      ropeScaling: { type: 'none' }, ropeNeox: false, rotaryDim: headDim, maxPositionEmbeddings: seqLen!,
      tieWordEmbeddings: rawVocab! > 0, attentionBias: false, qkNorm: false, hiddenAct: 'silu',
      bosTokenId: 1, eosTokenIds: [2], torchDtype: 'float32',
    };
  }

  get(name: string): RawTensor | undefined {
    return this.tensors.get(name);
  }
}

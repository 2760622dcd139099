/**
 * Llama 1/2/3 (and the architecture Mistral shares): pre-norm decoder layers with GQA attention,
 * RoPE (llama3 / linear scaling folded into the frequencies) and a SiLU-gated MLP.
 */
import type { ModelFamily } from './family.js';
import { gatedMlp, inputNorm, oProj, pagedAttention, postAttnNorm, qkvProj, rotary } from './layers.js';

export const llama: ModelFamily = {
  name: 'llama',
  layer(ctx, lw, layerIdx) {
    inputNorm(ctx, lw, layerIdx);
    qkvProj(ctx, lw);
    rotary(ctx);
    pagedAttention(ctx, layerIdx);
    oProj(ctx, lw);
    postAttnNorm(ctx, lw);
    gatedMlp(ctx, lw);
  },
};

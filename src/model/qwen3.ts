/**
 * Qwen3: no q/k/v biases; a per-head RMSNorm on q and k (over head_dim) before RoPE.
 */
import type { ModelFamily } from './family.js';
import { gatedMlp, inputNorm, oProj, pagedAttention, postAttnNorm, qkNorm, qkvProj, rotary } from './layers.js';

export const qwen3: ModelFamily = {
  name: 'qwen3',
  layer(ctx, lw, layerIdx) {
    inputNorm(ctx, lw, layerIdx);
    qkvProj(ctx, lw);
    qkNorm(ctx, lw);
    rotary(ctx);
    pagedAttention(ctx, layerIdx);
    oProj(ctx, lw);
    postAttnNorm(ctx, lw);
    gatedMlp(ctx, lw);
  },
};

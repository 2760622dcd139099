/**
 * Qwen2 / Qwen2.5: the Llama layer with biases on the q, k and v projections
 * (qkvProj adds them; the weights loader reads them because config.attentionBias is set).
 */
import type { ModelFamily } from './family.js';
import { gatedMlp, inputNorm, oProj, pagedAttention, postAttnNorm, qkvProj, rotary } from './layers.js';

export const qwen2: ModelFamily = {
  name: 'qwen2',
  layer(ctx, lw, layerIdx) {
    inputNorm(ctx, lw, layerIdx);
    qkvProj(ctx, lw); // with q/k/v biases
    rotary(ctx);
    pagedAttention(ctx, layerIdx);
    oProj(ctx, lw);
    postAttnNorm(ctx, lw);
    gatedMlp(ctx, lw);
  },
};

/**
 * ModelFamily: how one architecture composes the shared layers into a decoder layer.
 * Each family lives in its own short file and registers itself in registry.ts.
 */
import type { ForwardContext } from './layers.js';
import type { LayerWeights } from './weights.js';

export interface ModelFamily {
  readonly name: string;
  /** Runs decoder layer `layerIdx`: reads ctx.state.hidden/residual, leaves its output in hidden. */
  layer(ctx: ForwardContext, lw: LayerWeights, layerIdx: number): void;
}

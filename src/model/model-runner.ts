/**
 * DecoderModelRunner: the ModelRunner of every decoder-only family. One forward step:
 * embed (and the RoPE table of the step's positions) → family.layer × numLayers → final norm →
 * logits for batch.logitRows only. The last layer runs its attention queries, o projection and MLP
 * for the logit rows only when they are their requests' last tokens (last-layer-prune.ts).
 *
 * Invariants: batch.numTokens <= state.maxTokens (and so are its logit rows);
 * the returned logits buffer is reused by the next step ([numLogitRows, vocab] prefix is valid).
 */
import type { ForwardBatch, ModelRunner } from '../engine/types.js';
import * as ops from '../native/ops.js';
import type { ModelFamily } from './family.js';
import { LastLayerPruner } from './last-layer-prune.js';
import type { ForwardContext } from './layers.js';
import type { ModelConfig } from './model-config.js';
import { familyFor } from './registry.js';
import { ropeInvFreq } from './rope.js';
import { RunState } from './run-state.js';
import type { ModelWeights } from './weights.js';

export class DecoderModelRunner implements ModelRunner {
  readonly vocabSize: number;
  readonly state: RunState;
  private readonly family: ModelFamily;
  private readonly ctx: ForwardContext;
  private readonly pruner = new LastLayerPruner();

  constructor(
    readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    kvPool: ops.KvPool,
    maxTokens: number,
    initialLogitRows: number,
  ) {
    this.vocabSize = config.vocabSize;
    this.family = familyFor(config.architecture);
    this.state = new RunState(config, maxTokens, initialLogitRows);
    const invFreq = ropeInvFreq(config.rotaryDim, config.ropeTheta, config.ropeScaling, weights.ropeFreqFactors ?? undefined);
    this.ctx = {
      config, state: this.state, kvPool, invFreq,
      attnScale: 1 / Math.sqrt(config.headDim),
      batch: undefined as unknown as ForwardBatch,
      pruneTo: null,
    };
  }

  forward(batch: ForwardBatch): Float32Array {
    const { state: s, config: c, weights: w } = this;
    if (batch.numTokens > s.maxTokens) {
      throw new Error(`batch of ${batch.numTokens} tokens exceeds the run state's ${s.maxTokens}`);
    }
    s.ensureLogitRows(batch.numLogitRows);
    const ctx = this.ctx;
    ctx.batch = batch;
    ctx.pruneTo = null; // (a forward that threw may have left it set)
    ops.embed(s.hidden, w.embed, batch.inputIds, batch.numTokens);
    ops.ropeTable(s.ropeTable, batch.positions, batch.numTokens, ctx.invFreq);
    const pruned = this.pruner.plan(batch);
    for (let i = 0; i < c.numLayers; i++) {
      if (i === c.numLayers - 1) ctx.pruneTo = pruned;
      this.family.layer(ctx, w.layers[i]!, i);
    }
    const out = ctx.batch; // the pruned batch when the last layer switched to it
    ctx.batch = batch;
    ctx.pruneTo = null;
    ops.addRmsNorm(s.residual, s.hidden, s.normed, w.finalNorm, out.numTokens, c.hiddenSize, c.rmsNormEps);
    if (out.numLogitRows > 0) {
      ops.gatherRows(s.logitInput, s.normed, out.logitRows, out.numLogitRows, c.hiddenSize);
      ops.matmul(s.logits, s.logitInput, w.lmHead, out.numLogitRows);
    }
    return s.logits;
  }
}

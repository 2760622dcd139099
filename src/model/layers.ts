/**
 * Shared transformer layers, as steps over a ForwardContext. Each family file composes these in
 * its own order; every step reads and writes RunState buffers for `batch.numTokens` rows.
 *
 * Data flow of one decoder layer (buffers in RunState):
 *   residual --inputNorm--> normed --q/k/v--> q, k, v --[qkNorm]--> --rope--> --storeKv, attention--> attnOut
 *   attnOut --o--> hidden --addRmsNorm(residual += hidden)--> normed --gateUp, glu, down--> hidden
 * The next layer's inputNorm adds `hidden` into `residual` first (fused residual add).
 */
import type { ForwardBatch } from '../engine/types.js';
import * as ops from '../native/ops.js';
import { compactRows } from './last-layer-prune.js';
import type { ModelConfig } from './model-config.js';
import type { RunState } from './run-state.js';
import type { LayerWeights } from './weights.js';

export interface ForwardContext {
  readonly config: ModelConfig;
  readonly state: RunState;
  readonly kvPool: ops.KvPool;
  readonly invFreq: Float32Array; // [rotaryDim / 2]
  readonly attnScale: number;
  batch: ForwardBatch;
  /**
   * Set by the runner for the last layer when only the logit rows need its output
   * (last-layer-prune.ts): pagedAttention stores every row's K/V, then switches `batch` to this
   * reduced batch, whose rows are the logit rows, and the rest of the layer runs on those.
   */
  pruneTo: ForwardBatch | null;
}

/** Residual add (except before layer 0) and the attention pre-norm: normed = norm(residual). */
export function inputNorm(ctx: ForwardContext, lw: LayerWeights, layerIdx: number): void {
  const { state: s, config: c, batch } = ctx;
  const n = batch.numTokens;
  if (layerIdx === 0) {
    s.residual.set(s.hidden.subarray(0, n * c.hiddenSize));
    ops.rmsNorm(s.normed, s.residual, lw.inputNorm, n, c.hiddenSize, c.rmsNormEps);
  } else {
    ops.addRmsNorm(s.residual, s.hidden, s.normed, lw.inputNorm, n, c.hiddenSize, c.rmsNormEps);
  }
}

/** q, k, v projections (with biases where the family has them). */
export function qkvProj(ctx: ForwardContext, lw: LayerWeights): void {
  const { state: s, config: c, batch } = ctx;
  const n = batch.numTokens;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  ops.matmul3(s.q, s.k, s.v, s.normed, lw.q, lw.k, lw.v, n);
  if (lw.qBias) ops.addBias(s.q, lw.qBias, n, qDim);
  if (lw.kBias) ops.addBias(s.k, lw.kBias, n, kvDim);
  if (lw.vBias) ops.addBias(s.v, lw.vBias, n, kvDim);
}

/** Per-head RMSNorm of q and k (Qwen3), before RoPE. */
export function qkNorm(ctx: ForwardContext, lw: LayerWeights): void {
  const { state: s, config: c, batch } = ctx;
  const n = batch.numTokens;
  ops.rmsNorm(s.q, s.q, lw.qNorm!, n * c.numHeads, c.headDim, c.rmsNormEps);
  ops.rmsNorm(s.k, s.k, lw.kNorm!, n * c.numKvHeads, c.headDim, c.rmsNormEps);
}

/** RoPE of q and k from the step's cos/sin table (`state.ropeTable`, filled once per forward). */
export function rotary(ctx: ForwardContext): void {
  const { state: s, config: c, batch } = ctx;
  ops.ropeQk(s.q, s.k, s.ropeTable, batch.numTokens, c.numHeads, c.numKvHeads, c.headDim, ctx.invFreq.length, c.ropeNeox);
}

/**
 * Writes this step's k/v into the pool, then attends over each request's cached + new tokens
 * (only the logit rows' queries when `ctx.pruneTo` is set: q and residual rows are compacted to
 * them and `ctx.batch` becomes the reduced batch).
 */
export function pagedAttention(ctx: ForwardContext, layerIdx: number): void {
  const { state: s, config: c } = ctx;
  ops.storeKv(ctx.kvPool, layerIdx, s.k, s.v, ctx.batch.outLoc, ctx.batch.numTokens);
  if (ctx.pruneTo !== null) {
    const full = ctx.batch, n = full.numLogitRows;
    compactRows(s.q, full.logitRows, n, c.numHeads * c.headDim);
    compactRows(s.residual, full.logitRows, n, c.hiddenSize);
    ctx.batch = ctx.pruneTo;
    ctx.pruneTo = null;
  }
  const batch = ctx.batch;
  ops.attention(
    s.attnOut, s.q, ctx.kvPool, layerIdx, c.numHeads,
    batch.numReqs, batch.qIndptr, batch.kvIndptr, batch.kvIndices, ctx.attnScale,
  );
}

export function oProj(ctx: ForwardContext, lw: LayerWeights): void {
  ops.matmul(ctx.state.hidden, ctx.state.attnOut, lw.o, ctx.batch.numTokens);
}

/** residual += hidden; normed = norm(residual) (the MLP pre-norm). */
export function postAttnNorm(ctx: ForwardContext, lw: LayerWeights): void {
  const { state: s, config: c, batch } = ctx;
  ops.addRmsNorm(s.residual, s.hidden, s.normed, lw.postAttnNorm, batch.numTokens, c.hiddenSize, c.rmsNormEps);
}

/**
 * Gated MLP: hidden = down(act(gate(normed)) * up(normed)), in passes of `state.mlpRows` rows so
 * the activations are still in cache when the down projection reads them (rows are independent:
 * same results as one pass). `matmulGlu` applies the GLU inside the gate/up GEMM where the addon
 * can (else it fills the [rows, 2 * intermediate] gateUp scratch and runs the GLU over it).
 */
export function gatedMlp(ctx: ForwardContext, lw: LayerWeights): void {
  const { state: s, config: c, batch } = ctx;
  const n = batch.numTokens, h = c.hiddenSize, d = c.intermediateSize, act = c.hiddenAct === 'gelu' ? 1 : 0;
  for (let r0 = 0; r0 < n; r0 += s.mlpRows) {
    const rows = Math.min(s.mlpRows, n - r0);
    const gateUp = s.gateUp.subarray(0, rows * 2 * d); // [rows, 2 * intermediate]
    const actRows = s.act.subarray(0, rows * d); // [rows, intermediate]
    ops.matmulGlu(actRows, gateUp, s.normed.subarray(r0 * h, (r0 + rows) * h), lw.gateUp, rows, act);
    ops.matmul(s.hidden.subarray(r0 * h, (r0 + rows) * h), actRows, lw.down, rows);
  }
}

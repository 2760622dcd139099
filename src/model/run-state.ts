/**
 * RunState: every activation buffer of a forward step, allocated once for at most `maxTokens`
 * tokens. Steps use prefixes of these buffers (kernels take explicit row counts).
 *
 * Invariants: the token buffers are never reallocated (the MLP's gate/up and activation buffers
 * hold `mlpRows` rows: the MLP runs in passes of that many); a batch larger than maxTokens is a
 * scheduler bug and fails loudly. The logit buffers start at `initialLogitRows` rows and grow
 * (doubling, up to maxTokens) only when a step needs more rows (large decode batches, input
 * logprobs), so a 150k vocabulary does not cost [maxTokens, vocab] floats up front.
 */
import type { ModelConfig } from './model-config.js';

/** Rows per MLP pass: [512, 2 * intermediate] floats (6 MiB for SmolLM2) stay in L2/L3. */
const MLP_ROWS = 512;

export class RunState {
  readonly hidden: Float32Array; // [maxTokens, hidden] embeddings, then each sub-block's output
  readonly residual: Float32Array; // [maxTokens, hidden] the residual stream
  readonly normed: Float32Array; // [maxTokens, hidden] normalized input of the next sub-block
  readonly q: Float32Array; // [maxTokens, numHeads, headDim]
  readonly k: Float32Array; // [maxTokens, numKvHeads, headDim]
  readonly v: Float32Array; // [maxTokens, numKvHeads, headDim]
  readonly attnOut: Float32Array; // [maxTokens, numHeads, headDim]
  /** Rows the MLP runs at a time (its gate/up output stays in cache; see layers.gatedMlp). */
  readonly mlpRows: number;
  readonly gateUp: Float32Array; // [mlpRows, 2 * intermediate]
  readonly act: Float32Array; // [mlpRows, intermediate]
  /** RoPE cos/sin of the step's positions, filled once per forward (ops.ropeTable). */
  readonly ropeTable: Float32Array; // [maxTokens, rotaryDim]: per token rotaryDim/2 cos, then as many sin
  logitInput: Float32Array; // [logitRowCapacity, hidden]
  logits: Float32Array; // [logitRowCapacity, vocab]
  logitRowCapacity: number;

  constructor(private readonly c: ModelConfig, readonly maxTokens: number, initialLogitRows: number) {
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    this.hidden = new Float32Array(maxTokens * c.hiddenSize);
    this.residual = new Float32Array(maxTokens * c.hiddenSize);
    this.normed = new Float32Array(maxTokens * c.hiddenSize);
    this.q = new Float32Array(maxTokens * qDim);
    this.k = new Float32Array(maxTokens * kvDim);
    this.v = new Float32Array(maxTokens * kvDim);
    this.attnOut = new Float32Array(maxTokens * qDim);
    this.mlpRows = Math.min(maxTokens, MLP_ROWS);
    this.gateUp = new Float32Array(this.mlpRows * 2 * c.intermediateSize);
    this.act = new Float32Array(this.mlpRows * c.intermediateSize);
    this.ropeTable = new Float32Array(maxTokens * 2 * Math.floor(c.rotaryDim / 2));
    this.logitRowCapacity = Math.max(1, Math.min(initialLogitRows, maxTokens));
    this.logitInput = new Float32Array(this.logitRowCapacity * c.hiddenSize);
    this.logits = new Float32Array(this.logitRowCapacity * c.vocabSize);
  }

  /** Makes room for `numRows` logit rows (grows by doubling; rare). */
  ensureLogitRows(numRows: number): void {
    if (numRows <= this.logitRowCapacity) return;
    if (numRows > this.maxTokens) throw new Error(`${numRows} logit rows exceed the run state's ${this.maxTokens} tokens`);
    this.logitRowCapacity = Math.min(this.maxTokens, Math.max(numRows, 2 * this.logitRowCapacity));
    this.logitInput = new Float32Array(this.logitRowCapacity * this.c.hiddenSize);
    this.logits = new Float32Array(this.logitRowCapacity * this.c.vocabSize);
  }

  /** Bytes held, for the startup banner. */
  get bytes(): number {
    return [this.hidden, this.residual, this.normed, this.q, this.k, this.v, this.attnOut, this.gateUp, this.act, this.logitInput, this.logits]
      .reduce((a, b) => a + b.byteLength, 0);
  }
}

/**
 * RunState: every activation buffer of a forward step, allocated once for at most `maxTokens`
 * tokens and `maxLogitRows` logit rows. Steps use prefixes of these buffers (subarray views
 * created once per distinct size would allocate, so kernels take explicit row counts instead).
 *
 * Invariant: nothing here is reallocated after construction; a batch larger than maxTokens is a
 * scheduler bug and fails loudly.
 */
import type { ModelConfig } from './model-config.js';

export class RunState {
  readonly hidden: Float32Array; // [maxTokens, hidden] embeddings, then each sub-block's output
  readonly residual: Float32Array; // [maxTokens, hidden] the residual stream
  readonly normed: Float32Array; // [maxTokens, hidden] normalized input of the next sub-block
  readonly q: Float32Array; // [maxTokens, numHeads, headDim]
  readonly k: Float32Array; // [maxTokens, numKvHeads, headDim]
  readonly v: Float32Array; // [maxTokens, numKvHeads, headDim]
  readonly attnOut: Float32Array; // [maxTokens, numHeads, headDim]
  readonly gateUp: Float32Array; // [maxTokens, 2 * intermediate]
  readonly act: Float32Array; // [maxTokens, intermediate]
  readonly logitInput: Float32Array; // [maxLogitRows, hidden]
  readonly logits: Float32Array; // [maxLogitRows, vocab]

  constructor(c: ModelConfig, readonly maxTokens: number, readonly maxLogitRows: number) {
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    this.hidden = new Float32Array(maxTokens * c.hiddenSize);
    this.residual = new Float32Array(maxTokens * c.hiddenSize);
    this.normed = new Float32Array(maxTokens * c.hiddenSize);
    this.q = new Float32Array(maxTokens * qDim);
    this.k = new Float32Array(maxTokens * kvDim);
    this.v = new Float32Array(maxTokens * kvDim);
    this.attnOut = new Float32Array(maxTokens * qDim);
    this.gateUp = new Float32Array(maxTokens * 2 * c.intermediateSize);
    this.act = new Float32Array(maxTokens * c.intermediateSize);
    this.logitInput = new Float32Array(maxLogitRows * c.hiddenSize);
    this.logits = new Float32Array(maxLogitRows * c.vocabSize);
  }

  /** Bytes held, for the startup banner. */
  get bytes(): number {
    return [this.hidden, this.residual, this.normed, this.q, this.k, this.v, this.attnOut, this.gateUp, this.act, this.logitInput, this.logits]
      .reduce((a, b) => a + b.byteLength, 0);
  }
}

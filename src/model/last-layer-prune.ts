/**
 * Last-layer pruning: only the logit rows need the last layer's attention output, o projection
 * and MLP (every row's K/V is stored before that). When each logit row is the last token of its
 * request (no input-logprob rows), the forward runs those steps on a batch of just those rows, as
 * llama.cpp does with its output ids: a 4096-token prefill with 16 sampling requests runs the
 * last layer's attention queries and MLP for 16 rows.
 *
 * Invariants: the pruned batch has one query row per kept request (its last token), kept requests
 * in batch order with their full KV (copied indices), logit rows 0..n-1. Every kernel computes a
 * row independently of the others, so the logits are bit for bit those of the full pass. Buffers
 * are reused across steps (grown only when a step needs more). Anything that would read the last
 * layer's output of other rows (hidden states, should `--enable-return-hidden-states` be built)
 * must make `plan` return null for its steps.
 */
import type { ForwardBatch } from '../engine/types.js';

export class LastLayerPruner {
  private qIndptr = new Int32Array(1);
  private kvIndptr = new Int32Array(1);
  private kvIndices = new Int32Array(0);
  private rowIds = new Int32Array(0);
  private reqOf = new Int32Array(0); // [numLogitRows] the request of each logit row
  private readonly empty = new Int32Array(0);

  /**
   * The reduced batch for `batch`, or null when pruning does not apply (nothing to drop, no logit
   * row, or a logit row that is not the last token of its request).
   */
  plan(batch: ForwardBatch): ForwardBatch | null {
    const n = batch.numLogitRows;
    if (n === 0 || n >= batch.numTokens) return null;
    const reqOf = this.keptRequests(batch);
    if (reqOf === null) return null;
    this.grow(n, batch);
    let kvLen = 0;
    this.qIndptr[0] = 0;
    this.kvIndptr[0] = 0;
    for (let i = 0; i < n; i++) {
      const r = reqOf[i]!, start = batch.kvIndptr[r]!, end = batch.kvIndptr[r + 1]!;
      this.kvIndices.set(batch.kvIndices.subarray(start, end), kvLen);
      kvLen += end - start;
      this.qIndptr[i + 1] = i + 1;
      this.kvIndptr[i + 1] = kvLen;
      this.rowIds[i] = i;
    }
    return {
      numReqs: n, numTokens: n,
      inputIds: this.empty, positions: this.empty, outLoc: this.empty, // used before attention only
      qIndptr: this.qIndptr.subarray(0, n + 1), kvIndptr: this.kvIndptr.subarray(0, n + 1),
      kvIndices: this.kvIndices.subarray(0, kvLen),
      logitRows: this.rowIds.subarray(0, n), numLogitRows: n,
    };
  }

  /** [numLogitRows] the request of each logit row, or null if one is not its request's last row. */
  private keptRequests(batch: ForwardBatch): Int32Array | null {
    if (this.reqOf.length < batch.numLogitRows) this.reqOf = new Int32Array(Math.max(batch.numLogitRows, 2 * this.reqOf.length));
    const reqOf = this.reqOf;
    let k = 0;
    for (let r = 0; r < batch.numReqs && k < batch.numLogitRows; r++) {
      const last = batch.qIndptr[r + 1]! - 1;
      if (batch.logitRows[k]! > last) continue;
      if (batch.logitRows[k] !== last) return null;
      reqOf[k++] = r;
    }
    return k === batch.numLogitRows ? reqOf : null;
  }

  private grow(n: number, batch: ForwardBatch): void {
    if (this.qIndptr.length < n + 1) {
      const cap = Math.max(n + 1, 2 * this.qIndptr.length);
      this.qIndptr = new Int32Array(cap);
      this.kvIndptr = new Int32Array(cap);
      this.rowIds = new Int32Array(cap);
    }
    const kv = batch.kvIndptr[batch.numReqs]!;
    if (this.kvIndices.length < kv) this.kvIndices = new Int32Array(Math.max(kv, 2 * this.kvIndices.length));
  }
}

/**
 * Moves rows logitRows[i] of x ([*, d]) to rows i (ascending rows, logitRows[i] >= i, so a
 * forward in-place copy never overwrites a row it still has to read).
 */
export function compactRows(x: Float32Array, logitRows: Int32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    const src = logitRows[i]!;
    if (src !== i) x.copyWithin(i * d, src * d, src * d + d);
  }
}

/**
 * Builds the `ForwardBatch` of one step from the scheduled requests, into buffers that are
 * allocated once and grown (doubling) only when a step needs more; the batch holds subarray views.
 *
 * Per request r (rows grouped by request, in step order):
 *
 *   positions: | [0, startPos) already in KV (kvIndices only) | [startPos, kvLen) new tokens: one row each |
 *   startPos = kvLen - extendLen   (decode: extendLen = 1, the last output token)
 *
 *   qIndptr[r]..qIndptr[r+1]    token rows of r        inputIds/positions/outLoc (outLoc = row[startPos..kvLen))
 *   kvIndptr[r]..kvIndptr[r+1]  KV slots of positions 0..kvLen-1 (row[0..kvLen)), new tokens included
 *
 * Logit rows (ascending): for each request,
 * - input-logprob rows: positions p in [max(logprobStartLen, startPos), min(kvLen, inputLen - 1)),
 *   only before its first output token and only when it asked for logprobs (row p predicts token p+1);
 * - its last row, when it samples this step (kvLen == seqLen).
 */
import type { ReqToTokenPool } from '../cache/req-to-token.js';
import type { ForwardBatch } from '../engine/types.js';
import type { Req } from './req.js';

export interface BuiltBatch {
  batch: ForwardBatch;
  /** [numLogitRows] the request each logit row belongs to. */
  logitRowReqs: Req[];
  /** [numLogitRows] position of the token at that row. */
  logitRowPos: Int32Array;
  /** Requests that sample this step, in batch order. */
  sampleReqs: Req[];
  /** [sampleReqs.length] index into the logit rows (the row of the logits to sample from). */
  sampleLogitRow: Int32Array;
}

export class BatchBuilder {
  private inputIds: Int32Array; // [tokenCap]
  private positions: Int32Array; // [tokenCap]
  private outLoc: Int32Array; // [tokenCap]
  private logitRows: Int32Array; // [tokenCap]
  private logitRowPos: Int32Array; // [tokenCap]
  private qIndptr: Int32Array; // [reqCap + 1]
  private kvIndptr: Int32Array; // [reqCap + 1]
  private sampleLogitRow: Int32Array; // [reqCap]
  private kvIndices: Int32Array; // [kvCap]

  constructor(
    private readonly reqToToken: ReqToTokenPool,
    tokenCap = 4096,
    reqCap = 256,
    kvCap = 1 << 16,
  ) {
    this.inputIds = new Int32Array(tokenCap);
    this.positions = new Int32Array(tokenCap);
    this.outLoc = new Int32Array(tokenCap);
    this.logitRows = new Int32Array(tokenCap);
    this.logitRowPos = new Int32Array(tokenCap);
    this.qIndptr = new Int32Array(reqCap + 1);
    this.kvIndptr = new Int32Array(reqCap + 1);
    this.sampleLogitRow = new Int32Array(reqCap);
    this.kvIndices = new Int32Array(kvCap);
  }

  /** Each request's `kvLen` and `extendLen` must already describe this step (see the table above). */
  build(reqs: readonly Req[]): BuiltBatch {
    let numTokens = 0;
    let numKv = 0;
    for (const r of reqs) {
      numTokens += r.extendLen;
      numKv += r.kvLen;
    }
    this.reserve(numTokens, reqs.length, numKv);
    const logitRowReqs: Req[] = [];
    const sampleReqs: Req[] = [];
    let t = 0;
    let kv = 0;
    let numLogitRows = 0;
    this.qIndptr[0] = 0;
    this.kvIndptr[0] = 0;
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i]!;
      const row = this.reqToToken.row(r.reqPoolIdx);
      const startPos = r.kvLen - r.extendLen;
      const firstRow = t;
      for (let p = startPos; p < r.kvLen; p++, t++) {
        this.inputIds[t] = r.tokenAt(p);
        this.positions[t] = p;
        this.outLoc[t] = row[p]!;
      }
      this.kvIndices.set(row.subarray(0, r.kvLen), kv);
      kv += r.kvLen;
      this.qIndptr[i + 1] = t;
      this.kvIndptr[i + 1] = kv;
      if (r.returnLogprob && r.outputIds.length === 0) {
        const end = Math.min(r.kvLen, r.originInputIds.length - 1);
        for (let p = Math.max(r.logprobStartLen, startPos); p < end; p++) {
          this.logitRows[numLogitRows] = firstRow + (p - startPos);
          this.logitRowPos[numLogitRows++] = p;
          logitRowReqs.push(r);
        }
      }
      if (r.kvLen === r.seqLen) {
        const last = t - 1;
        if (numLogitRows === 0 || this.logitRows[numLogitRows - 1] !== last) {
          this.logitRows[numLogitRows] = last;
          this.logitRowPos[numLogitRows++] = r.kvLen - 1;
          logitRowReqs.push(r);
        }
        this.sampleLogitRow[sampleReqs.length] = numLogitRows - 1;
        sampleReqs.push(r);
      }
    }
    const batch: ForwardBatch = {
      numReqs: reqs.length,
      numTokens,
      inputIds: this.inputIds.subarray(0, numTokens),
      positions: this.positions.subarray(0, numTokens),
      outLoc: this.outLoc.subarray(0, numTokens),
      qIndptr: this.qIndptr.subarray(0, reqs.length + 1),
      kvIndptr: this.kvIndptr.subarray(0, reqs.length + 1),
      kvIndices: this.kvIndices.subarray(0, numKv),
      logitRows: this.logitRows.subarray(0, numLogitRows),
      numLogitRows,
    };
    return {
      batch,
      logitRowReqs,
      logitRowPos: this.logitRowPos.subarray(0, numLogitRows),
      sampleReqs,
      sampleLogitRow: this.sampleLogitRow.subarray(0, sampleReqs.length),
    };
  }

  private reserve(numTokens: number, numReqs: number, numKv: number): void {
    if (numTokens > this.inputIds.length) {
      const cap = grow(this.inputIds.length, numTokens);
      this.inputIds = new Int32Array(cap);
      this.positions = new Int32Array(cap);
      this.outLoc = new Int32Array(cap);
      this.logitRows = new Int32Array(cap);
      this.logitRowPos = new Int32Array(cap);
    }
    if (numReqs > this.sampleLogitRow.length) {
      const cap = grow(this.sampleLogitRow.length, numReqs);
      this.qIndptr = new Int32Array(cap + 1);
      this.kvIndptr = new Int32Array(cap + 1);
      this.sampleLogitRow = new Int32Array(cap);
    }
    if (numKv > this.kvIndices.length) this.kvIndices = new Int32Array(grow(this.kvIndices.length, numKv));
  }
}

function grow(cap: number, need: number): number {
  let c = Math.max(cap, 1);
  while (c < need) c *= 2;
  return c;
}

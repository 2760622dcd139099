/**
 * Engine-side request state (SGLang `schedule_batch.Req`), created from an `EngineRequest`.
 *
 * A request's token positions, for one scheduling round:
 *
 *   | [0, prefixLen) cached prefix | [prefixLen, fillLen) extend (this chunk) | [fillLen, seqLen) rest of prompt |
 *   seqLen = originInputIds.length + outputIds.length;  kvLen = positions with a KV slot in the row
 *
 * Invariants:
 * - While running (decode): kvLen == seqLen - 1; the last output token is the next input.
 * - After a step, a request samples iff all its known tokens have KV (kvLen == seqLen); a chunked
 *   request that has not reached the end of its prompt samples nothing.
 * - `cachedTokens` is SGLang's: each prefill adds `prefixLen - alreadyComputed`, then sets
 *   `alreadyComputed = fillLen`; retraction resets `alreadyComputed` (so a re-prefill counts again).
 * - Once `finishReason` is set the request holds no row, no lock and no KV.
 */
import type { CacheNode, CacheableReq } from '../cache/prefix-cache.js';
import type { EngineRequest, FinishReason } from '../engine/types.js';

export class Req implements CacheableReq {
  readonly rid: string;
  readonly request: EngineRequest;
  /** Input ids (truncated when --allow-auto-truncate cut them). */
  originInputIds: number[];
  readonly outputIds: number[] = [];
  /** Clamped: min(maxNewTokens ?? 2^30, maxReqLen - inputLen - 1). */
  maxNewTokens = 1 << 30;
  /** First input position whose logprob is returned (input len - 1 when only output logprobs). */
  logprobStartLen = 0;
  /** Arrival order, for stable tie-breaks. */
  readonly seq: number;

  // --- memory (see the table above) ---
  reqPoolIdx = -1;
  prefixLen = 0;
  kvLen = 0;
  lastNode: CacheNode | null = null;
  /** Prefix slots from the last match, written into the row when the request is scheduled. */
  matchedIndices: Int32Array = new Int32Array(0);
  fillLen = 0;
  extendLen = 0;
  /** True until its prefix for the coming round comes from a fresh match (not from cacheUnfinishedReq). */
  needsPrefixWrite = false;

  // --- accounting ---
  alreadyComputed = 0;
  cachedTokens = 0;
  numRetractions = 0;
  isRetracted = false;

  // --- finish ---
  finishReason: FinishReason | null = null;
  toAbort = false;
  /** HTTP status for errors the scheduler raised (400 input too long, 503 queue full). */
  errorStatus: number | undefined = undefined;

  // --- streaming bookkeeping (owned by the engine) ---
  /** Output tokens already handed to the client. */
  sentOutputLen = 0;

  constructor(request: EngineRequest, seq: number) {
    this.rid = request.rid;
    this.request = request;
    this.originInputIds = request.inputIds.slice();
    this.seq = seq;
  }

  get seqLen(): number {
    return this.originInputIds.length + this.outputIds.length;
  }

  get finished(): boolean {
    return this.finishReason !== null;
  }

  get returnLogprob(): boolean {
    return this.request.returnLogprob;
  }

  /** Token id at position pos of input ++ output. */
  tokenAt(pos: number): number {
    const n = this.originInputIds.length;
    return pos < n ? this.originInputIds[pos]! : this.outputIds[pos - n]!;
  }

  /**
   * SGLang `adjust_max_prefix_ids`: the key a prefix match may use. At least one token is always
   * recomputed (its logits are needed), and with logprobs the prefix stops at logprobStartLen.
   *
   *   | [0, maxPrefixLen) may come from the cache | [maxPrefixLen, seqLen) recomputed |
   */
  maxPrefixIds(): number[] {
    const seqLen = this.seqLen;
    let maxPrefixLen = seqLen - 1;
    if (this.request.returnLogprob) maxPrefixLen = Math.min(maxPrefixLen, this.logprobStartLen);
    maxPrefixLen = Math.max(maxPrefixLen, 0);
    const ids = this.originInputIds.length >= maxPrefixLen ? this.originInputIds.slice(0, maxPrefixLen) : this.originInputIds.concat(this.outputIds);
    ids.length = maxPrefixLen;
    return ids;
  }

  /** Sets the fresh match result for the next round (no lock taken). */
  setMatch(indices: Int32Array, lastNode: CacheNode): void {
    this.matchedIndices = indices;
    this.prefixLen = indices.length;
    this.lastNode = lastNode;
    this.needsPrefixWrite = true;
  }

  /** SGLang `init_next_round_input`: the whole known sequence is this round's fill. */
  initNextRound(): void {
    this.fillLen = this.seqLen;
    this.extendLen = this.fillLen - this.prefixLen;
  }

  /** SGLang `reset_for_retract` (the caller has already released row, KV and lock). */
  resetForRetract(): void {
    this.prefixLen = 0;
    this.kvLen = 0;
    this.lastNode = null;
    this.matchedIndices = new Int32Array(0);
    this.extendLen = 0;
    this.fillLen = 0;
    this.alreadyComputed = 0;
    this.isRetracted = true;
    this.numRetractions++;
  }
}

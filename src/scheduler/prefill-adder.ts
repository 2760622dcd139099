/**
 * PrefillAdder (SGLang `schedule_policy.PrefillAdder`): admits waiting requests into one prefill
 * batch under SGLang's budgets, chunking the one that does not fit.
 *
 * Budgets (tokens):
 * - remTotalTokens  = available + evictable - offset, where offset starts at
 *                     mixedDecodeTokens + Σ_running min(maxNew - outLen, CLIP) * newTokenRatio
 *                     and grows by ceilPage(extendLen) + min(maxNew, CLIP) per admitted request;
 * - curRemTokens    = available + evictable - (mixedDecodeTokens + Σ ceilPage(extendLen));
 * - remInputTokens  = maxPrefillTokens - mixedDecodeTokens;
 * - remChunkTokens  = chunkedPrefillSize - mixedDecodeTokens (null = no chunking).
 *
 * Invariants:
 * - Every admitted request holds one lock on its lastNode (taken here; the chunked request from an
 *   earlier round already holds its own), so admitted prefixes stop counting as evictable.
 * - At most one request is chunked per round (`newChunkedReq`); its chunk is page-aligned.
 * - A single request larger than remInputTokens is still admitted when it is first in the batch.
 */
import type { KvAllocator } from '../cache/kv-allocator.js';
import type { CacheNode, PrefixCache } from '../cache/prefix-cache.js';
import type { Req } from './req.js';

export enum AddReqResult {
  CONTINUE = 0,
  NO_TOKEN = 1,
  OTHER = 2,
}

/** SGLANG_CLIP_MAX_NEW_TOKENS_ESTIMATION default. */
export const CLIP_MAX_NEW_TOKENS = 4096;
const IGNORE_EOS_RESERVE_TOKENS = 1;

export interface PrefillAdderOptions {
  pageSize: number;
  cache: PrefixCache;
  allocator: KvAllocator;
  runningReqs: readonly Req[];
  newTokenRatio: number;
  maxPrefillTokens: number;
  /** null = chunking disabled. */
  chunkedPrefillSize: number | null;
  /** Decode tokens mixed into this batch (running batch size under --enable-mixed-chunk). */
  mixedDecodeTokens: number;
  clipMaxNewTokens?: number;
}

export class PrefillAdder {
  readonly canRunList: Req[] = [];
  newChunkedReq: Req | null = null;
  /** Prefix tokens hit / tokens computed by admitted requests (cache hit rate). */
  logHitTokens = 0;
  logInputTokens = 0;

  private remInputTokens: number;
  private remChunkTokens: number | null;
  private remTotalTokenOffset: number;
  private curRemTokenOffset: number;
  private reqStates: [tokensLeft: number, tokensOccupied: number][] | null = null;
  private readonly clip: number;

  constructor(private readonly o: PrefillAdderOptions) {
    this.clip = o.clipMaxNewTokens ?? CLIP_MAX_NEW_TOKENS;
    this.remInputTokens = o.maxPrefillTokens - o.mixedDecodeTokens;
    this.remChunkTokens = o.chunkedPrefillSize === null ? null : o.chunkedPrefillSize - o.mixedDecodeTokens;
    this.remTotalTokenOffset = o.mixedDecodeTokens;
    this.curRemTokenOffset = o.mixedDecodeTokens;
    for (const r of o.runningReqs) {
      this.remTotalTokenOffset += Math.min(r.maxNewTokens - r.outputIds.length, this.clip) * o.newTokenRatio;
    }
  }

  get remTotalTokens(): number {
    return this.o.allocator.availableSlots() + this.o.cache.evictableSize() - this.remTotalTokenOffset;
  }

  get curRemTokens(): number {
    return this.o.allocator.availableSlots() + this.o.cache.evictableSize() - this.curRemTokenOffset;
  }

  /** Continues the chunked request of the previous round; returns it again while still unfinished. */
  addChunkedReq(req: Req): Req | null {
    const remTokens = Math.min(this.remChunkTokens ?? Infinity, Math.floor(this.remTotalTokens));
    if (remTokens <= 0) return req; // nothing fits this round; it stays chunked and waits
    const truncated = req.extendLen > remTokens;
    req.extendLen = Math.min(req.extendLen, remTokens);
    req.fillLen = req.prefixLen + req.extendLen;
    this.canRunList.push(req);
    this.updateBudget(0, req.extendLen, truncated ? 0 : Math.min(req.maxNewTokens, this.clip));
    return truncated ? req : null;
  }

  addOneReq(req: Req): AddReqResult {
    if (req.request.sampling.ignoreEos && !this.o.cache.sharesPrefixes) return this.addOneReqIgnoreEos(req);
    const clippedNew = Math.min(req.maxNewTokens, this.clip);
    const totalTokens = req.extendLen + clippedNew;
    const inputTokens = this.ceilPaged(req.extendLen);
    if (totalTokens >= this.remTotalTokens) return AddReqResult.NO_TOKEN;
    if (inputTokens >= this.remInputTokens && this.canRunList.length !== 0) return AddReqResult.OTHER;
    // Lock while checking: the prefix stops counting as evictable.
    const result = this.withLock(req.lastNode, (): AddReqResult | null => {
      if (totalTokens >= this.remTotalTokens) return AddReqResult.NO_TOKEN;
      if (this.remChunkTokens === null || inputTokens <= this.remChunkTokens) {
        this.canRunList.push(req);
        this.o.cache.incLockRef(req.lastNode);
        this.updateBudget(req.prefixLen, inputTokens, clippedNew);
        return null;
      }
      //   | prefix | chunk: floor(remChunkTokens / pageSize) * pageSize | rest: later rounds |
      const truncLen = Math.floor(this.remChunkTokens / this.o.pageSize) * this.o.pageSize;
      if (truncLen <= 0) return AddReqResult.OTHER;
      req.extendLen = truncLen;
      req.fillLen = req.prefixLen + truncLen;
      this.canRunList.push(req);
      this.newChunkedReq = req;
      this.o.cache.incLockRef(req.lastNode);
      this.updateBudget(req.prefixLen, truncLen, 0);
      return null;
    });
    return result ?? this.budgetState();
  }

  /** SGLang `add_one_req_ignore_eos`: simulates future decoding when nothing can be evicted. */
  private addOneReqIgnoreEos(req: Req): AddReqResult {
    if (this.ceilPaged(req.extendLen) > Math.min(this.curRemTokens, this.remTotalTokens)) return AddReqResult.NO_TOKEN;
    const addState = (r: Req, insertSorted: boolean): void => {
      const ratio = r.request.sampling.ignoreEos ? 1.0 : this.o.newTokenRatio;
      const tokensLeft = r.maxNewTokens * ratio - r.outputIds.length;
      const tokensOccupied = r.originInputIds.length + r.outputIds.length;
      if (tokensLeft <= 0) return;
      const states = this.reqStates!;
      if (!insertSorted) states.push([tokensLeft, tokensOccupied]);
      else {
        let i = 0;
        for (; i < states.length; i++) if (tokensLeft <= states[i]![0]) break;
        states.splice(i, 0, [tokensLeft, tokensOccupied]);
      }
    };
    if (this.reqStates === null) {
      this.reqStates = [];
      addState(req, false);
      for (const r of this.o.runningReqs) addState(r, false);
      for (const r of this.canRunList) addState(r, false);
      this.reqStates.sort((a, b) => a[0] - b[0]);
    } else addState(req, true);
    const curRemTokens = this.curRemTokens - req.originInputIds.length;
    let tokensFreed = 0;
    for (let i = 0; i < this.reqStates.length; i++) {
      const [tokensLeft, tokensOccupied] = this.reqStates[i]!;
      const bs = this.reqStates.length - i;
      const minFreeTokens = curRemTokens + tokensFreed - tokensLeft * bs;
      if (minFreeTokens <= IGNORE_EOS_RESERVE_TOKENS * bs) return AddReqResult.NO_TOKEN;
      tokensFreed += tokensOccupied;
    }
    if (this.remChunkTokens === null || req.extendLen <= this.remChunkTokens) {
      this.canRunList.push(req);
      this.updateBudget(0, req.extendLen, Math.min(req.maxNewTokens, this.clip));
    } else {
      const truncLen = Math.floor(this.remChunkTokens / this.o.pageSize) * this.o.pageSize;
      if (truncLen <= 0) return AddReqResult.OTHER;
      req.extendLen = truncLen;
      req.fillLen = req.prefixLen + truncLen;
      this.canRunList.push(req);
      this.newChunkedReq = req;
      this.updateBudget(0, truncLen, 0);
    }
    return this.budgetState();
  }

  private budgetState(): AddReqResult {
    if (this.remTotalTokens <= 0 || this.curRemTokens <= 0) return AddReqResult.NO_TOKEN;
    if (this.remInputTokens <= 0 || (this.remChunkTokens !== null && this.remChunkTokens <= 0)) return AddReqResult.OTHER;
    return AddReqResult.CONTINUE;
  }

  private updateBudget(prefixLen: number, extendLen: number, maxNewTokens: number): void {
    const inputTokens = this.ceilPaged(extendLen);
    this.remTotalTokenOffset += inputTokens + maxNewTokens;
    this.curRemTokenOffset += inputTokens;
    this.remInputTokens -= inputTokens;
    if (this.remChunkTokens !== null) this.remChunkTokens -= inputTokens;
    this.logHitTokens += prefixLen;
    this.logInputTokens += inputTokens;
  }

  private ceilPaged(numTokens: number): number {
    const ps = this.o.pageSize;
    return Math.ceil(numTokens / ps) * ps;
  }

  private withLock<T>(node: CacheNode | null, fn: () => T): T {
    this.o.cache.incLockRef(node);
    try {
      return fn();
    } finally {
      this.o.cache.decLockRef(node);
    }
  }
}

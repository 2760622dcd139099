/**
 * The scheduler (SGLang `managers/scheduler.py`, overlap off): waiting queue, running batch,
 * prefill-first batching with chunked prefill, mixed chunks, decode with retraction, abort.
 *
 * How the engine drives it, one step at a time (no overlap):
 *
 *   const step = scheduler.schedule();                  // null = nothing to run
 *   const logits = runner.forward(step.batch);          // [numLogitRows, vocab]
 *   for i in 0..step.sampleReqs.length: sampled[i] = sample(logits row step.sampleLogitRow[i], step.sampleReqs[i])
 *   (input logprobs: the other logit rows; row k belongs to step.logitRowReqs[k] at position step.logitRowPos[k]
 *    and scores input token logitRowPos[k] + 1)
 *   const updated = scheduler.complete(step, sampled, finishHook);   // reqs with a new token or finished
 *   for req of updated: if shouldEmit(req, streamInterval) → send the delta outputIds[req.sentOutputLen..]
 *
 * Invariants:
 * - At most one step is in flight; `schedule` throws until that step is `complete`d.
 * - Requests in `running` hold a row, a lock on their lastNode and KV for [0, kvLen), kvLen = seqLen - 1.
 * - The chunked request (at most one) holds its row, lock and KV between rounds; it is not running.
 * - Waiting requests hold nothing (a match without a lock). Finished requests hold nothing.
 * - Finish order after each sampled token: abort flag, length, then the engine's hook (EOS, stop
 *   ids, stop strings, grammar): length wins over EOS on the last step.
 */
import { ChunkCache } from '../cache/chunk-cache.js';
import { KvAllocator } from '../cache/kv-allocator.js';
import { checkLeaks } from '../cache/leak-check.js';
import type { PrefixCache } from '../cache/prefix-cache.js';
import { RadixCache } from '../cache/radix-cache.js';
import { ReqToTokenPool } from '../cache/req-to-token.js';
import type { EngineRequest, FinishReason, ForwardBatch } from '../engine/types.js';
import { BatchBuilder } from './batch-builder.js';
import { SchedulePolicy } from './policy.js';
import { AddReqResult, PrefillAdder } from './prefill-adder.js';
import { Req } from './req.js';
import { checkDecodeMem, evictIfNeeded, newPagesNextDecode, retractDecode } from './retract.js';

export interface SchedulerOptions {
  /** From computeMemoryPlan. */
  maxTotalNumTokens: number;
  maxNumReqs: number;
  maxContextLen: number;
  maxRunningRequests: number;
  maxReqLen: number;
  maxReqInputLen: number;
  pageSize: number;
  /** null or <= 0: no chunking. */
  chunkedPrefillSize: number | null;
  maxPrefillTokens: number;
  schedulePolicy: string;
  disableRadixCache: boolean;
  enableMixedChunk: boolean;
  scheduleConservativeness: number;
  /** null = unbounded. */
  maxQueuedRequests: number | null;
  allowAutoTruncate: boolean;
  clipMaxNewTokens?: number;
  /** For the random policy. */
  random?: () => number;
  /** Called with the report when the idle self-check finds a leak (default: throw). */
  onLeak?: (report: string) => void;
}

export interface ScheduledStep {
  readonly kind: 'extend' | 'decode' | 'mixed';
  readonly batch: ForwardBatch;
  /** One per batch request, in batch order (mixed: extend requests, then decoding ones). */
  readonly reqs: readonly Req[];
  /** [numLogitRows] */
  readonly logitRowReqs: readonly Req[];
  readonly logitRowPos: Int32Array; // [numLogitRows]
  /** Requests that sample a token this step; `complete` takes one sampled id for each, in order. */
  readonly sampleReqs: readonly Req[];
  readonly sampleLogitRow: Int32Array; // [sampleReqs.length] row of the logits to sample from
  /** Extend and mixed steps: SGLang's prefill-log figures for the requests admitted this step. */
  readonly prefill?: PrefillLogInfo;
}

export interface PrefillLogInfo {
  /** Requests admitted (SGLang #new-seq), tokens to compute and prefix-cache hits among them. */
  newSeqs: number;
  inputTokens: number;
  hitTokens: number;
  /** Requests decoding when the batch was formed (SGLang #running-req). */
  runningReqs: number;
}

/** The engine's finish check (EOS, stop ids, stop strings, grammar); null = keep going. */
export type FinishHook = (req: Req) => FinishReason | null;

export interface SchedulerStats {
  numRunningReqs: number;
  numQueueReqs: number;
  numUsedTokens: number;
  tokenUsage: number;
  /** Hit rate of the last prefill batch, and over all prefills. */
  cacheHitRate: number;
  totalCacheHitRate: number;
  newTokenRatio: number;
  numRetractedReqs: number;
  totalRetractedReqs: number;
  maxTotalNumTokens: number;
}

export class Scheduler {
  readonly allocator: KvAllocator;
  readonly reqToToken: ReqToTokenPool;
  readonly cache: PrefixCache;
  waiting: Req[] = [];
  running: Req[] = [];
  chunkedReq: Req | null = null;

  private readonly o: SchedulerOptions;
  private readonly chunkedPrefillSize: number | null;
  private readonly policy: SchedulePolicy;
  private readonly builder: BatchBuilder;
  private inFlight: ScheduledStep | null = null;
  private decodingInFlight: Set<Req> | null = null;
  private batchIsFull = false;
  private nextSeq = 0;
  readonly initNewTokenRatio: number;
  readonly minNewTokenRatio: number;
  private readonly newTokenRatioDecay: number;
  newTokenRatio: number;
  private lastHitRate = 0;
  private hitTokens = 0;
  private inputTokens = 0;
  private lastRetracted = 0;
  private totalRetracted = 0;

  constructor(opts: SchedulerOptions) {
    this.o = opts;
    this.chunkedPrefillSize = opts.chunkedPrefillSize !== null && opts.chunkedPrefillSize > 0 ? opts.chunkedPrefillSize : null;
    this.allocator = new KvAllocator(opts.maxTotalNumTokens, opts.pageSize);
    this.reqToToken = new ReqToTokenPool(opts.maxNumReqs, opts.maxContextLen);
    this.cache = opts.disableRadixCache
      ? new ChunkCache(this.allocator, this.reqToToken)
      : new RadixCache({ pageSize: opts.pageSize, allocator: this.allocator, reqToToken: this.reqToToken });
    this.policy = new SchedulePolicy(opts.schedulePolicy, this.cache, opts.random);
    this.builder = new BatchBuilder(this.reqToToken, Math.max(opts.maxPrefillTokens, this.chunkedPrefillSize ?? 0) + opts.maxRunningRequests, opts.maxRunningRequests);
    this.initNewTokenRatio = Math.min(0.7 * opts.scheduleConservativeness, 1);
    this.minNewTokenRatio = this.initNewTokenRatio * 0.14;
    this.newTokenRatioDecay = (this.initNewTokenRatio - this.minNewTokenRatio) / 600;
    this.newTokenRatio = this.initNewTokenRatio;
  }

  /** Queues a request; returns its Req, already finished with an abort when it was rejected. */
  addRequest(request: EngineRequest): Req {
    const req = new Req(request, this.nextSeq++);
    let inputLen = req.originInputIds.length;
    if (inputLen === 0) return reject(req, 'The input is empty.', 400, 'BadRequestError');
    if (inputLen >= this.o.maxReqInputLen) {
      if (!this.o.allowAutoTruncate) {
        return reject(req, `Input length (${inputLen} tokens) exceeds the maximum allowed length (${this.o.maxReqInputLen} tokens). Use a shorter input or enable --allow-auto-truncate.`, 400, 'BadRequestError');
      }
      req.originInputIds.length = this.o.maxReqInputLen;
      inputLen = this.o.maxReqInputLen;
    }
    req.logprobStartLen = request.logprobStartLen === -1 || !request.returnLogprob ? inputLen - 1 : request.logprobStartLen;
    if (req.logprobStartLen >= inputLen) {
      const msg = `req.logprob_start_len=${req.logprobStartLen} is higher than the number of input tokens len(req.origin_input_ids)=${inputLen}. Please use a smaller logprob_start_len.`;
      req.logprobStartLen = inputLen - 1;
      return reject(req, msg, 400, 'BadRequestError');
    }
    req.maxNewTokens = Math.min(request.sampling.maxNewTokens ?? 1 << 30, this.o.maxReqLen - inputLen - 1);
    if (this.o.maxQueuedRequests !== null && this.waiting.length + 1 > this.o.maxQueuedRequests) {
      return reject(req, 'The request queue is full.', 503, null);
    }
    this.waiting.push(req);
    return req;
  }

  /**
   * Aborts requests whose rid starts with `ridPrefix` (all with `abortAll`). Waiting ones are removed
   * now and returned, finished with "Abort before prefill"; running ones finish with "Aborted"
   * after their next forward (returned by that `complete`).
   */
  abort(ridPrefix: string, abortAll = false): Req[] {
    const hit = (r: Req): boolean => abortAll || r.rid.startsWith(ridPrefix);
    const removed: Req[] = [];
    this.waiting = this.waiting.filter((r) => {
      if (!hit(r)) return true;
      r.finishReason = { type: 'abort', message: 'Abort before prefill' };
      removed.push(r);
      return false;
    });
    for (const r of this.liveReqs()) if (!r.finished && hit(r)) r.toAbort = true;
    return removed;
  }

  /** Builds the next step, or null when there is nothing to run (then the idle self-check runs). */
  schedule(): ScheduledStep | null {
    if (this.inFlight !== null) throw new Error('schedule: the previous step was not completed');
    let step = this.getNewBatchPrefill();
    if (step === null && this.running.length > 0) step = this.updateRunningBatch();
    if (step === null && this.batchIsFull && this.running.length === 0) {
      this.batchIsFull = false;
      step = this.getNewBatchPrefill();
    }
    if (step === null) {
      this.newTokenRatio = this.initNewTokenRatio;
      if (this.isIdle) {
        const report = this.checkLeaks();
        if (report !== null) (this.o.onLeak ?? throwLeak)(report);
      }
      return null;
    }
    this.inFlight = step;
    return step;
  }

  /**
   * Applies one sampled id per `step.sampleReqs` entry: appends it, checks finish (abort, length,
   * then `finish`), caches finished requests and frees their memory, caches the prompt of newly
   * prefilled ones. Returns the requests that got a token or finished, in batch order.
   */
  complete(step: ScheduledStep, sampledIds: Int32Array, finish: FinishHook): Req[] {
    if (step !== this.inFlight) throw new Error('complete: not the step in flight');
    if (sampledIds.length < step.sampleReqs.length) throw new Error(`complete: ${sampledIds.length} ids for ${step.sampleReqs.length} sampling requests`);
    const updated: Req[] = [];
    let k = 0;
    for (const req of step.reqs) {
      if (req.kvLen !== req.seqLen) {
        // Chunked, prompt not done: nothing sampled. Its partial prefix goes into the cache.
        if (req.toAbort) {
          this.finishReq(req, abortReason());
          updated.push(req);
        } else this.cache.cacheUnfinishedReq(req);
        continue;
      }
      req.outputIds.push(sampledIds[k++]!);
      const reason = req.toAbort
        ? abortReason()
        : req.outputIds.length >= req.maxNewTokens
          ? ({ type: 'length', length: req.maxNewTokens } as const)
          : finish(req);
      if (reason !== null) this.finishReq(req, reason);
      else if (step.kind !== 'decode' && !this.decodingInFlight?.has(req)) this.cache.cacheUnfinishedReq(req);
      updated.push(req);
    }
    if (step.kind === 'decode') this.running = this.running.filter((r) => !r.finished);
    else for (const r of step.reqs) if (!r.finished && r !== this.chunkedReq) this.running.push(r);
    this.inFlight = null;
    this.decodingInFlight = null;
    return updated;
  }

  /**
   * The step in flight failed before its results existed (a kernel error): its requests finish
   * with `reason` and release their own KV WITHOUT caching it (this step's KV is not valid);
   * their already-cached prefixes stay in the tree. Returns those requests.
   */
  failStep(step: ScheduledStep, reason: FinishReason): Req[] {
    if (step !== this.inFlight) throw new Error('failStep: not the step in flight');
    for (const req of step.reqs) {
      if (req.reqPoolIdx >= 0) this.cache.freeRetractedReq(req);
      req.finishReason = reason;
      if (req === this.chunkedReq) this.chunkedReq = null;
    }
    const failed = new Set(step.reqs);
    this.running = this.running.filter((r) => !failed.has(r));
    this.inFlight = null;
    this.decodingInFlight = null;
    this.batchIsFull = false;
    return [...step.reqs];
  }

  /** Drops the prefix cache (SGLang /flush_cache); false while anything is waiting or running. */
  flushCache(): boolean {
    if (!this.isIdle) return false;
    this.cache.reset();
    this.reqToToken.clear();
    this.allocator.clear();
    return true;
  }

  get isIdle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0 && this.chunkedReq === null && this.inFlight === null;
  }

  /** SGLang get_load: tokens in use (not evictable) plus waiting input tokens. */
  getLoad(): { numReqs: number; numWaitingReqs: number; numTokens: number } {
    let numTokens = this.numUsedTokens();
    for (const r of this.waiting) numTokens += r.originInputIds.length;
    return { numReqs: this.running.length + this.waiting.length, numWaitingReqs: this.waiting.length, numTokens };
  }

  stats(): SchedulerStats {
    const numUsedTokens = this.numUsedTokens();
    return {
      numRunningReqs: this.running.length,
      numQueueReqs: this.waiting.length,
      numUsedTokens,
      tokenUsage: numUsedTokens / this.allocator.numSlots,
      cacheHitRate: this.lastHitRate,
      totalCacheHitRate: this.hitTokens + this.inputTokens > 0 ? this.hitTokens / (this.hitTokens + this.inputTokens) : 0,
      newTokenRatio: this.newTokenRatio,
      numRetractedReqs: this.lastRetracted,
      totalRetractedReqs: this.totalRetracted,
      maxTotalNumTokens: this.allocator.numSlots,
    };
  }

  /** Page/row conservation over the pool (see cache/leak-check.ts); null when it holds. */
  checkLeaks(): string | null {
    return checkLeaks(this.allocator, this.cache, this.reqToToken, this.liveReqs());
  }

  private numUsedTokens(): number {
    return this.allocator.numSlots - this.allocator.availableSlots() - this.cache.evictableSize();
  }

  /** Requests that may hold memory: running, chunked, in flight. */
  private liveReqs(): Set<Req> {
    const s = new Set<Req>(this.running);
    if (this.chunkedReq) s.add(this.chunkedReq);
    if (this.inFlight) for (const r of this.inFlight.reqs) s.add(r);
    return s;
  }

  private finishReq(req: Req, reason: FinishReason): void {
    req.finishReason = reason;
    this.cache.cacheFinishedReq(req);
    if (req === this.chunkedReq) this.chunkedReq = null;
    this.batchIsFull = false;
  }

  /** SGLang get_new_batch_prefill. */
  private getNewBatchPrefill(): ScheduledStep | null {
    if ((this.batchIsFull || this.waiting.length === 0) && this.chunkedReq === null) return null;
    const runningBs = this.running.length;
    const numAllocatable = this.o.maxRunningRequests - runningBs;
    if (numAllocatable <= 0 && this.chunkedReq === null) {
      this.batchIsFull = true;
      return null;
    }
    const prefixComputed = this.policy.calcPriority(this.waiting);
    const isMixed = this.o.enableMixedChunk && this.chunkedPrefillSize !== null;
    const adder = new PrefillAdder({
      pageSize: this.o.pageSize,
      cache: this.cache,
      allocator: this.allocator,
      runningReqs: this.running,
      newTokenRatio: this.newTokenRatio,
      maxPrefillTokens: this.o.maxPrefillTokens,
      chunkedPrefillSize: this.chunkedPrefillSize,
      mixedDecodeTokens: isMixed ? runningBs : 0,
      ...(this.o.clipMaxNewTokens !== undefined ? { clipMaxNewTokens: this.o.clipMaxNewTokens } : {}),
    });
    if (this.chunkedReq !== null) {
      this.chunkedReq.initNextRound();
      this.chunkedReq = adder.addChunkedReq(this.chunkedReq);
    }
    for (const req of this.waiting) {
      if (adder.canRunList.length >= numAllocatable) {
        this.batchIsFull = true;
        break;
      }
      if (!prefixComputed) {
        const m = this.cache.matchPrefix(req.maxPrefixIds());
        req.setMatch(m.indices, m.lastNode);
      }
      req.initNextRound();
      const res = adder.addOneReq(req);
      if (res !== AddReqResult.CONTINUE) {
        if (res === AddReqResult.NO_TOKEN) this.batchIsFull = true;
        break;
      }
    }
    const canRun = adder.canRunList;
    if (canRun.length === 0) return null;
    const admitted = new Set(canRun);
    this.waiting = this.waiting.filter((r) => !admitted.has(r));
    if (adder.newChunkedReq !== null) this.chunkedReq = adder.newChunkedReq;
    this.hitTokens += adder.logHitTokens;
    this.inputTokens += adder.logInputTokens;
    const denom = adder.logHitTokens + adder.logInputTokens;
    this.lastHitRate = denom > 0 ? adder.logHitTokens / denom : 0;
    const prefill: PrefillLogInfo = { newSeqs: canRun.length, inputTokens: adder.logInputTokens, hitTokens: adder.logHitTokens, runningReqs: this.running.length };
    this.prepareForExtend(canRun);
    const wantsLogprob = (r: Req): boolean => r.returnLogprob;
    if (isMixed && this.running.length > 0 && !canRun.some(wantsLogprob) && !this.running.some(wantsLogprob) && checkDecodeMem(this.running, this.allocator, this.cache)) {
      const decoding = this.running;
      this.prepareForDecode(decoding);
      this.running = [];
      this.decodingInFlight = new Set(decoding);
      return this.makeStep('mixed', canRun.concat(decoding), prefill);
    }
    return this.makeStep('extend', canRun, prefill);
  }

  /** SGLang update_running_batch: decode memory check, retraction, one decode step. */
  private updateRunningBatch(): ScheduledStep | null {
    const initialBs = this.running.length;
    this.lastRetracted = 0;
    if (!checkDecodeMem(this.running, this.allocator, this.cache)) {
      const r = retractDecode(this.running, this.allocator, this.cache);
      this.running = r.kept;
      this.newTokenRatio = r.newTokenRatio;
      this.lastRetracted = r.retracted.length;
      this.totalRetracted += r.retracted.length;
      this.waiting.push(...r.retracted);
    } else {
      this.newTokenRatio = Math.max(this.newTokenRatio - this.newTokenRatioDecay, this.minNewTokenRatio);
    }
    if (this.running.length < initialBs) this.batchIsFull = false;
    this.prepareForDecode(this.running);
    return this.makeStep('decode', this.running.slice());
  }

  /**
   * SGLang prepare_for_extend: rows, prefix slots, `cachedTokens`, then KV for each extend.
   *
   *   row: | [0, prefixLen) matched prefix (written now) or kept from the last chunk | [prefixLen, fillLen) new slots |
   */
  private prepareForExtend(reqs: Req[]): void {
    let extendNumTokens = 0;
    for (const r of reqs) {
      if (r.reqPoolIdx < 0) {
        r.reqPoolIdx = this.reqToToken.alloc();
        if (r.reqPoolIdx < 0) throw new Error('prepareForExtend: out of req-to-token rows');
      }
      if (r.needsPrefixWrite) {
        this.reqToToken.row(r.reqPoolIdx).set(r.matchedIndices, 0);
        r.matchedIndices = new Int32Array(0);
        r.needsPrefixWrite = false;
      }
      r.cachedTokens += r.prefixLen - r.alreadyComputed;
      r.alreadyComputed = r.fillLen;
      r.isRetracted = false;
      extendNumTokens += r.extendLen;
    }
    const ps = this.o.pageSize;
    evictIfNeeded(this.allocator, this.cache, ps === 1 ? extendNumTokens : extendNumTokens + reqs.length * ps);
    for (const r of reqs) {
      if (!this.allocator.allocExtend(this.reqToToken.row(r.reqPoolIdx), r.prefixLen, r.fillLen)) {
        throw new Error(`Prefill out of memory: ${extendNumTokens} tokens needed, ${this.allocator.availableSlots()} available`);
      }
      r.kvLen = r.fillLen;
    }
  }

  /** SGLang prepare_for_decode: one new slot per request, at position kvLen. */
  private prepareForDecode(reqs: Req[]): void {
    evictIfNeeded(this.allocator, this.cache, newPagesNextDecode(reqs, this.o.pageSize) * this.o.pageSize);
    for (const r of reqs) {
      if (!this.allocator.allocExtend(this.reqToToken.row(r.reqPoolIdx), r.kvLen, r.kvLen + 1)) {
        throw new Error(`Decode out of memory: ${this.allocator.availableSlots()} slots available`);
      }
      r.kvLen += 1;
      r.fillLen = r.kvLen;
      r.extendLen = 1;
    }
  }

  private makeStep(kind: ScheduledStep['kind'], reqs: Req[], prefill?: PrefillLogInfo): ScheduledStep {
    const built = this.builder.build(reqs);
    return prefill ? { kind, reqs, ...built, prefill } : { kind, reqs, ...built };
  }
}

function reject(req: Req, message: string, status: number, errType: string | null): Req {
  req.finishReason = { type: 'abort', message, status_code: status, err_type: errType };
  req.errorStatus = status;
  return req;
}

function abortReason(): FinishReason {
  return { type: 'abort', message: 'Aborted', status_code: null, err_type: null };
}

function throwLeak(report: string): never {
  throw new Error(`token_to_kv_pool_allocator memory leak detected! ${report}`);
}

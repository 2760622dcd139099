/**
 * Test harness: a fake ModelRunner whose next token is a hash of the whole context as read back
 * through the KV slots (so any wrong slot, stale KV or bad sharing changes the output), plus a
 * driver that runs a workload through a Scheduler and checks batch invariants every step.
 */
import assert from 'node:assert/strict';
import type { EngineRequest, FinishReason, ForwardBatch, ModelRunner } from '../../../src/engine/types.js';
import type { Req } from '../../../src/scheduler/req.js';
import { Scheduler, type SchedulerOptions, type ScheduledStep } from '../../../src/scheduler/scheduler.js';

export const VOCAB = 64;
export const EOS = 0;

/** Next token after `tokens` (the reference the scheduler must reproduce). */
export function nextToken(hash: number): number {
  return hash % 53 === 0 ? EOS : 1 + (hash % (VOCAB - 1));
}

export function foldHash(h: number, token: number, pos: number): number {
  return (Math.imul(h, 31) + token * 7 + pos + 1) >>> 0;
}

export class FakeRunner implements ModelRunner {
  readonly vocabSize = VOCAB;
  readonly kvToken: Int32Array;
  readonly kvPos: Int32Array;
  private logits = new Float32Array(0);

  constructor(slotCapacity: number) {
    this.kvToken = new Int32Array(slotCapacity).fill(-1);
    this.kvPos = new Int32Array(slotCapacity).fill(-1);
  }

  forward(b: ForwardBatch): Float32Array {
    for (let t = 0; t < b.numTokens; t++) {
      this.kvToken[b.outLoc[t]!] = b.inputIds[t]!;
      this.kvPos[b.outLoc[t]!] = b.positions[t]!;
    }
    if (this.logits.length < b.numLogitRows * VOCAB) this.logits = new Float32Array(b.numLogitRows * VOCAB * 2);
    this.logits.fill(0, 0, b.numLogitRows * VOCAB);
    let r = 0;
    for (let i = 0; i < b.numLogitRows; i++) {
      const row = b.logitRows[i]!;
      while (b.qIndptr[r + 1]! <= row) r++;
      const pos = b.positions[row]!;
      let h = 0;
      for (let j = 0; j <= pos; j++) {
        const slot = b.kvIndices[b.kvIndptr[r]! + j]!;
        h = foldHash(h, this.kvToken[slot]!, this.kvPos[slot]!);
      }
      this.logits[i * VOCAB + nextToken(h)] = 1;
    }
    return this.logits;
  }
}

export interface Outcome {
  outputIds: number[];
  finishReason: FinishReason | null;
  cachedTokens: number;
}

/** Runs one request alone with the reference model. */
export function reference(inputIds: number[], maxNewTokens: number, ignoreEos: boolean): Outcome {
  let h = 0;
  for (let p = 0; p < inputIds.length; p++) h = foldHash(h, inputIds[p]!, p);
  const out: number[] = [];
  let pos = inputIds.length;
  for (;;) {
    const t = nextToken(h);
    out.push(t);
    if (out.length >= maxNewTokens) return { outputIds: out, finishReason: { type: 'length', length: maxNewTokens }, cachedTokens: 0 };
    if (t === EOS && !ignoreEos) return { outputIds: out, finishReason: { type: 'stop', matched: EOS }, cachedTokens: 0 };
    h = foldHash(h, t, pos++);
  }
}

export const finishHook = (req: Req): FinishReason | null => {
  const t = req.outputIds[req.outputIds.length - 1];
  return t === EOS && !req.request.sampling.ignoreEos ? { type: 'stop', matched: EOS } : null;
};

export function makeRequest(rid: string, inputIds: number[], maxNewTokens: number | null, extra: Partial<EngineRequest> & { ignoreEos?: boolean } = {}): EngineRequest {
  const { ignoreEos = false, ...rest } = extra;
  return {
    rid,
    inputIds,
    stream: false,
    returnLogprob: false,
    logprobStartLen: -1,
    topLogprobsNum: 0,
    tokenIdsLogprob: null,
    ...rest,
    sampling: {
      maxNewTokens, minNewTokens: 0, temperature: 0, topP: 1, topK: 1, minP: 0, frequencyPenalty: 0, presencePenalty: 0,
      repetitionPenalty: 1, stop: [], stopTokenIds: [], ignoreEos, skipSpecialTokens: true, spacesBetweenSpecialTokens: true,
      noStopTrim: false, logitBias: null, seed: null, streamInterval: null, jsonSchema: null, regex: null, ebnf: null, structuralTag: null,
    },
  };
}

export function baseOptions(over: Partial<SchedulerOptions> = {}): SchedulerOptions {
  const maxTotalNumTokens = over.maxTotalNumTokens ?? 4096;
  const contextLen = 1024;
  const maxReqLen = Math.min(contextLen - 1, maxTotalNumTokens - 1);
  return {
    maxTotalNumTokens,
    maxNumReqs: 64,
    maxContextLen: contextLen + 4,
    maxRunningRequests: 64,
    maxReqLen,
    maxReqInputLen: maxReqLen - 5,
    pageSize: 1,
    chunkedPrefillSize: null,
    maxPrefillTokens: 16384,
    schedulePolicy: 'fcfs',
    disableRadixCache: false,
    enableMixedChunk: false,
    scheduleConservativeness: 1,
    maxQueuedRequests: null,
    allowAutoTruncate: false,
    ...over,
  };
}

/** Checks the ForwardBatch against the scheduler's view of its requests. */
export function checkStep(s: Scheduler, step: ScheduledStep, runner: FakeRunner): void {
  const b = step.batch;
  assert.equal(b.numReqs, step.reqs.length);
  assert.equal(b.qIndptr[b.numReqs], b.numTokens);
  const seen = new Set<number>();
  for (let r = 0; r < b.numReqs; r++) {
    const req = step.reqs[r]!;
    const q0 = b.qIndptr[r]!;
    const q1 = b.qIndptr[r + 1]!;
    const kv0 = b.kvIndptr[r]!;
    assert.equal(b.kvIndptr[r + 1]! - kv0, req.kvLen, 'kv length = request kvLen');
    assert.ok(q1 > q0, 'every request has a token');
    const row = s.reqToToken.row(req.reqPoolIdx);
    for (let j = 0; j < req.kvLen; j++) assert.equal(b.kvIndices[kv0 + j], row[j], 'kvIndices = the row prefix');
    const startPos = req.kvLen - (q1 - q0);
    for (let j = 0; j < startPos; j++) {
      const slot = b.kvIndices[kv0 + j]!;
      assert.equal(runner.kvPos[slot], j, 'cached KV position');
      assert.equal(runner.kvToken[slot], req.tokenAt(j), 'cached KV token');
    }
    for (let t = q0; t < q1; t++) {
      const pos = startPos + (t - q0);
      assert.equal(b.positions[t], pos, 'positions contiguous');
      assert.equal(b.inputIds[t], req.tokenAt(pos));
      const slot = b.outLoc[t]!;
      assert.equal(slot, b.kvIndices[kv0 + pos]);
      const page = Math.floor(slot / s.allocator.pageSize);
      assert.ok(page >= 1 && !s.allocator.isPageFree(page), 'outLoc allocated');
      assert.ok(!seen.has(slot), 'outLoc unique');
      seen.add(slot);
    }
  }
  for (let i = 1; i < b.numLogitRows; i++) assert.ok(b.logitRows[i]! > b.logitRows[i - 1]!, 'logit rows ascending');
  for (let i = 0; i < step.sampleReqs.length; i++) {
    const req = step.sampleReqs[i]!;
    const row = b.logitRows[step.sampleLogitRow[i]!]!;
    const r = step.reqs.indexOf(req);
    assert.equal(row, b.qIndptr[r + 1]! - 1, 'sampling row is the last row');
    assert.equal(req.kvLen, req.seqLen);
  }
}

export interface Arrival {
  step: number;
  request: EngineRequest;
}

/** Drives the scheduler until every request finished; returns outcomes by rid. */
const runners = new WeakMap<Scheduler, FakeRunner>();

/** The fake model bound to a scheduler (its KV store persists across drives, as the real pool does). */
export function runnerFor(s: Scheduler): FakeRunner {
  let r = runners.get(s);
  if (!r) runners.set(s, (r = new FakeRunner(s.allocator.slotCapacity)));
  return r;
}

export function drive(s: Scheduler, arrivals: Arrival[], hooks: { beforeStep?: (n: number) => void } = {}): Map<string, Outcome> {
  const runner = runnerFor(s);
  const results = new Map<string, Outcome>();
  const pending = arrivals.slice().sort((a, b) => a.step - b.step);
  const sampled = new Int32Array(1024);
  for (let n = 0; n < 100000; n++) {
    while (pending.length > 0 && pending[0]!.step <= n) {
      const req = s.addRequest(pending.shift()!.request);
      if (req.finished) results.set(req.rid, { outputIds: req.outputIds.slice(), finishReason: req.finishReason, cachedTokens: req.cachedTokens });
    }
    hooks.beforeStep?.(n);
    const step = s.schedule();
    if (step === null) {
      if (pending.length === 0 && s.isIdle) return results;
      continue;
    }
    checkStep(s, step, runner);
    assert.equal(s.checkLeaks(), null);
    const logits = runner.forward(step.batch);
    for (let i = 0; i < step.sampleReqs.length; i++) {
      const row = step.sampleLogitRow[i]!;
      let best = 0;
      for (let v = 1; v < VOCAB; v++) if (logits[row * VOCAB + v]! > logits[row * VOCAB + best]!) best = v;
      sampled[i] = best;
    }
    for (const req of s.complete(step, sampled.subarray(0, step.sampleReqs.length), finishHook)) {
      if (req.finished) results.set(req.rid, { outputIds: req.outputIds.slice(), finishReason: req.finishReason, cachedTokens: req.cachedTokens });
    }
    const leak = s.checkLeaks();
    assert.equal(leak, null, leak ?? '');
  }
  throw new Error('workload did not finish');
}

export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random requests sharing a few prompt prefixes, arriving over the first steps. */
export function randomWorkload(seed: number, numReqs: number, maxInput = 200, maxNew = 40): Arrival[] {
  const rand = rng(seed);
  const prefixes = Array.from({ length: 4 }, () => Array.from({ length: 1 + Math.floor(rand() * 120) }, () => 1 + Math.floor(rand() * (VOCAB - 1))));
  const out: Arrival[] = [];
  for (let i = 0; i < numReqs; i++) {
    const useShared = rand() < 0.6;
    const base = useShared ? prefixes[Math.floor(rand() * prefixes.length)]! : [];
    const tailLen = Math.max(useShared ? 0 : 1, Math.floor(rand() * (maxInput - base.length)));
    const ids = base.concat(Array.from({ length: tailLen }, () => 1 + Math.floor(rand() * (VOCAB - 1))));
    if (ids.length === 0) ids.push(1);
    out.push({
      step: Math.floor(rand() * numReqs),
      request: makeRequest(`r${i}`, ids, 1 + Math.floor(rand() * maxNew), { ignoreEos: rand() < 0.3 }),
    });
  }
  return out;
}

export function expectReference(arrivals: Arrival[], results: Map<string, Outcome>, maxReqLen: number): void {
  assert.equal(results.size, arrivals.length);
  for (const a of arrivals) {
    const got = results.get(a.request.rid)!;
    const maxNew = Math.min(a.request.sampling.maxNewTokens ?? 1 << 30, maxReqLen - a.request.inputIds.length - 1);
    const want = reference(a.request.inputIds, maxNew, a.request.sampling.ignoreEos);
    assert.deepEqual(got.outputIds, want.outputIds, `outputs of ${a.request.rid}`);
    assert.deepEqual(got.finishReason, want.finishReason, `finish of ${a.request.rid}`);
  }
}

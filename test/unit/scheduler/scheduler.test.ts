import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCHEDULE_POLICIES } from '../../../src/scheduler/policy.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { baseOptions, drive, expectReference, makeRequest, randomWorkload, rng, runnerFor } from './fake-runner.js';

const configs: { name: string; over: Parameters<typeof baseOptions>[0] }[] = [
  { name: 'defaults', over: {} },
  { name: 'chunk 16', over: { chunkedPrefillSize: 16 } },
  { name: 'chunk 64 page 4', over: { chunkedPrefillSize: 64, pageSize: 4 } },
  { name: 'chunk 64 page 16 mixed', over: { chunkedPrefillSize: 64, pageSize: 16, enableMixedChunk: true } },
  { name: 'chunk 16 mixed', over: { chunkedPrefillSize: 16, enableMixedChunk: true } },
  { name: 'max running 1', over: { maxRunningRequests: 1 } },
  { name: 'max running 3 page 4', over: { maxRunningRequests: 3, pageSize: 4 } },
  { name: 'no radix', over: { disableRadixCache: true } },
  { name: 'no radix chunk 32 page 4 mixed', over: { disableRadixCache: true, chunkedPrefillSize: 32, pageSize: 4, enableMixedChunk: true } },
  { name: 'max prefill 64', over: { maxPrefillTokens: 64 } },
  ...SCHEDULE_POLICIES.map((p) => ({ name: `policy ${p} chunk 32`, over: { schedulePolicy: p, chunkedPrefillSize: 32, random: rng(7) } })),
  ...SCHEDULE_POLICIES.map((p) => ({ name: `policy ${p} page 16`, over: { schedulePolicy: p, pageSize: 16 } })),
];

for (const { name, over } of configs) {
  test(`random workload equals each request alone: ${name}`, () => {
    for (const seed of [1, 2]) {
      const opts = baseOptions(over);
      const s = new Scheduler(opts);
      const arrivals = randomWorkload(seed, 30);
      const results = drive(s, arrivals);
      expectReference(arrivals, results, opts.maxReqLen);
      assert.ok(s.isIdle);
      assert.equal(s.checkLeaks(), null);
      assert.ok(s.flushCache());
      assert.equal(s.allocator.availableSlots(), s.allocator.numSlots);
    }
  });
}

for (const pageSize of [1, 4, 16]) {
  test(`retraction under a tiny pool completes every request identically (page ${pageSize})`, () => {
    const opts = baseOptions({ maxTotalNumTokens: 320, pageSize, chunkedPrefillSize: 64 });
    const s = new Scheduler(opts);
    const rand = rng(pageSize);
    const arrivals = Array.from({ length: 24 }, (_, i) => ({
      step: 0,
      request: makeRequest(`q${i}`, Array.from({ length: 20 + Math.floor(rand() * 40) }, () => 1 + Math.floor(rand() * 60)), 60 + Math.floor(rand() * 60), { ignoreEos: true }),
    }));
    const results = drive(s, arrivals);
    expectReference(arrivals, results, opts.maxReqLen);
    assert.ok(s.stats().totalRetractedReqs > 0, 'the workload retracted');
    assert.equal(s.checkLeaks(), null);
  });
}

test('no radix + ignore_eos under a tiny pool (ignore-eos admission) completes', () => {
  const opts = baseOptions({ maxTotalNumTokens: 512, disableRadixCache: true, pageSize: 4 });
  const s = new Scheduler(opts);
  const arrivals = randomWorkload(5, 20, 100, 80).map((a) => ({ ...a, request: { ...a.request, sampling: { ...a.request.sampling, ignoreEos: true } } }));
  expectReference(arrivals, drive(s, arrivals), opts.maxReqLen);
});

test('results do not depend on max_running_requests when all arrive at once', () => {
  const arrivals = randomWorkload(9, 25).map((a) => ({ ...a, step: 0 }));
  for (const maxRunningRequests of [1, 2, 5, 64]) {
    const opts = baseOptions({ maxRunningRequests, chunkedPrefillSize: 32 });
    expectReference(arrivals, drive(new Scheduler(opts), arrivals), opts.maxReqLen);
  }
});

test('cached_tokens as SGLang reports them (test_cache_tokens, scaled down)', () => {
  for (const chunkedPrefillSize of [null, 64]) {
    const opts = baseOptions({ maxTotalNumTokens: 8192, chunkedPrefillSize });
    const ctx = 2048;
    const maxReqLen = Math.min(ctx - 1, opts.maxTotalNumTokens - 1);
    const s = new Scheduler({ ...opts, maxContextLen: ctx + 4, maxReqLen, maxReqInputLen: maxReqLen - 5 });
    assert.ok(s.flushCache());
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const table: [number, number][] = [[10, 0], [1000, 10], [1000, 999], [100, 99], [1100, 1000]];
    for (const [len, want] of table) {
      const r = drive(s, [{ step: 0, request: makeRequest(`c${len}`, range(len), 1) }]);
      assert.equal(r.get(`c${len}`)!.cachedTokens, want, `range(${len}) chunk ${chunkedPrefillSize}`);
    }
  }
});

test('abort by prefix and abort_all', () => {
  const s = new Scheduler(baseOptions({ maxRunningRequests: 2 }));
  const long = (rid: string) => makeRequest(rid, [1, 2, 3, 4, 5], 500, { ignoreEos: true });
  for (const rid of ['x_0', 'x_1', 'x_2', 'y_0', 'y_1']) s.addRequest(long(rid));
  const sampled = new Int32Array(8).fill(7);
  const step = s.schedule()!;
  assert.deepEqual(step.reqs.map((r) => r.rid), ['x_0', 'x_1']);
  s.complete(step, sampled, () => null);
  const removed = s.abort('x');
  assert.deepEqual(removed.map((r) => r.rid), ['x_2']);
  assert.deepEqual(removed[0]!.finishReason, { type: 'abort', message: 'Abort before prefill' });
  const step2 = s.schedule()!;
  const out = s.complete(step2, sampled, () => null);
  const aborted = out.filter((r) => r.finished);
  assert.deepEqual(aborted.map((r) => r.rid).sort(), ['x_0', 'x_1']);
  for (const r of aborted) assert.deepEqual(r.finishReason, { type: 'abort', message: 'Aborted', status_code: null, err_type: null });
  assert.equal(s.checkLeaks(), null);
  const step3 = s.schedule()!;
  assert.deepEqual(step3.reqs.map((r) => r.rid), ['y_0', 'y_1']);
  assert.equal(s.abort('', true).length, 0);
  const out3 = s.complete(step3, sampled, () => null);
  assert.ok(out3.every((r) => r.finishReason?.type === 'abort'));
  assert.ok(s.isIdle);
  assert.equal(s.schedule(), null);
  assert.equal(s.checkLeaks(), null);
});

test('aborting a chunked request mid-prompt frees it after its chunk', () => {
  const s = new Scheduler(baseOptions({ chunkedPrefillSize: 16 }));
  s.addRequest(makeRequest('big', Array.from({ length: 100 }, (_, i) => 1 + (i % 50)), 10));
  const step = s.schedule()!;
  assert.equal(step.sampleReqs.length, 0, 'a chunk that does not end the prompt samples nothing');
  assert.equal(step.batch.numLogitRows, 0);
  s.abort('big');
  const out = s.complete(step, new Int32Array(0), () => null);
  assert.equal(out[0]!.finishReason?.type, 'abort');
  assert.ok(s.isIdle);
  assert.equal(s.checkLeaks(), null);
});

test('queue full (503), input too long (400), auto-truncate, bad logprob_start_len', () => {
  const s = new Scheduler(baseOptions({ maxQueuedRequests: 2 }));
  s.addRequest(makeRequest('a', [1], 1));
  s.addRequest(makeRequest('b', [1], 1));
  const c = s.addRequest(makeRequest('c', [1], 1));
  assert.deepEqual(c.finishReason, { type: 'abort', message: 'The request queue is full.', status_code: 503, err_type: null });
  assert.equal(c.errorStatus, 503);
  const opts = baseOptions();
  const long = s.addRequest(makeRequest('d', new Array(opts.maxReqInputLen).fill(1), 1));
  assert.equal(long.errorStatus, 400);
  assert.equal(long.finishReason?.type === 'abort' && long.finishReason.message, `Input length (${opts.maxReqInputLen} tokens) exceeds the maximum allowed length (${opts.maxReqInputLen} tokens). Use a shorter input or enable --allow-auto-truncate.`);
  const t = new Scheduler(baseOptions({ allowAutoTruncate: true })).addRequest(makeRequest('e', new Array(5000).fill(1), null));
  assert.equal(t.finished, false);
  assert.equal(t.originInputIds.length, opts.maxReqInputLen);
  assert.equal(t.maxNewTokens, opts.maxReqLen - opts.maxReqInputLen - 1);
  const lp = new Scheduler(baseOptions()).addRequest(makeRequest('f', [1, 2, 3], 1, { returnLogprob: true, logprobStartLen: 3 }));
  assert.equal(lp.errorStatus, 400);
});

test('flushCache is refused while requests wait or run', () => {
  const s = new Scheduler(baseOptions());
  s.addRequest(makeRequest('a', [1, 2, 3], 3, { ignoreEos: true }));
  assert.equal(s.flushCache(), false);
  const step = s.schedule()!;
  assert.equal(s.flushCache(), false);
  runnerFor(s).forward(step.batch);
  s.complete(step, new Int32Array([5]), () => null);
  assert.equal(s.flushCache(), false);
  drive(s, []);
  assert.ok(s.cache.evictableSize() > 0);
  assert.ok(s.flushCache());
  assert.equal(s.cache.evictableSize(), 0);
  assert.equal(s.allocator.availableSlots(), s.allocator.numSlots);
});

test('input-logprob rows cover [logprobStartLen, inputLen - 1) once, across chunks', () => {
  for (const chunkedPrefillSize of [null, 8]) {
    const s = new Scheduler(baseOptions({ chunkedPrefillSize }));
    const ids = Array.from({ length: 30 }, (_, i) => 1 + i);
    s.addRequest(makeRequest('lp', ids, 2, { returnLogprob: true, logprobStartLen: 4, ignoreEos: true }));
    const seen: number[] = [];
    let step;
    while ((step = s.schedule()) !== null) {
      for (let i = 0; i < step.batch.numLogitRows; i++) if (!step.sampleLogitRow.includes(i)) seen.push(step.logitRowPos[i]!);
      s.complete(step, new Int32Array(step.sampleReqs.length).fill(9), () => null);
    }
    assert.deepEqual(seen, Array.from({ length: 30 - 1 - 4 }, (_, i) => 4 + i));
  }
});

test('lpm falls back to fcfs over 128 waiting, deprioritizes in-batch shared prefixes', () => {
  const s = new Scheduler(baseOptions({ schedulePolicy: 'lpm', maxRunningRequests: 1 }));
  const shared = Array.from({ length: 40 }, (_, i) => 1 + (i % 60));
  s.addRequest(makeRequest('a', shared.concat([1]), 1));
  s.addRequest(makeRequest('b', shared.concat([2]), 1));
  s.addRequest(makeRequest('c', [5, 6, 7], 1));
  const step = s.schedule()!;
  assert.deepEqual(s.waiting.map((r) => r.rid), ['c', 'b'], 'b shares >= 32 tokens with a and goes last');
  assert.deepEqual(step.reqs.map((r) => r.rid), ['a']);
});

test('stats and load', () => {
  const s = new Scheduler(baseOptions());
  s.addRequest(makeRequest('a', [1, 2, 3, 4], 5, { ignoreEos: true }));
  assert.deepEqual(s.getLoad(), { numReqs: 1, numWaitingReqs: 1, numTokens: 4 });
  const step = s.schedule()!;
  s.complete(step, new Int32Array([3]), () => null);
  const st = s.stats();
  assert.equal(st.numRunningReqs, 1);
  assert.equal(st.numQueueReqs, 0);
  assert.equal(st.numUsedTokens, 4);
  assert.equal(st.maxTotalNumTokens, 4096);
});

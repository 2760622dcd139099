import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeMemoryPlan, detectMemory } from '../../../src/scheduler/memory-plan.js';
import { shouldEmit } from '../../../src/scheduler/stream-cadence.js';
import { Req } from '../../../src/scheduler/req.js';
import { SchedulePolicy } from '../../../src/scheduler/policy.js';
import { RadixCache } from '../../../src/cache/radix-cache.js';
import { makeRequest } from './fake-runner.js';

const GiB = 2 ** 30;
const base = { numKvHeads: 4, headDim: 64, numLayers: 8, kvDtypeBytes: 2, memFractionStatic: 0.8, maxTotalTokens: null, pageSize: 16, contextLength: 2048, maxRunningRequests: null };

test('memory plan follows SGLang sizing, capped to a fraction of free RAM', () => {
  const p = computeMemoryPlan({ ...base, availableBytes: 4 * GiB, totalBytes: 8 * GiB });
  assert.equal(p.cellBytes, 4 * 64 * 8 * 2 * 2);
  // (4 - 8 * 0.2) GiB = 2.4 GiB < 0.8 * 4 GiB
  assert.equal(p.maxTotalNumTokens, Math.floor(Math.floor((4 * GiB - 8 * GiB * 0.2) / p.cellBytes) / 16) * 16);
  assert.equal(p.maxTotalNumTokens % 16, 0);
  assert.equal(p.maxReqLen, 2047);
  assert.equal(p.maxReqInputLen, 2042);
  assert.equal(p.maxContextLen, 2052);
  assert.equal(p.maxNumReqs, 4096);
  assert.equal(p.maxRunningRequests, 4096);
  const capped = computeMemoryPlan({ ...base, availableBytes: 4 * GiB, totalBytes: 4.5 * GiB, memFractionStatic: 0.9 });
  assert.ok(capped.maxTotalNumTokens * capped.cellBytes <= 4 * GiB * 0.9);
  const fixed = computeMemoryPlan({ ...base, maxTotalTokens: 1000, maxRunningRequests: 8, availableBytes: 4 * GiB, totalBytes: 8 * GiB });
  assert.equal(fixed.maxTotalNumTokens, 992);
  assert.equal(fixed.maxNumReqs, 8);
  assert.equal(fixed.maxRunningRequests, 8);
  assert.equal(fixed.maxReqLen, 991);
  const small = computeMemoryPlan({ ...base, maxTotalTokens: 4096, availableBytes: GiB, totalBytes: GiB });
  assert.equal(small.maxNumReqs, 2048);
  assert.equal(small.maxRunningRequests, 2048);
  assert.throws(() => computeMemoryPlan({ ...base, availableBytes: GiB, totalBytes: 16 * GiB }), /Not enough memory/);
  const m = detectMemory();
  assert.ok(m.availableBytes > 0 && m.totalBytes >= m.availableBytes);
});

test('stream cadence: first token at once, every interval, non-stream every 50, finish always', () => {
  const mk = (stream: boolean, interval: number | null) => {
    const r = makeRequest('s', [1], 100, { stream });
    r.sampling.streamInterval = interval;
    return new Req(r, 0);
  };
  const r = mk(true, 3);
  const emits: number[] = [];
  for (let i = 1; i <= 10; i++) {
    r.outputIds.push(1);
    if (shouldEmit(r, 1)) emits.push(i);
  }
  assert.deepEqual(emits, [1, 4, 7, 10]);
  const every = mk(true, null);
  every.outputIds.push(1);
  assert.ok(shouldEmit(every, 1));
  const ns = mk(false, null);
  for (let i = 0; i < 49; i++) ns.outputIds.push(1);
  assert.equal(shouldEmit(ns, 1), false);
  ns.outputIds.push(1);
  assert.ok(shouldEmit(ns, 1));
  ns.outputIds.push(1);
  ns.finishReason = { type: 'length', length: 51 };
  assert.ok(shouldEmit(ns, 1));
});

test('dfs-weight visits heavier subtrees first; unknown policy throws', () => {
  const cache = new RadixCache({ pageSize: 1, allocator: null, reqToToken: null });
  cache.insert([1, 1, 1], new Int32Array(3));
  cache.insert([2, 2, 2], new Int32Array(3));
  const reqs = [[9, 9], [1, 1, 1, 5], [2, 2, 2, 5], [2, 2, 2, 6], [1, 1, 1, 7], [2, 2, 2, 8]].map((ids, i) => new Req(makeRequest(`d${i}`, ids, 4), i));
  const p = new SchedulePolicy('dfs-weight', cache);
  assert.equal(p.calcPriority(reqs), true);
  assert.deepEqual(reqs.map((r) => r.rid), ['d2', 'd3', 'd5', 'd1', 'd4', 'd0']);
  const lof = reqs.map((r, i) => { r.maxNewTokens = i; return r; });
  new SchedulePolicy('lof', cache).calcPriority(lof);
  assert.deepEqual(lof.map((r) => r.maxNewTokens), [5, 4, 3, 2, 1, 0]);
  assert.throws(() => new SchedulePolicy('nope', cache), /Unknown schedule_policy/);
  const chunkLike = { ...cache, sharesPrefixes: false } as unknown as RadixCache;
  assert.equal(new SchedulePolicy('lpm', chunkLike).policy, 'fcfs');
});

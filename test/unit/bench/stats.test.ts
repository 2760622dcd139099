import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeMetrics, mean, median, percentile, sharedPrefixTtft, std, StreamTimer, type RequestOutput } from '../../../bench/stats.js';
import { tokensInChunk } from '../../../bench/backends.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test('percentile interpolates linearly like numpy', () => {
  close(percentile([1, 2, 3, 4], 50), 2.5);
  close(percentile([1, 2, 3, 4], 99), 3.97);
  close(percentile([10], 99), 10);
  close(percentile([3, 1, 2], 0), 1);
  close(percentile([3, 1, 2], 100), 3);
  assert.equal(percentile([], 50), 0);
  close(median([5, 1, 3]), 3);
  close(mean([1, 2, 3, 6]), 3);
  close(std([1, 2, 3, 6]), Math.sqrt((4 + 1 + 0 + 9) / 4)); // population std (ddof 0)
});

function out(p: Partial<RequestOutput>): RequestOutput {
  return { success: true, error: '', promptLen: 10, outputLen: 5, ttft: 0.1, latency: 0.5, itl: [0.1, 0.1, 0.1, 0.1], startTime: 0, ...p };
}

test('computeMetrics follows SGLang definitions', () => {
  const outs = [
    out({ promptLen: 100, outputLen: 5, ttft: 0.2, latency: 1.0, itl: [0.2, 0.2, 0.2, 0.2] }),
    out({ promptLen: 50, outputLen: 3, ttft: 0.4, latency: 0.8, itl: [0.2, 0.2] }),
    out({ promptLen: 70, outputLen: 1, ttft: 0.3, latency: 0.3, itl: [] }),
    out({ success: false, error: 'boom', promptLen: 999, outputLen: 0 }),
  ];
  const m = computeMetrics(outs, 2.0);
  assert.equal(m.completed, 3);
  assert.equal(m.failed, 1);
  assert.equal(m.total_input_tokens, 220); // failed request's prompt not counted
  assert.equal(m.total_output_tokens, 9);
  close(m.request_throughput, 1.5);
  close(m.input_throughput, 110);
  close(m.output_throughput, 4.5);
  close(m.total_throughput, 114.5);
  // TPOT = (latency - ttft) / (output_len - 1), only for output_len > 1
  close(m.mean_tpot_ms, ((0.8 / 4 + 0.4 / 2) / 2) * 1000);
  close(m.median_ttft_ms, 300);
  close(m.mean_ttft_ms, 300);
  close(m.mean_itl_ms, 200);
  close(m.max_itl_ms, 200);
  close(m.median_e2e_latency_ms, 800);
  close(m.p99_e2e_latency_ms, percentile([1.0, 0.8, 0.3], 99) * 1000);
  close(m.concurrency, (1.0 + 0.8 + 0.3) / 2.0);
});

test('computeMetrics with no successes gives zeros, not NaN', () => {
  const m = computeMetrics([out({ success: false })], 1);
  assert.equal(m.completed, 0);
  assert.equal(m.mean_ttft_ms, 0);
  assert.equal(m.p99_itl_ms, 0);
  assert.equal(m.concurrency, 0);
});

test('StreamTimer: TTFT at the first token chunk, ITL split over multi-token chunks', () => {
  const t = new StreamTimer(10);
  t.onChunk(10.05);
  t.onTokens(10.05, 0); // no token yet (e.g. a role-only chunk)
  t.onChunk(10.1);
  t.onTokens(10.1, 1);
  t.onChunk(10.3);
  t.onTokens(10.3, 3); // two tokens in one chunk: two gaps of 0.1
  t.onChunk(10.4);
  t.onTokens(10.4, 3); // unchanged count: no ITL
  t.onChunk(10.5); // [DONE]
  close(t.ttft, 0.1);
  assert.equal(t.itl.length, 2);
  close(t.itl[0]!, 0.1);
  close(t.itl[1]!, 0.1);
  assert.equal(t.tokens, 3);
  close(t.latency, 0.5);
});

test('tokensInChunk reads each backend\'s count', () => {
  assert.equal(tokensInChunk('sglang', { output_ids: [5], meta_info: { completion_tokens: 4 } }, 3), 4);
  assert.equal(tokensInChunk('sglang', { text: 'ab', output_ids: [1, 2] }, 3), 5);
  assert.equal(tokensInChunk('llama.cpp', { content: '', tokens: [7, 8], tokens_predicted: 6 }, 4), 6);
  assert.equal(tokensInChunk('openai', { choices: [{ text: 'x' }], timings: { predicted_n: 9 } }, 8), 9);
  assert.equal(tokensInChunk('openai', { choices: [], usage: { completion_tokens: 12 } }, 12), 12);
  assert.equal(tokensInChunk('openai', { choices: [{ text: 'x' }] }, 2), 3);
  assert.equal(tokensInChunk('openai', { choices: [{ text: '' }] }, 2), null);
});

test('sharedPrefixTtft compares each group\'s first request to the later ones', () => {
  const outs = [
    out({ group: 0, startTime: 0, ttft: 1.0 }),
    out({ group: 0, startTime: 0.5, ttft: 1.2 }), // overlaps the first one's prefill: concurrent
    out({ group: 0, startTime: 1, ttft: 0.1 }),
    out({ group: 0, startTime: 2, ttft: 0.2 }),
    out({ group: 1, startTime: 0.5, ttft: 2.0 }),
    out({ group: 1, startTime: 2.5, ttft: 0.3 }),
  ];
  const s = sharedPrefixTtft(outs)!;
  close(s.first_ttft_ms, 1500);
  close(s.later_ttft_ms, 200);
  close(s.ratio, 200 / 1500);
  assert.equal(s.later, 3);
  assert.equal(s.concurrent, 1);
  assert.equal(sharedPrefixTtft([out({})]), null);
});

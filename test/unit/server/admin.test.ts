/** Auth, admin routes, abort, client disconnect, metrics, pause and shutdown. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Harness, postJson, start } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(5);
  }
}

describe('api key', () => {
  let h: Harness;
  before(async () => {
    h = await start({ apiKey: 'K', enableMetrics: true });
  });
  after(() => h.close());

  test('missing or wrong key is 401; /health and /metrics stay open; OPTIONS is exempt', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'K' }] as Record<string, string>[]) {
      const r = await fetch(`${h.url}/v1/models`, { headers });
      assert.equal(r.status, 401);
      assert.deepEqual(await r.json(), { error: 'Unauthorized' });
    }
    assert.equal((await postJson(`${h.url}/generate`, { text: 'x' })).status, 401);
    assert.equal((await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer K' } })).status, 200);
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    assert.equal((await fetch(`${h.url}/health_generate`)).status, 200);
    assert.equal((await fetch(`${h.url}/metrics`)).status, 200);
    const pre = await fetch(`${h.url}/generate`, {
      method: 'OPTIONS',
      headers: { origin: 'http://x.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://x.test');
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  });
});

describe('admin routes', () => {
  let h: Harness;
  before(async () => {
    h = await start(
      { enableMetrics: true, serverInfo: { model_path: '/models/fake', port: 30000 }, version: '0.1.0', preferredSamplingParams: null },
      { stepMs: 5 },
    );
  });
  after(() => h.close());

  test('health runs a 1-token greedy generation on input_ids [0]', async () => {
    const r = await fetch(`${h.url}/health`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');
    const req = h.engine.requests.find((q) => q.rid.startsWith('HEALTH_CHECK_'))!;
    assert.deepEqual(req.inputIds, [0]);
    assert.equal(req.sampling.maxNewTokens, 1);
    assert.equal(req.sampling.topK, 1);
  });

  test('model info, server info, load, weight version', async () => {
    assert.deepEqual(await (await fetch(`${h.url}/get_model_info`)).json(), {
      model_path: '/models/fake',
      tokenizer_path: '/models/fake',
      is_generation: true,
      preferred_sampling_params: null,
      weight_version: 'default',
    });
    const si = (await (await fetch(`${h.url}/get_server_info`)).json()) as any;
    assert.equal(si.port, 30000);
    assert.equal(si.max_total_num_tokens, 4096);
    assert.equal(si.version, '0.1.0');
    assert.equal(si.internal_states[0].load, 7);
    assert.deepEqual(await (await fetch(`${h.url}/get_load`)).json(), { load: 7 });
    assert.deepEqual(await (await fetch(`${h.url}/get_weight_version`)).json(), { weight_version: 'default' });
  });

  test('flush_cache 200 / 400', async () => {
    const ok = await fetch(`${h.url}/flush_cache`, { method: 'POST' });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^Cache flushed\./);
    h.engine.flushOk = false;
    assert.equal((await fetch(`${h.url}/flush_cache`)).status, 400);
    h.engine.flushOk = true;
  });

  test('404 and 405', async () => {
    const r = await fetch(`${h.url}/nope`);
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { detail: 'Not Found' });
    assert.equal((await fetch(`${h.url}/generate`)).status, 405);
    assert.equal((await fetch(`${h.url}/v1/chat/completions`)).status, 405);
  });

  test('abort by rid prefix: both batch items finish with abort and HTTP 200', async () => {
    const pending = postJson(`${h.url}/generate`, {
      text: ['a', 'b'],
      rid: 'job',
      sampling_params: { max_new_tokens: 200, ignore_eos: true },
    });
    await waitFor(() => h.engine.active.has('job_0') && h.engine.active.has('job_1'));
    const a = await postJson(`${h.url}/abort_request`, { rid: 'job' });
    assert.equal(a.status, 200);
    const r = await pending;
    assert.equal(r.status, 200);
    const j = (await r.json()) as any[];
    assert.deepEqual(
      j.map((o) => o.meta_info.finish_reason.type),
      ['abort', 'abort'],
    );
    assert.equal(j[0].meta_info.finish_reason.message, 'Aborted');
  });

  test('abort_all aborts everything; empty rid alone is a no-op', async () => {
    const pending = postJson(`${h.url}/generate`, { text: 'x', rid: 'solo', sampling_params: { max_new_tokens: 200 } });
    await waitFor(() => h.engine.active.has('solo'));
    assert.equal((await postJson(`${h.url}/abort_request`, { rid: '' })).status, 200);
    await sleep(20);
    assert.ok(h.engine.active.has('solo'));
    assert.equal((await postJson(`${h.url}/abort_request`, { abort_all: true })).status, 200);
    const j = (await (await pending).json()) as any;
    assert.equal(j.meta_info.finish_reason.type, 'abort');
  });

  test('client disconnect mid-stream stops the engine request', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${h.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end(JSON.stringify({ text: 'gone', rid: 'disc', stream: true, sampling_params: { max_new_tokens: 200 } }));
      setTimeout(() => reject(new Error('no data')), 3000);
    });
    await waitFor(() => !h.engine.active.has('disc'), 500);
    assert.ok(h.engine.abortedRids.has('disc') || h.engine.cancelled.has('disc'));
    const served = h.engine.requests.find((q) => q.rid === 'disc')!;
    assert.equal(served.sampling.maxNewTokens, 200);
  });

  test('client disconnect of a non-stream request stops the engine request', async () => {
    const req = http.request(`${h.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ text: 'gone', rid: 'disc2', sampling_params: { max_new_tokens: 200 } }));
    await waitFor(() => h.engine.active.has('disc2'));
    req.destroy();
    await waitFor(() => !h.engine.active.has('disc2'), 500);
    assert.ok(h.engine.abortedRids.has('disc2') || h.engine.cancelled.has('disc2'));
  });

  test('pause aborts running requests and holds new ones until continue', async () => {
    const running = postJson(`${h.url}/generate`, { text: 'x', sampling_params: { max_new_tokens: 200 } });
    await waitFor(() => h.engine.active.size > 0);
    const p = await postJson(`${h.url}/pause_generation`, {});
    assert.deepEqual(await p.json(), { message: 'Generation paused successfully.', status: 'ok' });
    assert.equal(((await (await running).json()) as any).meta_info.finish_reason.type, 'abort');
    let done = false;
    const held = postJson(`${h.url}/generate`, { text: 'y', sampling_params: { max_new_tokens: 1 } }).then((r) => {
      done = true;
      return r;
    });
    await sleep(50);
    assert.equal(done, false);
    const c = await postJson(`${h.url}/continue_generation`, {});
    assert.deepEqual(await c.json(), { message: 'Generation continued successfully.', status: 'ok' });
    assert.equal((await held).status, 200);
  });

  test('/metrics exposes SGLang metric names with model_name', async () => {
    await postJson(`${h.url}/generate`, { text: 'metrics', stream: true, sampling_params: { max_new_tokens: 3 } }).then((r) => r.text());
    const text = await (await fetch(`${h.url}/metrics`)).text();
    for (const name of [
      'sglang:num_running_reqs', 'sglang:num_used_tokens', 'sglang:token_usage', 'sglang:gen_throughput',
      'sglang:num_queue_reqs', 'sglang:num_grammar_queue_reqs', 'sglang:cache_hit_rate', 'sglang:spec_accept_length',
      'sglang:prompt_tokens_total', 'sglang:generation_tokens_total', 'sglang:cached_tokens_total',
      'sglang:num_requests_total', 'sglang:time_to_first_token_seconds', 'sglang:inter_token_latency_seconds',
      'sglang:e2e_request_latency_seconds',
    ]) {
      assert.ok(text.includes(name), name);
    }
    assert.match(text, /model_name="fake-model"/);
    assert.match(text, /_sum\{/);
    assert.match(text, /_count\{/);
    assert.match(text, /_bucket\{/);
    assert.match(text, /sglang:token_usage\{model_name="fake-model",engine_type="unified",tp_rank="0",pp_rank="0"\} 0.25/);
    const gen = /sglang:generation_tokens_total\{model_name="fake-model"\} (\d+)/.exec(text);
    assert.ok(gen && Number(gen[1]) >= 3);
  });
});

describe('metrics off, startup and shutdown', () => {
  test('/metrics is 404 without --enable-metrics; /health is 503 while starting', async () => {
    const h = await start({ startReady: false });
    try {
      assert.equal((await fetch(`${h.url}/metrics`)).status, 404);
      assert.equal((await fetch(`${h.url}/health`)).status, 503);
      h.server.markReady();
      assert.equal((await fetch(`${h.url}/health`)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('graceful shutdown lets an in-flight request finish', async () => {
    const h = await start({}, { stepMs: 5 });
    const pending = postJson(`${h.url}/generate`, { text: 'z', sampling_params: { max_new_tokens: 10 } });
    await waitFor(() => h.engine.active.size > 0);
    const closing = h.server.shutdown(5000);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).meta_info.completion_tokens, 10);
    await closing;
    assert.equal(h.server.listening, false);
  });
});

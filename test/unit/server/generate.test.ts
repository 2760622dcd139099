/** Native /generate through the real HTTP server with a fake engine. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeEngine } from './fake-engine.js';
import { type Harness, parseSse, postJson, start } from './helpers.js';

type Out = { text: string; output_ids: number[]; index?: number; meta_info: Record<string, any> };

describe('/generate', () => {
  let h: Harness;
  before(async () => {
    h = await start({}, { stepMs: 1 });
  });
  after(() => h.close());

  test('single text request: shape, default meta_info and deterministic tokens', async () => {
    const r = await postJson(`${h.url}/generate`, { text: 'hi', sampling_params: { max_new_tokens: 5, temperature: 0 } });
    assert.equal(r.status, 200);
    const j = (await r.json()) as Out;
    const ids = [1, 104, 105];
    const expected = [0, 1, 2, 3, 4].map((i) => FakeEngine.tokenAt(ids, i));
    assert.deepEqual(j.output_ids, expected);
    assert.equal(j.text, String.fromCharCode(...expected));
    assert.deepEqual(Object.keys(j.meta_info), [
      'id', 'finish_reason', 'prompt_tokens', 'weight_version', 'completion_tokens', 'cached_tokens', 'e2e_latency',
    ]);
    assert.match(j.meta_info.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(j.meta_info.finish_reason, { type: 'length', length: 5 });
    assert.equal(j.meta_info.prompt_tokens, 3);
    assert.equal(j.meta_info.completion_tokens, 5);
    assert.equal(j.meta_info.weight_version, 'default');
    assert.equal(typeof j.meta_info.e2e_latency, 'number');
    const req = h.engine.requests.at(-1)!;
    assert.deepEqual(req.inputIds, ids);
    assert.equal(req.sampling.topK, 1);
  });

  test('default max_new_tokens is 128; user rid is kept for a single request', async () => {
    const r = await postJson(`${h.url}/generate`, { input_ids: [5, 6, 7], rid: 'my-rid', sampling_params: { max_new_tokens: 2 } });
    const j = (await r.json()) as Out;
    assert.equal(j.meta_info.id, 'my-rid');
    await postJson(`${h.url}/generate`, { input_ids: [5, 6, 7], sampling_params: { max_new_tokens: 0 } });
    assert.equal(h.engine.requests.at(-1)!.sampling.maxNewTokens, 0);
    const r2 = await postJson(`${h.url}/generate`, { input_ids: [5], rid: 'dflt', stream: true });
    await r2.text();
    assert.equal(h.engine.requests.find((q) => q.rid === 'dflt')!.sampling.maxNewTokens, 128);
  });

  test('batch text returns a list in order with "{rid}_{i}" ids', async () => {
    const r = await postJson(`${h.url}/generate`, { text: ['a', 'bb', 'ccc'], rid: 'b', sampling_params: { max_new_tokens: 3 } });
    assert.equal(r.status, 200);
    const j = (await r.json()) as Out[];
    assert.equal(j.length, 3);
    assert.deepEqual(j.map((o) => o.meta_info.id), ['b_0', 'b_1', 'b_2']);
    assert.deepEqual(j.map((o) => o.meta_info.prompt_tokens), [2, 3, 4]);
  });

  test('per-item sampling_params list', async () => {
    const r = await postJson(`${h.url}/generate`, {
      input_ids: [[10, 11], [12]],
      sampling_params: [{ max_new_tokens: 1 }, { max_new_tokens: 4 }],
    });
    const j = (await r.json()) as Out[];
    assert.deepEqual(j.map((o) => o.meta_info.completion_tokens), [1, 4]);
  });

  test('n>1: a list of n with fresh rids, after a max_new_tokens=0 warm-up', async () => {
    const before = h.engine.requests.length;
    const r = await postJson(`${h.url}/generate`, { text: 'xy', rid: 'user', sampling_params: { n: 3, max_new_tokens: 2 } });
    const j = (await r.json()) as Out[];
    assert.equal(j.length, 3);
    const ids = new Set(j.map((o) => o.meta_info.id));
    assert.equal(ids.size, 3);
    assert.ok(!ids.has('user'));
    const sent = h.engine.requests.slice(before);
    assert.equal(sent.length, 4);
    assert.equal(sent[0]!.sampling.maxNewTokens, 0);
  });

  test('stream: cumulative text, incremental output_ids, [DONE]; equals non-stream', async () => {
    const body = { text: 'hello', sampling_params: { max_new_tokens: 6 } };
    const plain = (await (await postJson(`${h.url}/generate`, body)).json()) as Out;
    const r = await postJson(`${h.url}/generate`, { ...body, stream: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /text\/event-stream/);
    const frames = parseSse(await r.text());
    assert.equal(frames.at(-1), '[DONE]');
    const chunks = frames.slice(0, -1) as Out[];
    assert.ok(chunks.length >= 6);
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i]!.text.startsWith(chunks[i - 1]!.text));
    assert.equal(chunks.at(-1)!.text, plain.text);
    assert.deepEqual(chunks.flatMap((c) => c.output_ids), plain.output_ids);
    assert.equal(chunks.at(-1)!.meta_info.finish_reason.type, 'length');
    assert.equal(chunks[0]!.index, undefined);
  });

  test('batch stream chunks carry index', async () => {
    const r = await postJson(`${h.url}/generate`, { text: ['a', 'b'], stream: true, sampling_params: { max_new_tokens: 2, n: 2 } });
    const chunks = parseSse(await r.text()).slice(0, -1) as Out[];
    assert.deepEqual([...new Set(chunks.map((c) => c.index))].sort(), [0, 1, 2, 3]);
  });

  test('logprobs with text, top logprobs and logprob_start_len', async () => {
    const r = await postJson(`${h.url}/generate`, {
      input_ids: [70, 71, 72, 73, 74, 75],
      return_logprob: true,
      logprob_start_len: 2,
      top_logprobs_num: 2,
      return_text_in_logprobs: true,
      sampling_params: { max_new_tokens: 3 },
    });
    const j = (await r.json()) as Out;
    const m = j.meta_info;
    assert.equal(m.input_token_logprobs.length + 2, m.prompt_tokens);
    assert.equal(m.input_token_logprobs[0][0], null);
    assert.equal(m.input_token_logprobs[0][2], 'H');
    assert.equal(m.output_token_logprobs.length, 3);
    assert.equal(m.output_token_logprobs.map((e: any[]) => e[2]).join(''), j.text);
    assert.equal(m.output_top_logprobs[0].length, 2);
    assert.equal(m.input_top_logprobs[0], null);
    assert.ok(!('input_token_ids_logprobs' in m));
  });

  test('stop string: finish_reason stop with matched string', async () => {
    const first = String.fromCharCode(FakeEngine.tokenAt([1, 113], 0));
    const j = (await (await postJson(`${h.url}/generate`, { text: 'q', sampling_params: { stop: first } })).json()) as Out;
    assert.deepEqual(j.meta_info.finish_reason, { type: 'stop', matched: first });
  });
});

describe('/generate errors', () => {
  let h: Harness;
  before(async () => {
    h = await start({}, { contextLength: 32, rejectPrefix: 'reject' });
  });
  after(() => h.close());

  const err = async (body: unknown) => {
    const r = await postJson(`${h.url}/generate`, body);
    return { status: r.status, body: (await r.json()) as any };
  };

  test('empty input_ids and missing input', async () => {
    assert.deepEqual(await err({ input_ids: [] }), { status: 400, body: { error: { message: 'input_ids cannot be empty.' } } });
    const e = await err({ sampling_params: {} });
    assert.equal(e.status, 400);
    assert.equal(e.body.error.message, 'Either text, input_ids or input_embeds should be provided.');
  });

  test('too-long prompt and too many requested tokens', async () => {
    const e = await err({ input_ids: Array(40).fill(5) });
    assert.equal(e.status, 400);
    assert.equal(e.body.error.message, "The input (40 tokens) is longer than the model's context length (32 tokens).");
    const e2 = await err({ input_ids: [5, 5], sampling_params: { max_new_tokens: 30 } });
    assert.equal(e2.status, 400);
    assert.match(e2.body.error.message, /^Requested token count exceeds the model's maximum context length of 32 tokens/);
  });

  test('out-of-range sampling values give 400 {"error":{"message"}}', async () => {
    for (const sp of [{ temperature: -1 }, { top_p: 0 }, { top_k: 0 }, { max_new_tokens: -1 }, { frequency_penalty: 3 }]) {
      const e = await err({ input_ids: [5], sampling_params: sp });
      assert.equal(e.status, 400, JSON.stringify(sp));
      assert.equal(typeof e.body.error.message, 'string');
      assert.ok(e.body.error.message.length > 0);
    }
  });

  test('malformed JSON and wrong types give the validation envelope', async () => {
    const r = await fetch(`${h.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": ' });
    assert.equal(r.status, 400);
    const b = (await r.json()) as any;
    assert.equal(b.object, 'error');
    assert.equal(b.type, 'Bad Request');
    assert.equal(b.code, 400);
    assert.equal(b.param, null);
    assert.match(b.message, /JSON decode error/);
    const e = await err({ text: 12 });
    assert.equal(e.status, 400);
    assert.equal(e.body.type, 'Bad Request');
    assert.match(e.body.message, /'text'/);
  });

  test('queue full from the engine gives 503', async () => {
    const e = await err({ input_ids: [5], rid: 'reject-1' });
    assert.equal(e.status, 503);
    assert.deepEqual(e.body, { object: 'error', message: 'The request queue is full.', type: '503', param: null, code: 503 });
  });

  test('errors inside a stream arrive as data: {"error"} then [DONE]', async () => {
    const r = await postJson(`${h.url}/generate`, { input_ids: Array(40).fill(5), stream: true });
    assert.equal(r.status, 200);
    const frames = parseSse(await r.text()) as any[];
    assert.equal(frames.length, 2);
    assert.match(frames[0].error.message, /is longer than the model's context length/);
    assert.equal(frames[1], '[DONE]');
  });
});

describe('/generate with --allow-auto-truncate', () => {
  let h: Harness;
  before(async () => {
    h = await start({ allowAutoTruncate: true }, { contextLength: 32 });
  });
  after(() => h.close());

  test('long input is truncated and max_new_tokens clamped', async () => {
    const r = await postJson(`${h.url}/generate`, { input_ids: Array(40).fill(5), sampling_params: { max_new_tokens: 3 } });
    assert.equal(r.status, 200);
    const req = h.engine.requests.at(-1)!;
    assert.equal(req.inputIds.length, 32);
    assert.equal(req.sampling.maxNewTokens, 0);
    const r2 = await postJson(`${h.url}/generate`, { input_ids: [5, 5], sampling_params: { max_new_tokens: 100 } });
    assert.equal(r2.status, 200);
    assert.equal(h.engine.requests.at(-1)!.sampling.maxNewTokens, 30);
  });
});

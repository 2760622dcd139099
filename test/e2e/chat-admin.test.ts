/**
 * End to end on tiny-random-qwen3: chat through the openai client renders the chat template
 * (golden prompt ids and output), one finish chunk per choice in streams; aborts by rid prefix
 * and abort_all give 200 with an abort finish reason; bad inputs get 4xx and the server goes on
 * answering; API keys; a full queue gives 503; SIGTERM exits cleanly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { assertNoLeak, launchServer, MODELS, post, waitIdle, type Server } from './server.js';

interface ChatCase { messages?: { role: string; content: string }[]; prompt_ids: number[]; greedy_output_ids: number[]; chat_template_kwargs?: Record<string, unknown> }
const chatCase = (JSON.parse(readFileSync(`${MODELS}golden/tiny-random-qwen3.greedy.json`, 'utf8')) as { cases: ChatCase[] }).cases.find((c) => c.messages)!;

describe('e2e: chat and admin on tiny-random-qwen3', () => {
  let server: Server;
  before(async () => {
    server = await launchServer(['--model-path', `${MODELS}tiny-random-qwen3`, '--max-total-tokens', '8192', '--api-key', 'sk-test', '--enable-metrics', '--enable-cache-report']);
  });
  after(async () => {
    const code = await server.stop('SIGTERM');
    assert.equal(code, 0, `server exit code after SIGTERM: ${code}\n${server.log()}`);
  });
  const auth = { Authorization: 'Bearer sk-test' };

  it('chat completion renders the template and reproduces the golden output', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test' });
    const r = await client.chat.completions.create({
      model: 'default', messages: chatCase.messages as never, max_tokens: 32, temperature: 0,
      // SGLang extra fields: ignore_eos and chat_template_kwargs
      ...({ ignore_eos: true, chat_template_kwargs: chatCase.chat_template_kwargs ?? {} } as object),
    });
    assert.equal(r.usage!.prompt_tokens, chatCase.prompt_ids.length);
    const gen = await post(`${server.url}/generate`, { input_ids: chatCase.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 32, ignore_eos: true, skip_special_tokens: true } }, auth);
    assert.deepEqual(gen.json.output_ids, chatCase.greedy_output_ids);
    assert.equal(r.choices[0]!.message.content, gen.json.text);
  });

  it('streamed chat with n=2 sends a role chunk first and one finish_reason per choice', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test' });
    const stream = await client.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, n: 2, stream: true, temperature: 0.8 });
    const finishes = new Map<number, number>();
    let first = true;
    for await (const chunk of stream) {
      for (const ch of chunk.choices) {
        if (first) { assert.equal(ch.delta.role, 'assistant'); first = false; }
        if (ch.finish_reason) finishes.set(ch.index, (finishes.get(ch.index) ?? 0) + 1);
      }
    }
    assert.deepEqual([...finishes.entries()].sort(), [[0, 1], [1, 1]]);
  });

  it('abort by rid prefix and abort_all return HTTP 200 with an abort finish reason', async () => {
    const sp = { max_new_tokens: 2000, ignore_eos: true, temperature: 0 };
    const long = (rid: string): Promise<{ status: number; json: any }> => post(`${server.url}/generate`, { input_ids: [1, 2, 3], rid, sampling_params: sp }, auth);
    const a = long('job-a-1');
    const b = long('job-b-1');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await post(`${server.url}/abort_request`, { rid: 'job-a' }, auth)).status, 200);
    const ra = await a;
    assert.equal(ra.status, 200);
    assert.equal(ra.json.meta_info.finish_reason.type, 'abort');
    assert.equal((await post(`${server.url}/abort_request`, { abort_all: true }, auth)).status, 200);
    const rb = await b;
    assert.equal(rb.status, 200);
    assert.equal(rb.json.meta_info.finish_reason.type, 'abort');
    await waitIdle(server.url, auth);
    assertNoLeak(server);
  });

  it('a client that disconnects mid-stream aborts its request and frees its memory', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/generate`, {
      method: 'POST', signal: ac.signal, headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ input_ids: [1, 2, 3, 4], stream: true, sampling_params: { max_new_tokens: 5000, ignore_eos: true } }),
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first chunk: the request is running
    ac.abort();
    await waitIdle(server.url, auth); // would time out if the request kept running
    assertNoLeak(server);
  });

  it('n>1 on /generate returns n outputs; cached tokens are reported in usage with --enable-cache-report', async () => {
    const r = await post(`${server.url}/generate`, { input_ids: chatCase.prompt_ids, sampling_params: { n: 3, max_new_tokens: 4, temperature: 1 } }, auth);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 3);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test' });
    const msgs = [{ role: 'user' as const, content: 'Tell me a story about a cat who lives in a lighthouse.' }];
    await client.chat.completions.create({ model: 'default', messages: msgs, max_tokens: 2 });
    const again = await client.chat.completions.create({ model: 'default', messages: msgs, max_tokens: 2 });
    const details = (again.usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details;
    assert.equal(details?.cached_tokens, again.usage!.prompt_tokens - 1);
  });

  it('a wrong or missing API key gives 401 while /health stays open', async () => {
    assert.equal((await post(`${server.url}/generate`, { text: 'hi' })).status, 401);
    assert.equal((await post(`${server.url}/generate`, { text: 'hi' }, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
  });

  it('bad inputs get 4xx and the server keeps answering correctly', async () => {
    const u = `${server.url}/generate`;
    const bad: [unknown, number][] = [
      ['{not json', 400],
      [{ text: 'hi', sampling_params: { temperature: -1 } }, 400],
      [{ text: 'hi', sampling_params: { top_p: 0 } }, 400],
      [{ text: 'hi', sampling_params: { top_k: 0 } }, 400],
      [{ text: 'hi', sampling_params: { max_new_tokens: 'many' } }, 400],
      [{ input_ids: [] }, 400],
      [{}, 400],
      [{ input_ids: Array.from({ length: 50000 }, () => 5) }, 400],
    ];
    for (const [body, status] of bad) {
      const r = await post(u, body as object, auth);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} → ${r.status} ${r.text.slice(0, 200)}`);
    }
    const wrongType = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '{}' });
    assert.equal(wrongType.status, 400);
    const ok = await post(u, { input_ids: chatCase.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 32, ignore_eos: true } }, auth);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json.output_ids, chatCase.greedy_output_ids);
    await waitIdle(server.url, auth);
    assertNoLeak(server);
  });
});

describe('e2e: a full queue answers 503', () => {
  it('rejects requests beyond --max-queued-requests', async () => {
    const server = await launchServer(['--model-path', `${MODELS}tinystories-656k`, '--max-total-tokens', '4096', '--max-running-requests', '1', '--max-queued-requests', '1']);
    try {
      const sp = { max_new_tokens: 400, ignore_eos: true };
      const reqs = Array.from({ length: 4 }, (_, i) => post(`${server.url}/generate`, { input_ids: [1, 80 + i], sampling_params: sp }));
      const statuses = (await Promise.all(reqs)).map((r) => r.status).sort();
      assert.ok(statuses.includes(503), `statuses ${statuses}`);
      assert.ok(statuses.includes(200), `statuses ${statuses}`);
      await waitIdle(server.url);
      assertNoLeak(server);
    } finally {
      await server.stop();
    }
  });
});

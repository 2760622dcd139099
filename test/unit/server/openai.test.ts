/** OpenAI-compatible routes driven by the official `openai` client and raw fetch. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type Harness, parseSse, postJson, start } from './helpers.js';

const KEY = 'sk-123456';

describe('OpenAI routes', () => {
  let h: Harness;
  let client: OpenAI;
  before(async () => {
    h = await start({ apiKey: KEY, enableCacheReport: true, contextLength: 200 }, { stepMs: 1 });
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(() => h.close());

  test('completions non-stream: shape, defaults, usage with cached tokens', async () => {
    const r = await client.completions.create({ model: 'whatever', prompt: 'abc' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, 'whatever');
    assert.equal(r.choices.length, 1);
    const c = r.choices[0]! as any;
    assert.equal(c.finish_reason, 'length');
    assert.equal(c.matched_stop, null);
    assert.equal(c.text.length, 16); // max_tokens default 16
    assert.equal(r.usage!.prompt_tokens, 4);
    assert.equal(r.usage!.completion_tokens, 16);
    assert.equal(r.usage!.total_tokens, 20);
    assert.deepEqual((r.usage as any).prompt_tokens_details, { cached_tokens: 3 });
    assert.deepEqual((r as any).metadata, { weight_version: 'default' });
    const req = h.engine.requests.at(-1)!;
    assert.equal(req.sampling.temperature, 1);
    assert.equal(req.sampling.maxNewTokens, 16);
  });

  test('completions: list prompt x n=2, echo, logprobs', async () => {
    const r = await client.completions.create({
      model: 'm',
      prompt: ['ab', 'cde'],
      n: 2,
      max_tokens: 3,
      echo: true,
      logprobs: 2,
    });
    assert.equal(r.choices.length, 4);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
    assert.ok(r.choices[0]!.text.startsWith('ab'));
    assert.ok(r.choices[2]!.text.startsWith('cde'));
    assert.equal(r.usage!.prompt_tokens, 3 + 4);
    assert.equal(r.usage!.completion_tokens, 12);
    const lp = r.choices[0]!.logprobs!;
    assert.equal(lp.token_logprobs![0], null); // echo: first prompt token
    assert.equal(lp.tokens!.length, 3 + 3);
    assert.equal(typeof lp.tokens![0], 'string');
    assert.ok(Object.keys(lp.top_logprobs![4]!).length > 0);
    assert.deepEqual(lp.text_offset!.slice(0, 2), [-1, -1]);
  });

  test('completions: token-id prompt is sent as input_ids', async () => {
    const r = await client.completions.create({ model: 'm', prompt: [65, 66, 67], max_tokens: 2 });
    assert.equal(r.usage!.prompt_tokens, 3);
    assert.deepEqual(h.engine.requests.at(-1)!.inputIds, [65, 66, 67]);
  });

  test('completions stream: one finish_reason per choice, include_usage, [DONE]', async () => {
    const stream = await client.completions.create({
      model: 'm',
      prompt: 'hello',
      n: 2,
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    const text = new Map<number, string>();
    const finishes = new Map<number, number>();
    let usage: any = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text.set(c.index, (text.get(c.index) ?? '') + c.text);
        if (c.finish_reason) finishes.set(c.index, (finishes.get(c.index) ?? 0) + 1);
      }
    }
    assert.deepEqual([...finishes.entries()].sort(), [
      [0, 1],
      [1, 1],
    ]);
    assert.equal(text.get(0)!.length, 4);
    assert.equal(usage.prompt_tokens, 6);
    assert.equal(usage.completion_tokens, 8);
    // stream text equals non-stream text for the same prompt
    const plain = await client.completions.create({ model: 'm', prompt: 'hello', max_tokens: 4 });
    assert.equal(text.get(0), plain.choices[0]!.text);
  });

  test('completions stream usage chunk drops null fields', async () => {
    const r = await postJson(
      `${h.url}/v1/completions`,
      { prompt: 'x', max_tokens: 1, stream: true, stream_options: { include_usage: true } },
      { authorization: `Bearer ${KEY}` },
    );
    const frames = parseSse(await r.text()) as any[];
    assert.equal(frames.at(-1), '[DONE]');
    const u = frames.at(-2);
    assert.deepEqual(u.choices, []);
    assert.ok(!('logprobs' in u));
    assert.equal(u.usage.prompt_tokens, 2);
  });

  test('chat non-stream: template call, tools as functions, defaults', async () => {
    const r = await client.chat.completions.create({
      model: 'chat-m',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      tools: [{ type: 'function', function: { name: 'add', description: 'adds', parameters: { type: 'object' } } }],
      max_tokens: 5,
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'chat-m');
    assert.equal(r.choices[0]!.message.role, 'assistant');
    assert.equal(typeof r.choices[0]!.message.content, 'string');
    assert.equal(r.choices[0]!.finish_reason, 'length');
    const call = h.engine.templateCalls.at(-1)!;
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ]);
    assert.deepEqual(call.options.tools, [{ description: 'adds', name: 'add', parameters: { type: 'object' }, strict: false }]);
    assert.equal(call.options.addGenerationPrompt, true);
    const req = h.engine.requests.at(-1)!;
    assert.equal(req.sampling.temperature, 0.7);
    assert.equal(req.sampling.skipSpecialTokens, false); // tools given, tool_choice auto
    assert.deepEqual(req.inputIds, h.engine.encode('<system>be brief<user>hi<assistant>', false));
    assert.equal(r.usage!.prompt_tokens, req.inputIds.length);
  });

  test('chat: max tokens unbounded by default; chat_template_kwargs and continue_final_message', async () => {
    await client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Sure:' },
      ],
      // @ts-expect-error SGLang extras
      continue_final_message: true,
      chat_template_kwargs: { enable_thinking: false },
    });
    const req = h.engine.requests.at(-1)!;
    assert.equal(req.sampling.maxNewTokens, null);
    const call = h.engine.templateCalls.at(-1)!;
    assert.equal(call.messages.length, 1);
    assert.equal(call.options.extra!['enable_thinking'], false);
    assert.deepEqual(req.inputIds, h.engine.encode('<user>hi<assistant>Sure:', false));
  });

  test('chat logprobs with top_logprobs', async () => {
    const r = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 3,
      logprobs: true,
      top_logprobs: 4,
    });
    const content = r.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 3);
    for (const t of content) assert.equal(t.top_logprobs.length, 4);
    assert.equal(content.map((t) => t.token).join(''), r.choices[0]!.message.content);
  });

  test('chat stream: role first, one finish chunk per index, usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'stream me' }],
      max_tokens: 4,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const first = new Map<number, any>();
    const finishes = new Map<number, number>();
    const content = new Map<number, string>();
    let usage: any = null;
    let ids = new Set<string>();
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (!first.has(c.index)) first.set(c.index, c.delta);
        if (c.delta.content) content.set(c.index, (content.get(c.index) ?? '') + c.delta.content);
        if (c.finish_reason) {
          finishes.set(c.index, (finishes.get(c.index) ?? 0) + 1);
          assert.equal(c.delta.content ?? null, null);
        }
      }
    }
    assert.equal(first.get(0).role, 'assistant');
    assert.equal(first.get(1).role, 'assistant');
    assert.equal(finishes.get(0), 1);
    assert.equal(finishes.get(1), 1);
    assert.equal(content.get(0)!.length, 4);
    assert.equal(usage.completion_tokens, 8);
    const plain = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'stream me' }], max_tokens: 4 });
    assert.equal(content.get(0), plain.choices[0]!.message.content);
  });

  test('models list and retrieve; unknown model is 404', async () => {
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0]!.id, 'fake-model');
    assert.equal((list.data[0] as any).max_model_len, 256);
    const m = await client.models.retrieve('fake-model');
    assert.equal((m as any).root, 'fake-model');
    await assert.rejects(client.models.retrieve('nope'), (e: any) => e instanceof OpenAI.NotFoundError);
    const r = await fetch(`${h.url}/v1/models/nope`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), {
      error: { message: "The model 'nope' does not exist", type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
    });
  });
});

describe('OpenAI errors', () => {
  let h: Harness;
  const auth = { authorization: `Bearer ${KEY}` };
  before(async () => {
    h = await start({ apiKey: KEY, contextLength: 100 }, { contextLength: 100 });
  });
  after(() => h.close());

  test('wrong content type', async () => {
    const r = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...auth },
      body: '{}',
    });
    assert.equal(r.status, 400);
    const b = (await r.json()) as any;
    assert.equal(b.type, 'Bad Request');
    assert.match(b.message, /Unsupported Media Type: Only 'application\/json' is allowed/);
    const ok = await fetch(`${h.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...auth },
      body: JSON.stringify({ prompt: 'a', max_tokens: 1 }),
    });
    assert.equal(ok.status, 200);
  });

  test('malformed JSON and wrong types: 400 validation envelope', async () => {
    const r = await fetch(`${h.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{' });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as any).type, 'Bad Request');
    const r2 = await postJson(`${h.url}/v1/completions`, { prompt: 'a', max_tokens: 'many' }, auth);
    assert.equal(r2.status, 400);
    const b2 = (await r2.json()) as any;
    assert.equal(b2.code, 400);
    assert.match(b2.message, /max_tokens/);
    const r3 = await postJson(`${h.url}/v1/completions`, { prompt: 'a', max_tokens: 0 }, auth);
    assert.match(((await r3.json()) as any).message, /max_tokens must be positive/);
    const r4 = await postJson(`${h.url}/v1/chat/completions`, { messages: [{ role: 'robot', content: 'x' }] }, auth);
    assert.equal(r4.status, 400);
    assert.match(((await r4.json()) as any).message, /'role' must be one of/);
  });

  test('semantic errors use BadRequestError', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/v1/completions', { prompt: '' }, /^Prompt cannot be empty$/],
      ['/v1/chat/completions', { messages: [] }, /^Messages cannot be empty\.$/],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], tool_choice: 'required' }, /Tools cannot be empty/],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 500 }, /max_completion_tokens is too large: 500\.This model supports at most 100 completion tokens\./],
      ['/v1/completions', { prompt: 'x', temperature: -2 }, /temperature/],
      ['/v1/completions', { prompt: 'x', top_p: 1.5 }, /top_p/],
      ['/v1/completions', { prompt: 'x'.repeat(150) }, /is longer than the model's context length \(100 tokens\)/],
      ['/v1/chat/completions', { messages: [{ role: 'system', content: 'FAIL' }] }, /template exploded/],
    ];
    for (const [path, body, re] of cases) {
      const r = await postJson(`${h.url}${path}`, body, auth);
      assert.equal(r.status, 400, JSON.stringify(body));
      const b = (await r.json()) as any;
      assert.equal(b.object, 'error');
      assert.equal(b.type, 'BadRequestError');
      assert.equal(b.code, 400);
      assert.match(b.message, re);
    }
  });

  test('openai client surfaces the 400 as BadRequestError', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    await assert.rejects(client.completions.create({ model: 'm', prompt: 'x', top_p: 5 }), (e: any) => e instanceof OpenAI.BadRequestError);
  });
});

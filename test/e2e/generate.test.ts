/**
 * End to end on the real server (tinystories-656k HF folder): golden greedy ids through
 * /generate and /v1/completions (official openai client), stream == non-stream, concurrency
 * independence, SGLang's cached_tokens semantics, and the leak self-check.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { Driver } from '../model/harness.js';
import { assertNoLeak, launchServer, MODELS, post, postStream, waitIdle, type Server } from './server.js';

interface GoldenCase { prompt: string; prompt_ids: number[]; greedy_output_ids: number[]; text: string }
const golden = (JSON.parse(readFileSync(`${MODELS}golden/tinystories-656k.greedy.json`, 'utf8')) as { cases: GoldenCase[] }).cases;

describe('e2e: generation on tinystories-656k', () => {
  let server: Server;
  before(async () => { server = await launchServer(['--model-path', `${MODELS}tinystories-656k`, '--max-total-tokens', '16384']); });
  after(async () => { await server.stop(); });

  it('/generate with input_ids reproduces the golden ids and text', async () => {
    for (const c of golden) {
      const r = await post(`${server.url}/generate`, { input_ids: c.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 100 } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.output_ids, c.greedy_output_ids);
      assert.equal(r.json.meta_info.prompt_tokens, c.prompt_ids.length);
      assert.equal(r.json.meta_info.completion_tokens, c.greedy_output_ids.length);
    }
    await waitIdle(server.url);
    assertNoLeak(server);
  });

  it('/v1/completions through the openai client reproduces the golden text; stream equals non-stream', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    for (const c of golden) {
      const r = await client.completions.create({ model: 'default', prompt: c.prompt, max_tokens: 100, temperature: 0 });
      const expected = c.text.replace(/<\|end_story\|>$/, '');
      assert.equal(r.choices[0]!.text, expected);
      assert.equal(r.usage!.prompt_tokens, c.prompt_ids.length);
      const stream = await client.completions.create({ model: 'default', prompt: c.prompt, max_tokens: 100, temperature: 0, stream: true });
      let text = '';
      let finishes = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        if (chunk.choices[0]?.finish_reason) finishes++;
      }
      assert.equal(text, r.choices[0]!.text);
      assert.equal(finishes, 1);
    }
  });

  it('/generate streaming: cumulative text and incremental ids equal the non-streamed result', async () => {
    const c = golden[1]!;
    const body = { input_ids: c.prompt_ids, sampling_params: { temperature: 0, max_new_tokens: 40 } };
    const whole = (await post(`${server.url}/generate`, body)).json;
    const chunks = await postStream(`${server.url}/generate`, { ...body, stream: true });
    assert.equal(chunks.at(-1).text, whole.text);
    assert.deepEqual(chunks.flatMap((ch) => ch.output_ids), whole.output_ids);
    assert.deepEqual(chunks.at(-1).meta_info.finish_reason, whole.meta_info.finish_reason);
  });

  it('16 concurrent requests give the same outputs as one at a time', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => golden[i % 2]!.prompt_ids.concat([100 + i, 200 + i]));
    const sp = { temperature: 0, max_new_tokens: 24, ignore_eos: true };
    const sequential: number[][] = [];
    for (const p of prompts) sequential.push((await post(`${server.url}/generate`, { input_ids: p, sampling_params: sp })).json.output_ids);
    const concurrent = await Promise.all(prompts.map((p) => post(`${server.url}/generate`, { input_ids: p, sampling_params: sp })));
    assert.deepEqual(concurrent.map((r) => r.json.output_ids), sequential);
    const batch = await post(`${server.url}/generate`, { input_ids: prompts, sampling_params: sp });
    assert.deepEqual(batch.json.map((r: { output_ids: number[] }) => r.output_ids), sequential);
    await waitIdle(server.url);
    assertNoLeak(server);
  });

  it('return_logprob: output and input logprobs equal log_softmax of the model logits', async () => {
    const c = golden[1]!;
    const r = await post(`${server.url}/generate`, {
      input_ids: c.prompt_ids, return_logprob: true, logprob_start_len: 2, top_logprobs_num: 3, token_ids_logprob: [5, 80],
      sampling_params: { temperature: 0, max_new_tokens: 8 },
    });
    assert.equal(r.status, 200, r.text);
    const m = r.json.meta_info;
    // Independent reference: the model run directly, log_softmax in float64.
    const model = loadModel({ modelPath: `${MODELS}tinystories-656k`, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false });
    const pool = ops.createKvPool(model.config.numLayers, 1 + 1024, model.config.numKvHeads, model.config.headDim, DType.F32);
    const driver = new Driver(new DecoderModelRunner(model.config, model.weights, pool, 512, 4), 1024);
    const logSoftmax = (row: Float32Array, id: number): number => {
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      return row[id]! - max - Math.log(sum);
    };
    const ids = [...c.prompt_ids, ...c.greedy_output_ids.slice(0, 8)];
    const expectAt = (pos: number): number => logSoftmax(driver.prefillLogits(ids.slice(0, pos), 1 << 30), ids[pos]!);
    assert.equal(m.output_token_logprobs.length, 8);
    m.output_token_logprobs.forEach(([lp, id]: [number, number], i: number) => {
      assert.equal(id, c.greedy_output_ids[i]);
      assert.ok(Math.abs(lp - expectAt(c.prompt_ids.length + i)) < 1e-3, `output ${i}: ${lp} vs ${expectAt(c.prompt_ids.length + i)}`);
    });
    assert.equal(m.input_token_logprobs.length, c.prompt_ids.length - 2);
    assert.equal(m.input_token_logprobs[0][0], null);
    for (let k = 1; k < m.input_token_logprobs.length; k++) {
      const [lp, id] = m.input_token_logprobs[k] as [number, number];
      assert.equal(id, c.prompt_ids[2 + k]);
      assert.ok(Math.abs(lp - expectAt(2 + k)) < 1e-3, `input ${k}: ${lp} vs ${expectAt(2 + k)}`);
    }
    assert.equal(m.output_top_logprobs[0][0][1], c.greedy_output_ids[0]);
    assert.equal(m.output_top_logprobs[0].length, 3);
    assert.deepEqual(m.output_token_ids_logprobs[0].map((x: [number, number]) => x[1]), [5, 80]);
  });

  it("cached_tokens follows SGLang's radix semantics (contract table scaled by 1/25)", async () => {
    assert.equal((await post(`${server.url}/flush_cache`, {})).status, 200);
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 3);
    const cached = async (n: number): Promise<number> =>
      (await post(`${server.url}/generate`, { input_ids: range(n), sampling_params: { max_new_tokens: 1, temperature: 0 } })).json.meta_info.cached_tokens;
    assert.equal(await cached(4), 0);
    assert.equal(await cached(400), 4);
    assert.equal(await cached(400), 399);
    assert.equal(await cached(40), 39);
    assert.equal(await cached(440), 400);
    await waitIdle(server.url);
    assertNoLeak(server);
  });
});

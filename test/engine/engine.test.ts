/**
 * The in-process Engine end to end (scheduler, radix cache, sampler, detokenizer, stop checks)
 * against the golden outputs: greedy text and ids, concurrency and scheduling knobs do not change
 * results, chat templates render and generate, and the leak check holds afterwards.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { MODELS } from '../model/harness.js';

interface GoldenCase { id?: string; prompt: string; prompt_ids: number[]; greedy_output_ids: number[]; text?: string; ignore_eos?: boolean; messages?: object[] }
const golden = (name: string): GoldenCase[] =>
  (JSON.parse(readFileSync(`${MODELS}golden/${name}.greedy.json`, 'utf8')) as { cases: GoldenCase[] }).cases;

describe('Engine on tinystories-656k', () => {
  let engine: Engine;
  before(async () => { engine = await Engine.create({ modelPath: `${MODELS}tinystories-656k`, maxTotalTokens: 4096 }); });
  after(() => engine.close());

  it('greedy text and ids equal the golden, from text and from ids', async () => {
    for (const c of golden('tinystories-656k')) {
      const fromText = await engine.run({ text: c.prompt, samplingParams: { temperature: 0, max_new_tokens: 100 } });
      assert.deepEqual(fromText.outputIds, c.greedy_output_ids);
      assert.equal(fromText.text, c.text!.replace(/<\|end_story\|>$/, ''));
      const fromIds = await engine.run({ inputIds: c.prompt_ids, samplingParams: { temperature: 0, max_new_tokens: 100 } });
      assert.deepEqual(fromIds.outputIds, c.greedy_output_ids);
      assert.equal(fromIds.finishReason?.type, c.greedy_output_ids.at(-1) === 2 ? 'stop' : 'length');
    }
    assert.equal(await engine.checkLeaks(), null);
  });

  it('16 concurrent requests give the same results as one at a time, and cache hits are reported', async () => {
    const prompts = golden('tinystories-656k').flatMap((c) => Array.from({ length: 8 }, (_, i) => c.prompt_ids.concat([80 + i])));
    const sp = { temperature: 0, max_new_tokens: 24, ignore_eos: true };
    const sequential = [];
    for (const p of prompts) sequential.push((await engine.run({ inputIds: p, samplingParams: sp })).outputIds);
    const concurrent = await engine.run(prompts.map((p) => ({ inputIds: p, samplingParams: sp })));
    assert.deepEqual(concurrent.map((r) => r.outputIds), sequential);
    const again = await engine.run({ inputIds: prompts[0]!, samplingParams: sp });
    assert.equal(again.cachedTokens, prompts[0]!.length - 1);
    assert.equal(await engine.checkLeaks(), null);
  });

  it('a seeded sampled request is reproducible and stop strings trim the text', async () => {
    const sp = { temperature: 1, top_p: 0.9, sampling_seed: 42, max_new_tokens: 30 };
    const a = await engine.run({ text: 'Once upon a time', samplingParams: sp });
    const b = await engine.run({ text: 'Once upon a time', samplingParams: sp });
    assert.deepEqual(a.outputIds, b.outputIds);
    const word = a.text.trim().split(/\s+/)[2]!;
    const stopped = await engine.run({ text: 'Once upon a time', samplingParams: { ...sp, stop: [word] } });
    assert.deepEqual(stopped.finishReason, { type: 'stop', matched: word });
    assert.ok(a.text.startsWith(stopped.text) && !stopped.text.includes(word), `${JSON.stringify(stopped.text)} vs ${JSON.stringify(a.text)}`);
  });
});

describe('Engine scheduling knobs do not change greedy results', () => {
  const cases = golden('tiny-random-llama3');
  for (const knobs of [
    { chunkedPrefillSize: 16 }, { pageSize: 16 }, { schedulePolicy: 'lpm' as const }, { maxRunningRequests: 1 },
    { disableRadixCache: true }, { enableMixedChunk: true, chunkedPrefillSize: 32 },
  ]) {
    it(JSON.stringify(knobs), async () => {
      const engine = await Engine.create({ modelPath: `${MODELS}tiny-random-llama3`, maxTotalTokens: 2048, ...knobs });
      try {
        const results = await engine.run(cases.map((c) => ({ inputIds: c.prompt_ids, samplingParams: { temperature: 0, max_new_tokens: 32, ignore_eos: true } })));
        assert.deepEqual(results.map((r) => r.outputIds), cases.map((c) => c.greedy_output_ids));
        assert.equal(await engine.checkLeaks(), null);
      } finally {
        await engine.close();
      }
    });
  }
});

describe('chat templates', () => {
  for (const name of ['tiny-random-qwen3', 'tiny-random-llama3']) {
    it(`${name}: the rendered chat prompt tokenizes to the golden ids and generates the golden output`, async () => {
      const engine = await Engine.create({ modelPath: MODELS + name, maxTotalTokens: 2048 });
      try {
        for (const c of golden(name).filter((x) => x.messages)) {
          const g = c as GoldenCase & { chat_template_kwargs?: Record<string, unknown>; template_tools?: unknown[] };
          const extra = { ...(g.chat_template_kwargs ?? {}), ...(name.includes('llama3') ? { date_string: '26 Jul 2024' } : {}) };
          const prompt = engine.applyChatTemplate(c.messages as never, { addGenerationPrompt: true, tools: g.template_tools ?? null, extra });
          assert.equal(prompt, c.prompt);
          const ids = engine.encode(prompt, false);
          assert.deepEqual(ids, c.prompt_ids);
          const r = await engine.run({ inputIds: ids, samplingParams: { temperature: 0, max_new_tokens: 32, ignore_eos: true } });
          assert.deepEqual(r.outputIds, c.greedy_output_ids);
        }
      } finally {
        await engine.close();
      }
    });
  }
});

describe('a failing step never takes the engine down', () => {
  it('the requests of a failed step end with a 500, memory is freed, later requests are served', async () => {
    const engine = await Engine.create({ modelPath: `${MODELS}tinystories-656k`, maxTotalTokens: 4096 });
    try {
      const runner = engine.built.core.runner;
      const forward = runner.forward.bind(runner);
      runner.forward = (b) => {
        if (b.inputIds.subarray(0, b.numTokens).includes(1999)) throw new Error('injected kernel failure');
        return forward(b);
      };
      await assert.rejects(engine.run({ inputIds: [1, 80, 1999], samplingParams: { max_new_tokens: 4 } }), /Internal server error: injected kernel failure/);
      const c = golden('tinystories-656k')[0]!;
      const ok = await engine.run({ inputIds: c.prompt_ids, samplingParams: { temperature: 0, max_new_tokens: 100 } });
      assert.deepEqual(ok.outputIds, c.greedy_output_ids);
      assert.equal(await engine.checkLeaks(), null);
    } finally {
      await engine.close();
    }
  });
});

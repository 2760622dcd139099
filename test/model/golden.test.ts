/**
 * Golden greedy ids (float64 reference, cross-checked with llama.cpp) for every tiny model in
 * ../shared/models, in every format, through the model runner alone; plus batch == singles and
 * chunked prefill == one prefill.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { Driver, MODELS } from './harness.js';

interface GoldenCase { prompt: string; prompt_ids: number[]; greedy_output_ids: number[]; ignore_eos?: boolean; max_new_tokens: number }

function golden(name: string): GoldenCase[] {
  return (JSON.parse(readFileSync(`${MODELS}golden/${name}.greedy.json`, 'utf8')) as { cases: GoldenCase[] }).cases;
}

const SLOTS = 1024;

function driverFor(path: string, dtype = 'auto', quantization: string | null = null, numReqs = 2): Driver {
  const m = loadModel({ modelPath: path, loadFormat: 'auto', dtype, quantization, progress: false });
  const c = m.config;
  const pool = ops.createKvPool(c.numLayers, 1 + numReqs * SLOTS, c.numKvHeads, c.headDim, DType.F32);
  return new Driver(new DecoderModelRunner(c, m.weights, pool, 2048, 16), SLOTS);
}

const CASES: [string, string, string][] = [
  ['tinystories-656k', 'HF folder', 'tinystories-656k'],
  ['tinystories-656k', 'F32 GGUF', 'tinystories-656k-gguf/tinystories-656k-f32.gguf'],
  ['stories260k', 'GGUF', 'stories260k-gguf/stories260k.gguf'],
  ['stories260k', 'llama2.c .bin', 'stories260k'],
  ['tiny-random-qwen3', 'HF folder (bf16)', 'tiny-random-qwen3'],
  ['tiny-random-qwen3', 'BF16 GGUF', 'tiny-random-qwen3-gguf/tiny-random-qwen3-bf16.gguf'],
  ['tiny-random-llama3', 'sharded HF folder (llama3 rope)', 'tiny-random-llama3'],
  ['tiny-random-qwen2', 'HF folder (qkv bias)', 'tiny-random-qwen2'],
];

describe('golden greedy outputs', () => {
  for (const [name, format, path] of CASES) {
    it(`${name} from ${format}`, () => {
      const driver = driverFor(MODELS + path);
      for (const c of golden(name)) {
        const eos = c.ignore_eos ? null : 2;
        const [out] = driver.greedy([c.prompt_ids], c.greedy_output_ids.length, eos);
        assert.deepEqual(out, c.greedy_output_ids, `${name} "${c.prompt.slice(0, 40)}"`);
      }
    });
  }
});

describe('batching and chunking invariants', () => {
  it('N prompts in one batch give the same greedy tokens as N single runs', () => {
    const cases = golden('tiny-random-llama3').concat(golden('tiny-random-llama3'));
    const prompts = cases.map((c, i) => c.prompt_ids.slice(0, 20 + 13 * i));
    const single = prompts.map((p) => driverFor(MODELS + 'tiny-random-llama3', 'auto', null, 1).greedy([p], 16, null)[0]);
    const batched = driverFor(MODELS + 'tiny-random-llama3', 'auto', null, prompts.length).greedy(prompts, 16, null);
    assert.deepEqual(batched, single);
  });

  it('a prefill split into chunks gives the same logits as one prefill (rel err < 1e-4)', () => {
    const prompt = golden('tiny-random-llama3')[0]!.prompt_ids; // 156 tokens
    const whole = driverFor(MODELS + 'tiny-random-llama3').prefillLogits(prompt, 1 << 30);
    for (const chunk of [1, 7, 64]) {
      const chunked = driverFor(MODELS + 'tiny-random-llama3').prefillLogits(prompt, chunk);
      let num = 0;
      let den = 0;
      for (let i = 0; i < whole.length; i++) { num += (whole[i]! - chunked[i]!) ** 2; den += whole[i]! ** 2; }
      assert.ok(Math.sqrt(num / den) < 1e-4, `chunk ${chunk}: relative error ${Math.sqrt(num / den)}`);
    }
  });

  it('a prefill longer than the MLP pass (512 rows) equals one made of chunks shorter than it, bit for bit', () => {
    const base = golden('tiny-random-llama3')[0]!.prompt_ids;
    const prompt = Array.from({ length: 1000 }, (_, i) => base[i % base.length]!); // 2 MLP passes: 512, 488
    const whole = driverFor(MODELS + 'tiny-random-llama3').prefillLogits(prompt, 1 << 30);
    const chunked = driverFor(MODELS + 'tiny-random-llama3').prefillLogits(prompt, 400); // one pass per step
    assert.ok(whole.some((v) => v !== 0));
    assert.deepEqual(whole, chunked);
  });
});

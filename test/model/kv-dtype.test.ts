/**
 * KV cache element type (--kv-cache-dtype auto = the model dtype): the rule, and what engines
 * built from real checkpoints pick. Golden outputs with the reduced-precision KV pools are covered
 * by golden.test.ts (the bf16 Qwen3 checkpoint and the GGUF files run through the same builder).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { kvDtypeFor } from '../../src/model/loader.js';
import { DType } from '../../src/native/binding.js';
import { MODELS } from './harness.js';

describe('kvDtypeFor', () => {
  it('follows --dtype, else the checkpoint dtype; GGUF gets f16 like llama.cpp', () => {
    assert.equal(kvDtypeFor('auto', 'auto', 'float32'), DType.F32);
    assert.equal(kvDtypeFor('auto', 'auto', 'bfloat16'), DType.BF16);
    assert.equal(kvDtypeFor('auto', 'auto', 'float16'), DType.F16);
    assert.equal(kvDtypeFor('auto', 'auto', 'gguf'), DType.F16);
    assert.equal(kvDtypeFor('auto', 'float32', 'gguf'), DType.F32);
    assert.equal(kvDtypeFor('auto', 'float', 'bfloat16'), DType.F32);
    assert.equal(kvDtypeFor('auto', 'half', 'float32'), DType.F16);
    assert.equal(kvDtypeFor('auto', 'bfloat16', 'float32'), DType.BF16);
    assert.throws(() => kvDtypeFor('fp8_e4m3', 'auto', 'float32'), /--kv-cache-dtype fp8_e4m3 is not supported/);
  });
});

describe('engines', () => {
  const cellBytes = new Map<string, number>();
  for (const [path, dtype, want] of [
    ['tinystories-656k', 'auto', 'float32'],
    ['tiny-random-qwen3', 'auto', 'bfloat16'],
    ['tinystories-656k-gguf/tinystories-656k-q8_0.gguf', 'auto', 'float16'],
    ['tinystories-656k-gguf/tinystories-656k-q8_0.gguf', 'float32', 'float32'],
  ] as const) {
    it(`${path} with --dtype ${dtype}: ${want} KV`, async () => {
      const e = await Engine.create({ modelPath: MODELS + path, dtype, maxTotalTokens: 256 });
      try {
        assert.equal(e.built.facts.kvDtype, want);
        cellBytes.set(`${path} ${dtype}`, e.built.plan.cellBytes);
        const r = await e.run({ text: 'Once upon a time', samplingParams: { max_new_tokens: 4, temperature: 0 } });
        assert.equal(r.completionTokens, 4);
      } finally {
        await e.close();
      }
    });
  }
  it('a 16-bit KV cell is half an f32 one (the memory plan sizes the pool by it)', () => {
    const gguf = 'tinystories-656k-gguf/tinystories-656k-q8_0.gguf';
    assert.equal(cellBytes.get(`${gguf} float32`), 2 * cellBytes.get(`${gguf} auto`)!);
    assert.equal(cellBytes.get('tinystories-656k auto'), cellBytes.get(`${gguf} float32`));
  });
});

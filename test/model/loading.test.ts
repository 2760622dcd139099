/**
 * Loading options and loading errors: --dtype and --quantization conversions keep the model
 * close to (or, when exact, equal to) the original; missing, truncated and corrupt files and
 * unknown architectures fail with errors that name the file and the problem.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { Driver, MODELS } from './harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsgl-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function driver(path: string, dtype = 'auto', quantization: string | null = null, loadFormat = 'auto'): Driver {
  const m = loadModel({ modelPath: path, loadFormat: loadFormat as never, dtype, quantization, progress: false });
  const c = m.config;
  const pool = ops.createKvPool(c.numLayers, 1 + 1024, c.numKvHeads, c.headDim, DType.F32);
  return new Driver(new DecoderModelRunner(c, m.weights, pool, 512, 4), 1024);
}

const golden = (name: string): { prompt_ids: number[]; greedy_output_ids: number[] }[] =>
  (JSON.parse(readFileSync(`${MODELS}golden/${name}.greedy.json`, 'utf8')) as { cases: [] }).cases;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function copyFolder(name: string): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    try { copyFileSync(join(MODELS, name, f), join(dir, f)); } catch { /* optional */ }
  }
  return dir;
}

describe('--dtype and --quantization', () => {
  it('--dtype float32 on a bf16 checkpoint is exact (golden ids)', () => {
    const c = golden('tiny-random-llama3')[1]!;
    const [out] = driver(`${MODELS}tiny-random-llama3`, 'float32').greedy([c.prompt_ids], 32, null);
    assert.deepEqual(out, c.greedy_output_ids);
  });

  it('--dtype bfloat16 / float16 and --quantization w8a8_int8 stay close to f32 logits', () => {
    const prompt = golden('tinystories-656k')[1]!.prompt_ids;
    const ref = driver(`${MODELS}tinystories-656k`).prefillLogits(prompt, 1 << 30);
    // tinystories' f32 weights happen to be bf16-representable (hence also f16-representable at
    // their magnitudes), so bfloat16 and float16 are exact there; int8 is not.
    for (const [dtype, q, tol, stored] of [['bfloat16', null, 1e-4, 'bfloat16'], ['float16', null, 1e-4, 'float16'], ['auto', 'w8a8_int8', 0.5, 'q8_0']] as const) {
      const m = loadModel({ modelPath: `${MODELS}tinystories-656k`, loadFormat: 'auto', dtype, quantization: q, progress: false });
      assert.equal(m.weights.matrixDtype, stored);
      const got = driver(`${MODELS}tinystories-656k`, dtype, q).prefillLogits(prompt, 1 << 30);
      const d = maxAbsDiff(ref, got);
      assert.ok(d < tol, `${dtype}/${q}: max |logit diff| ${d}`);
      if (q) assert.ok(d > 0, 'int8 weights cannot be exact');
    }
  });

  it('--load-format dummy builds random weights from config.json alone', () => {
    const [out] = driver(`${MODELS}shapes/qwen3-0.6b/config.json`.replace('/config.json', ''), 'auto', null, 'dummy').greedy([[1, 2, 3]], 2, null);
    assert.equal(out!.length, 2);
  });
});

describe('loading errors name the file and the problem', () => {
  const expectError = (path: string, pattern: RegExp): void => {
    assert.throws(() => loadModel({ modelPath: path, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false }), pattern);
  };

  it('a missing path, a folder without weights, a truncated safetensors file', () => {
    expectError(join(tmp, 'nope'), /does not exist/);
    const dir = copyFolder('tinystories-656k');
    rmSync(join(dir, 'model.safetensors'));
    expectError(dir, /no model\.safetensors/);
    const dir2 = copyFolder('tinystories-656k');
    truncateSync(join(dir2, 'model.safetensors'), 100_000);
    expectError(dir2, /model\.safetensors.*(truncated|beyond)/);
  });

  it('a shard listed in the index that is missing', () => {
    const dir = mkdtempSync(join(tmp, 'llama3-'));
    for (const f of ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors']) copyFileSync(join(MODELS, 'tiny-random-llama3', f), join(dir, f));
    expectError(dir, /model-00002-of-00002\.safetensors.*missing/);
  });

  it('a corrupt or truncated GGUF file', () => {
    const bad = join(tmp, 'bad.gguf');
    writeFileSync(bad, Buffer.from('NOTAGGUFFILE-but-long-enough-to-read'));
    expectError(bad, /bad\.gguf.*not a GGUF file/);
    const cut = join(tmp, 'cut.gguf');
    copyFileSync(`${MODELS}tinystories-656k-gguf/tinystories-656k-q8_0.gguf`, cut);
    truncateSync(cut, 300_000);
    expectError(cut, /cut\.gguf.*(truncated|beyond)/);
  });

  it('an unknown architecture names it and lists the supported ones', () => {
    const dir = copyFolder('tinystories-656k');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    cfg.architectures = ['GPTNeoXForCausalLM'];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    expectError(dir, /unsupported model architecture "GPTNeoXForCausalLM".*LlamaForCausalLM.*Qwen3ForCausalLM/);
  });
});

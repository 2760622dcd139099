/**
 * `tsgl convert` round trips: a GGUF written from a HF folder loads back (through the GGUF path,
 * with llama q/k permuted for adjacent-pair RoPE and llama3 scaling as rope_freqs) and
 * reproduces the golden greedy ids; dummy configs export in every type.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readGguf } from '../../src/formats/gguf.js';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { exportGguf, type ExportType } from '../../src/model/gguf-export.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { Driver, MODELS } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgl-convert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function driver(path: string): Driver {
  const m = loadModel({ modelPath: path, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false });
  const c = m.config;
  const pool = ops.createKvPool(c.numLayers, 1 + 1024, c.numKvHeads, c.headDim, DType.F32);
  return new Driver(new DecoderModelRunner(c, m.weights, pool, 512, 4), 1024);
}

function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]! / n; mb += b[i]! / n; }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i]! - ma) * (b[i]! - mb); saa += (a[i]! - ma) ** 2; sbb += (b[i]! - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

function goldenCases(name: string): { prompt_ids: number[]; greedy_output_ids: number[]; ignore_eos?: boolean }[] {
  return (JSON.parse(readFileSync(`${MODELS}golden/${name}.greedy.json`, 'utf8')) as { cases: [] }).cases;
}

describe('tsgl convert', () => {
  for (const name of ['tinystories-656k', 'tiny-random-llama3', 'tiny-random-qwen2']) {
    it(`${name} → F32 GGUF reproduces the golden ids`, () => {
      const out = join(dir, `${name}.gguf`);
      exportGguf({ modelPath: MODELS + name, outPath: out, outType: 'f32', dummy: false });
      const d = driver(out);
      for (const c of goldenCases(name)) {
        const [ids] = d.greedy([c.prompt_ids], c.greedy_output_ids.length, c.ignore_eos ? null : 2);
        assert.deepEqual(ids, c.greedy_output_ids);
      }
    });
  }

  it('tinystories-656k → Q5_0 GGUF loads (rewritten to Q8_0 exactly) and stays close to the F32 logits', (t) => {
    const f32Path = join(dir, 'tinystories-656k-for-q5.gguf'), q5Path = join(dir, 'tinystories-656k-q5_0.gguf');
    exportGguf({ modelPath: MODELS + 'tinystories-656k', outPath: f32Path, outType: 'f32', dummy: false });
    exportGguf({ modelPath: MODELS + 'tinystories-656k', outPath: q5Path, outType: 'q5_0', dummy: false });
    assert.equal(readGguf(q5Path).tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!.type, 6);
    const m = loadModel({ modelPath: q5Path, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false });
    assert.equal(m.weights.matrixDtype, 'q8_0');
    const q5 = driver(q5Path), f32 = driver(f32Path);
    for (const c of goldenCases('tinystories-656k')) {
      const a = q5.prefillLogits(c.prompt_ids, 1 << 30), b = f32.prefillLogits(c.prompt_ids, 1 << 30);
      let maxDiff = 0, argA = 0, argB = 0;
      for (let j = 0; j < a.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[j]! - b[j]!));
        if (a[j]! > a[argA]!) argA = j;
        if (b[j]! > b[argB]!) argB = j;
      }
      const r = correlation(a, b);
      t.diagnostic(`q5_0 prompt of ${c.prompt_ids.length} ids: max |logit diff| vs F32 ${maxDiff.toFixed(4)}, correlation ${r.toFixed(5)}, argmax ${argA} vs ${argB}`);
      // 5-bit weights move this 656K-parameter model's logits by up to ~1.5 (Q8_0: < 0.5); a
      // mis-decoded block layout would leave the logits uncorrelated with F32's.
      assert.ok(maxDiff < 3, `max logit difference ${maxDiff}`);
      assert.ok(r > 0.99, `logit correlation with F32 ${r}`);
      assert.ok(b[argA]! > b[argB]! - 0.5, `Q5_0's first greedy token ${argA} is near the top of the F32 logits (${b[argA]} vs ${b[argB]})`);
    }
  });

  it('exports a dummy config in every type with llama.cpp file types', () => {
    const expected: Record<ExportType, [number, number]> = { f32: [0, DType.F32], f16: [1, DType.F16], bf16: [32, DType.BF16], q8_0: [7, DType.Q8_0], q4_0: [2, DType.Q4_0], q5_0: [8, 6] };
    for (const [type, [fileType, tensorType]] of Object.entries(expected) as [ExportType, [number, number]][]) {
      const out = join(dir, `dummy-${type}.gguf`);
      exportGguf({ modelPath: `${MODELS}tiny-random-qwen3/config.json`, outPath: out, outType: type, dummy: true });
      const f = readGguf(out);
      assert.equal(f.metadata.get('general.file_type'), fileType);
      assert.equal(f.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.type, tensorType);
      const d = driver(out);
      const [ids] = d.greedy([[1, 2, 3]], 4, null);
      assert.equal(ids!.length, 4);
    }
  });
});

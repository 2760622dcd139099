/**
 * The bf16 dot path at the model level (loadModel { bf16Dot }, env TSGL_BF16_DOT=1): the BF16
 * models of ../shared/models, teacher-forced over every golden case (prompt + golden ids), next to
 * the exact path (f32 activations, which reproduces the goldens: golden.test.ts). Rounding the
 * activations to bf16 moves the logits (by design; the goldens' README warns that such paths can
 * flip near-ties in free generation), so the checks are: the flag takes effect, the change stays
 * a few percent of the logit scale (bf16 KV alone moves these random models' logits by ~2%), and
 * the teacher-forced argmax keeps the golden id at >= 90% of steps (62-64 of 64 measured).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { Driver, MODELS } from './harness.js';

interface GoldenCase { prompt_ids: number[]; greedy_output_ids: number[] }

/** Logits [steps][vocab] for prompt + golden ids: the prefill's last row, then one row per golden id. */
function teacherForced(path: string, bf16Dot: boolean, cases: GoldenCase[]): Float32Array[][] {
  const m = loadModel({ modelPath: path, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false, bf16Dot });
  const slots = 512;
  const pool = ops.createKvPool(m.config.numLayers, 1 + slots, m.config.numKvHeads, m.config.headDim, DType.F32);
  const out = cases.map((c) => {
    const d = new Driver(new DecoderModelRunner(m.config, m.weights, pool, slots, 16), slots);
    const seqs = [{ ids: [...c.prompt_ids, ...c.greedy_output_ids], numComputed: 0, done: false }];
    const rows = [d.step(seqs, [[0, c.prompt_ids.length]])[0]!];
    for (let i = 1; i < c.greedy_output_ids.length; i++) rows.push(d.step(seqs, [[0, 1]])[0]!);
    return rows;
  });
  ops.freeKvPool(pool);
  return out;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

for (const name of ['tiny-random-qwen3', 'tiny-random-llama3', 'tiny-random-qwen2']) {
  test(`bf16 dot: ${name} teacher-forced logits stay within a few percent of the exact path and keep the golden argmax at >= 90% of steps`, () => {
    const cases = (JSON.parse(readFileSync(`${MODELS}golden/${name}.greedy.json`, 'utf8')) as { cases: GoldenCase[] }).cases;
    const exact = teacherForced(MODELS + name, false, cases), dot = teacherForced(MODELS + name, true, cases);
    let maxDiff = 0, maxAbs = 0, steps = 0, kept = 0;
    cases.forEach((c, ci) => {
      exact[ci]!.forEach((e, s) => {
        const b = dot[ci]![s]!;
        for (let j = 0; j < e.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(e[j]! - b[j]!));
          maxAbs = Math.max(maxAbs, Math.abs(e[j]!));
        }
        steps++;
        if (argmax(b) === c.greedy_output_ids[s]) kept++;
      });
    });
    assert.ok(maxDiff > 0, `${name}: the bf16 dot path changed nothing (flag not applied?)`);
    assert.ok(maxDiff <= 0.05 * maxAbs, `${name}: max |logit change| ${maxDiff} > 5% of max |logit| ${maxAbs}`);
    assert.ok(kept >= 0.9 * steps, `${name}: teacher-forced argmax kept the golden id at ${kept} of ${steps} steps`);
  });
}

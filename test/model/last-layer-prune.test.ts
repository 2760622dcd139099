/**
 * Last-layer pruning (src/model/last-layer-prune.ts): when every logit row is its request's last
 * token, the last layer's queries, o projection and MLP run on those rows only. The logits must be
 * bit for bit those of the full pass, which runs whenever some logit row is not a last token (an
 * input-logprob row): the same prompts are run both ways, in fresh KV pools, on real tiny models,
 * with a request that has no logit row (a prefill chunk) in the batch too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ForwardBatch } from '../../src/engine/types.js';
import { DType } from '../../src/native/binding.js';
import * as ops from '../../src/native/ops.js';
import { LastLayerPruner } from '../../src/model/last-layer-prune.js';
import { loadModel } from '../../src/model/loader.js';
import { DecoderModelRunner } from '../../src/model/model-runner.js';
import { MODELS } from './harness.js';

const SLOTS = 64;

/** Prefill of `prompts` in one batch; logit rows: each request's last token unless `noLogits`, plus `extraRows`. */
function prefillBatch(prompts: number[][], noLogits: Set<number>, extraRows: number[]): ForwardBatch {
  const numTokens = prompts.reduce((a, p) => a + p.length, 0);
  const inputIds = new Int32Array(numTokens), positions = new Int32Array(numTokens), outLoc = new Int32Array(numTokens);
  const qIndptr = new Int32Array(prompts.length + 1), kvIndptr = new Int32Array(prompts.length + 1);
  const kv: number[] = [], rows = [...extraRows];
  let t = 0;
  prompts.forEach((p, r) => {
    p.forEach((id, j) => {
      inputIds[t] = id;
      positions[t] = j;
      outLoc[t] = 1 + r * SLOTS + j;
      kv.push(1 + r * SLOTS + j);
      t++;
    });
    qIndptr[r + 1] = t;
    kvIndptr[r + 1] = kv.length;
    if (!noLogits.has(r)) rows.push(t - 1);
  });
  rows.sort((a, b) => a - b);
  return {
    numReqs: prompts.length, numTokens, inputIds, positions, outLoc, qIndptr, kvIndptr,
    kvIndices: Int32Array.from(kv), logitRows: Int32Array.from(rows), numLogitRows: rows.length,
  };
}

for (const name of ['tiny-random-qwen3', 'tiny-random-llama3', 'tiny-random-qwen2']) {
  test(`last-layer pruning: ${name} logits equal the full pass bit for bit`, () => {
    const m = loadModel({ modelPath: MODELS + name, loadFormat: 'auto', dtype: 'auto', quantization: null, progress: false });
    const prompts = [[1, 5, 9, 13, 17, 21, 25], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24], [3, 7, 11, 15]];
    const run = (batch: ForwardBatch): Float32Array => {
      const pool = ops.createKvPool(m.config.numLayers, 1 + prompts.length * SLOTS, m.config.numKvHeads, m.config.headDim, DType.F32);
      try {
        const runner = new DecoderModelRunner(m.config, m.weights, pool, 64, 8);
        return runner.forward(batch).slice(0, batch.numLogitRows * runner.vocabSize);
      } finally {
        ops.freeKvPool(pool);
      }
    };
    const V = m.config.vocabSize;
    const pruned = prefillBatch(prompts, new Set([1]), []); // request 1: a chunk without a logit row
    const full = prefillBatch(prompts, new Set([1]), [3]); // + an input-logprob row: no pruning
    const pruner = new LastLayerPruner();
    assert.equal(pruner.plan(pruned)?.numTokens, 2, 'pruning applies: two logit rows');
    assert.equal(pruner.plan(full), null, 'a logit row that is not a last token disables pruning');
    const a = run(pruned), b = run(full);
    // full's rows: [3, last of request 0, last of request 2]; pruned's: [last of 0, last of 2]
    assert.deepEqual(a, b.slice(V), `${name}: pruned logits differ from the full pass`);
  });
}

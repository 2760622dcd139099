/**
 * `tsgl bench_one_batch`: static-batch throughput without the server or scheduler (SGLang's
 * bench_one_batch): for each batch size B, prefill B prompts of --input-len random tokens in one
 * forward, then decode --output-len steps of B tokens. Reports the median over --runs of
 * prefill tokens/s, decode tokens/s and per-step latency.
 */
import { parseArgs } from 'node:util';
import type { ForwardBatch } from '../src/engine/types.js';
import { DType } from '../src/native/binding.js';
import * as ops from '../src/native/ops.js';
import { kvDtypeFor, loadModel } from '../src/model/loader.js';
import { DecoderModelRunner } from '../src/model/model-runner.js';

const HELP = `Usage: tsgl bench_one_batch --model-path PATH [--load-format dummy] [--dtype D] [--quantization w8a8_int8]
                            [--batch-size 1 8 32 64] [--input-len 512] [--output-len 32] [--runs 3] [--warmup 0] [--threads N] [--json]
`;

interface Row { batchSize: number; inputLen: number; outputLen: number; prefillTokPerS: number; prefillMs: number; decodeTokPerS: number; decodeStepMs: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Batch over B sequences; sequence b owns KV slots [1 + b * slotsPerSeq, ...). */
function makeBatch(B: number, startPos: number, numNew: number, slotsPerSeq: number, vocab: number): ForwardBatch {
  const numTokens = B * numNew;
  const kvLen = startPos + numNew;
  const inputIds = new Int32Array(numTokens);
  const positions = new Int32Array(numTokens);
  const outLoc = new Int32Array(numTokens);
  const qIndptr = new Int32Array(B + 1);
  const kvIndptr = new Int32Array(B + 1);
  const kvIndices = new Int32Array(B * kvLen);
  const logitRows = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < numNew; j++) {
      const t = b * numNew + j;
      inputIds[t] = (t * 7919 + startPos * 31) % vocab;
      positions[t] = startPos + j;
      outLoc[t] = 1 + b * slotsPerSeq + startPos + j;
    }
    for (let p = 0; p < kvLen; p++) kvIndices[b * kvLen + p] = 1 + b * slotsPerSeq + p;
    qIndptr[b + 1] = (b + 1) * numNew;
    kvIndptr[b + 1] = (b + 1) * kvLen;
    logitRows[b] = (b + 1) * numNew - 1;
  }
  return { numReqs: B, numTokens, inputIds, positions, outLoc, qIndptr, kvIndptr, kvIndices, logitRows, numLogitRows: B };
}

export async function benchOneBatch(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: {
      'model-path': { type: 'string' }, 'load-format': { type: 'string', default: 'auto' }, dtype: { type: 'string', default: 'auto' },
      quantization: { type: 'string' }, 'batch-size': { type: 'string', multiple: true }, 'input-len': { type: 'string', default: '512' },
      'output-len': { type: 'string', default: '32' }, runs: { type: 'string', default: '3' }, warmup: { type: 'string', default: '0' }, threads: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true, allowPositionals: true,
  });
  if (v.help || !v['model-path']) {
    process.stdout.write(HELP);
    return v.help ? 0 : 2;
  }
  if (v.threads) ops.setNumThreads(Number(v.threads));
  // `--batch-size 1 8 32 64` (SGLang's nargs form): the extra numbers arrive as positionals
  const bsArgs = [...(v['batch-size'] ?? []), ...positionals.filter((p) => /^\d+$/.test(p))];
  const batchSizes = (bsArgs.length ? bsArgs : ['1', '8', '32', '64']).flatMap((s) => s.split(/[ ,]+/)).filter(Boolean).map(Number);
  const inputLen = Number(v['input-len']);
  const outputLen = Number(v['output-len']);
  const runs = Number(v.runs);
  const warmup = Number(v.warmup);
  const model = loadModel({ modelPath: v['model-path'], loadFormat: v['load-format'] as never, dtype: v.dtype, quantization: v.quantization ?? null, progress: !v.json });
  const c = model.config;
  const maxB = Math.max(...batchSizes);
  const slotsPerSeq = inputLen + outputLen + 1;
  const pool = ops.createKvPool(c.numLayers, 1 + maxB * slotsPerSeq, c.numKvHeads, c.headDim, kvDtypeFor('auto', v.dtype!, c.torchDtype));
  const runner = new DecoderModelRunner(c, model.weights, pool, maxB * inputLen, maxB);
  const rows: Row[] = [];
  for (const B of batchSizes) {
    const prefillMs: number[] = [];
    const decodeMs: number[] = [];
    for (let r = 0; r < warmup; r++) {
      // untimed: faults the mmapped weights in and warms caches and the thread pool
      runner.forward(makeBatch(B, 0, inputLen, slotsPerSeq, c.vocabSize));
      for (let i = 0; i < Math.min(outputLen, 4); i++) runner.forward(makeBatch(B, inputLen + i, 1, slotsPerSeq, c.vocabSize));
    }
    for (let r = 0; r < runs; r++) {
      let t0 = performance.now();
      runner.forward(makeBatch(B, 0, inputLen, slotsPerSeq, c.vocabSize));
      prefillMs.push(performance.now() - t0);
      const steps = Array.from({ length: outputLen }, (_, i) => makeBatch(B, inputLen + i, 1, slotsPerSeq, c.vocabSize));
      t0 = performance.now();
      for (const step of steps) runner.forward(step);
      decodeMs.push((performance.now() - t0) / outputLen);
    }
    const row: Row = {
      batchSize: B, inputLen, outputLen,
      prefillMs: median(prefillMs), prefillTokPerS: (B * inputLen) / (median(prefillMs) / 1000),
      decodeStepMs: median(decodeMs), decodeTokPerS: B / (median(decodeMs) / 1000),
    };
    rows.push(row);
    if (!v.json) {
      process.stdout.write(`batch ${String(B).padStart(3)} | prefill ${row.prefillTokPerS.toFixed(1).padStart(9)} tok/s (${row.prefillMs.toFixed(1)} ms) | decode ${row.decodeTokPerS.toFixed(1).padStart(9)} tok/s (${row.decodeStepMs.toFixed(2)} ms/step)\n`);
    }
  }
  if (v.json) {
    process.stdout.write(JSON.stringify({ model: v['model-path'], dtype: model.weights.matrixDtype, threads: ops.getNumThreads(), isa: ops.getIsa(), rows }) + '\n');
  }
  return 0;
}

/**
 * Kernel benchmark: per-op time of real forward steps (decode and prefill) on a GGUF, by
 * wrapping the addon's methods with timers, plus matmul GB/s / GOP/s on the model's shapes.
 *   node --import tsx bench/kernels.ts MODEL.gguf [--prefill 512] [--batch 1] [--threads N]
 */
import { parseArgs } from 'node:util';
import * as ops from '../src/native/ops.js';
import { kvDtypeFor, loadModel } from '../src/model/loader.js';
import { DecoderModelRunner } from '../src/model/model-runner.js';
import type { ForwardBatch } from '../src/engine/types.js';

const { values: v, positionals } = parseArgs({
  options: { prefill: { type: 'string', default: '512' }, batch: { type: 'string', default: '1' }, threads: { type: 'string' }, steps: { type: 'string', default: '16' } },
  allowPositionals: true,
});
if (v.threads) ops.setNumThreads(Number(v.threads));
const model = loadModel({ modelPath: positionals[0]!, loadFormat: 'auto' as never, dtype: 'auto', quantization: null, progress: false });
const c = model.config;
const P = Number(v.prefill), B = Number(v.batch), steps = Number(v.steps);
const slots = P + steps + 2;
const pool = ops.createKvPool(c.numLayers, 1 + B * slots, c.numKvHeads, c.headDim, kvDtypeFor('auto', 'auto', c.torchDtype));
const runner = new DecoderModelRunner(c, model.weights, pool, Math.max(B * P, B), B);

function batch(start: number, num: number): ForwardBatch {
  const nt = B * num, kvLen = start + num;
  const b: ForwardBatch = {
    numReqs: B, numTokens: nt, inputIds: new Int32Array(nt), positions: new Int32Array(nt), outLoc: new Int32Array(nt),
    qIndptr: new Int32Array(B + 1), kvIndptr: new Int32Array(B + 1), kvIndices: new Int32Array(B * kvLen), logitRows: new Int32Array(B), numLogitRows: B,
  };
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < num; j++) { const t = r * num + j; b.inputIds[t] = (t * 7919 + start) % c.vocabSize; b.positions[t] = start + j; b.outLoc[t] = 1 + r * slots + start + j; }
    for (let p = 0; p < kvLen; p++) b.kvIndices[r * kvLen + p] = 1 + r * slots + p;
    b.qIndptr[r + 1] = (r + 1) * num; b.kvIndptr[r + 1] = (r + 1) * kvLen; b.logitRows[r] = (r + 1) * num - 1;
  }
  return b;
}

const nb = ops.native() as unknown as Record<string, (...a: unknown[]) => unknown>;
const times = new Map<string, number>();
const calls = new Map<string, number>();
for (const name of ['matmul', 'matmul3', 'matmulGlu', 'attention', 'storeKv', 'rmsNorm', 'addRmsNorm', 'rope', 'ropeTable', 'ropeQk', 'gluMul', 'embed', 'gatherRows', 'addBias']) {
  const f = nb[name]!.bind(nb);
  nb[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    const key = name === 'matmul' ? `matmul m=${a[3]} n=${(ops as never as { x: 1 }) && 0 || ''}h${a[2]}` : name === 'matmul3' ? `matmul3 m=${a[7]}` : name;
    times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return r;
  };
}
function report(label: string, total: number): void {
  process.stdout.write(`${label}: ${total.toFixed(1)} ms total\n`);
  const agg = new Map<string, number>();
  for (const [k, t] of times) { const kk = k.startsWith('matmul') ? k.replace(/h\d+$/, '') : k; agg.set(kk, (agg.get(kk) ?? 0) + t); }
  let sum = 0;
  for (const [k, t] of [...agg].sort((a, b) => b[1] - a[1])) { sum += t; process.stdout.write(`  ${k.padEnd(24)} ${t.toFixed(2).padStart(9)} ms  ${(100 * t / total).toFixed(1)}%\n`); }
  process.stdout.write(`  ${'(js / other)'.padEnd(24)} ${(total - sum).toFixed(2).padStart(9)} ms\n`);
  times.clear(); calls.clear();
}

runner.forward(batch(0, P));
times.clear();
let t0 = performance.now();
runner.forward(batch(0, P));
report(`prefill ${B}x${P}`, performance.now() - t0);
for (let s = 0; s < 2; s++) runner.forward(batch(P + s, 1));
times.clear();
t0 = performance.now();
for (let s = 0; s < steps; s++) runner.forward(batch(P + 2 + (s % (steps - 2)), 1));
const dt = performance.now() - t0;
report(`decode B=${B} (${steps} steps, ${(dt / steps).toFixed(2)} ms/step, ${(B * steps * 1000 / dt).toFixed(1)} tok/s, weights ${(model.weights.bytes / 2 ** 20).toFixed(0)} MiB -> ${(model.weights.bytes / (dt / steps) / 1e6).toFixed(1)} GB/s)`, dt);

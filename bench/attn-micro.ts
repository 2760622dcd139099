/**
 * Attention micro-benchmark (min over repetitions, robust on a loaded host): decode (one query
 * against kv tokens) and causal prefill, on a model's head shapes.
 *   node --import tsx bench/attn-micro.ts [--heads 9] [--kv-heads 3] [--head-dim 64] [--kv 512] [--layers 30] [--threads 1,2]
 */
import { parseArgs } from 'node:util';
import * as ops from '../src/native/ops.js';
import { msPerCall } from './stats.js';

const { values: v } = parseArgs({
  options: { heads: { type: 'string', default: '9' }, 'kv-heads': { type: 'string', default: '3' }, 'head-dim': { type: 'string', default: '64' },
    cpu: { type: 'boolean', default: false }, kv: { type: 'string', default: '512' }, layers: { type: 'string', default: '30' }, threads: { type: 'string', default: '1,2' }, reps: { type: 'string', default: '200' } },
});
const H = Number(v.heads), KVH = Number(v['kv-heads']), D = Number(v['head-dim']), L = Number(v.kv), reps = Number(v.reps);
const NL = Number(v.layers);
const pool = ops.createKvPool(NL, L + 1, KVH, D, ops.DType.F32);
const k = new Float32Array(L * KVH * D).map(() => Math.random() - 0.5), vv = new Float32Array(L * KVH * D).map(() => Math.random() - 0.5);
const loc = Int32Array.from({ length: L }, (_, i) => i + 1);
for (let l = 0; l < NL; l++) ops.storeKv(pool, l, k, vv, loc, L);
let layer = 0;  // decode cycles through the layers, as a forward does (KV not cache-hot)
const q = new Float32Array(L * H * D).map(() => Math.random() - 0.5), out = new Float32Array(L * H * D);
// Min wall ms per call, or with --cpu the process CPU ms per call (see msPerCall).
const minTime = (fn: () => void, n: number): number => msPerCall(fn, n, process.argv.includes('--cpu'));
for (const t of v.threads!.split(',').map(Number)) {
  ops.setNumThreads(t);
  const dec = minTime(() => ops.attention(out, q, pool, (layer = (layer + 1) % NL), H, 1, new Int32Array([0, 1]), new Int32Array([0, L]), loc, 0.125), reps);
  const pre = minTime(() => ops.attention(out, q, pool, 0, H, 1, new Int32Array([0, L]), new Int32Array([0, L]), loc, 0.125), Math.max(3, reps / 20));
  process.stdout.write(`threads ${t}: decode kv ${L}: ${(dec * 1000).toFixed(1)} us   prefill ${L}: ${pre.toFixed(3)} ms\n`);
}

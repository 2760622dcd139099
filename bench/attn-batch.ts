/**
 * Batched attention micro-benchmark on serving shapes (min over repetitions, or process CPU
 * time with --cpu): decode of --batch requests (one query each) whose contexts are spread
 * evenly over [--ctx-min, --ctx-max], and extend: --ext new queries over a --prefix cached
 * context (the shared-prefix case; --prefix 0 is a plain prefill). KV slots are shuffled over
 * the pool as in a long-running server, and decode cycles through --layers layers so the KV
 * is not cache-hot. Prints time per call and the KV bytes read per second.
 *   node --import tsx bench/attn-batch.ts [--heads 9] [--kv-heads 3] [--head-dim 64] [--batch 32,64]
 *     [--ctx-min 256] [--ctx-max 400] [--ext 128] [--ext-reqs 1] [--prefix 2048] [--dtype f32,f16,bf16] [--threads 1,2]
 *     [--isa avx2] [--contig] (slots in order instead of shuffled: the best case for the hardware prefetcher)
 */
import { parseArgs } from 'node:util';
import * as ops from '../src/native/ops.js';
import { msPerCall } from './stats.js';

const { values: v } = parseArgs({
  options: {
    heads: { type: 'string', default: '9' }, 'kv-heads': { type: 'string', default: '3' }, 'head-dim': { type: 'string', default: '64' },
    batch: { type: 'string', default: '32,64' }, 'ctx-min': { type: 'string', default: '256' }, 'ctx-max': { type: 'string', default: '400' },
    ext: { type: 'string', default: '128' }, 'ext-reqs': { type: 'string', default: '1' }, prefix: { type: 'string', default: '2048,0' }, layers: { type: 'string', default: '8' },
    dtype: { type: 'string', default: 'f32' }, threads: { type: 'string', default: '1,2' }, reps: { type: 'string', default: '40' },
    cpu: { type: 'boolean', default: false }, contig: { type: 'boolean', default: false }, isa: { type: 'string' }, 'no-decode': { type: 'boolean', default: false }, 'no-extend': { type: 'boolean', default: false },
  },
});
const H = Number(v.heads), KVH = Number(v['kv-heads']), D = Number(v['head-dim']), NL = Number(v.layers), reps = Number(v.reps);
const batches = v.batch!.split(',').map(Number), prefixes = v.prefix!.split(',').map(Number), ext = Number(v.ext);
const cmin = Number(v['ctx-min']), cmax = Number(v['ctx-max']);
const dtypes = v.dtype!.split(',').map((s) => ({ f32: ops.DType.F32, f16: ops.DType.F16, bf16: ops.DType.BF16 })[s]!);

if (v.isa) ops.setIsa(v.isa as ops.IsaName);
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
function shuffled(n: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}
const time = (fn: () => void, n: number): number => msPerCall(fn, n, Boolean(v.cpu));

const maxB = Math.max(...batches), totalDecode = maxB * cmax, totalExt = Number(v['ext-reqs']) * (Math.max(...prefixes) + ext);
const numSlots = Math.max(totalDecode, totalExt) + 1;
for (const dtype of dtypes) {
  const eb = dtype === ops.DType.F32 ? 4 : 2;
  const pool = ops.createKvPool(NL, numSlots, KVH, D, dtype);
  const all = v.contig ? Int32Array.from({ length: numSlots - 1 }, (_, i) => i + 1) : shuffled(numSlots - 1);
  const chunk = 4096, kk = new Float32Array(chunk * KVH * D).map(() => rand() - 0.5), vv = kk.map(() => rand() - 0.5);
  for (let l = 0; l < NL; l++) for (let s = 0; s < all.length; s += chunk) {
    const n = Math.min(chunk, all.length - s);
    ops.storeKv(pool, l, kk, vv, all.subarray(s, s + n), n);
  }
  const dn = ops.dtypeName(dtype);
  for (const t of v.threads!.split(',').map(Number)) {
    ops.setNumThreads(t);
    if (!v['no-decode']) for (const B of batches) {
      const kvIndptr = new Int32Array(B + 1), qIndptr = Int32Array.from({ length: B + 1 }, (_, i) => i);
      for (let r = 0; r < B; r++) kvIndptr[r + 1] = kvIndptr[r]! + Math.round(cmin + ((cmax - cmin) * r) / Math.max(1, B - 1));
      const kvIndices = all.subarray(0, kvIndptr[B]!);
      const q = new Float32Array(B * H * D).map(() => rand() - 0.5), out = new Float32Array(B * H * D);
      let layer = 0;
      const ms = time(() => ops.attention(out, q, pool, (layer = (layer + 1) % NL), H, B, qIndptr, kvIndptr, kvIndices, 1 / Math.sqrt(D)), reps);
      const bytes = kvIndptr[B]! * KVH * D * eb * 2;
      process.stdout.write(`${dn} threads ${t} decode batch ${B} ctx ${cmin}-${cmax}: ${(ms * 1000).toFixed(0)} us  ${(bytes / ms / 1e6).toFixed(1)} GB/s\n`);
    }
    if (!v['no-extend']) for (const P of prefixes) {
      // R requests of ext new tokens over P cached ones each, on disjoint slots
      const R = Number(v['ext-reqs']), qIndptr = Int32Array.from({ length: R + 1 }, (_, i) => i * ext);
      const kvIndptr = Int32Array.from({ length: R + 1 }, (_, i) => i * (P + ext)), kvIndices = all.subarray(0, R * (P + ext));
      const q = new Float32Array(R * ext * H * D).map(() => rand() - 0.5), out = new Float32Array(R * ext * H * D);
      const ms = time(() => ops.attention(out, q, pool, 0, H, R, qIndptr, kvIndptr, kvIndices, 1 / Math.sqrt(D)), Math.max(3, Math.round(reps / 8)));
      const flop = R * 4 * H * D * ext * (P + (ext + 1) / 2);  // QK^T and PV over the causal band
      process.stdout.write(`${dn} threads ${t} extend ${R}x${ext} over prefix ${P}: ${ms.toFixed(2)} ms  ${(flop / ms / 1e6).toFixed(1)} GFLOP/s\n`);
    }
  }
  ops.freeKvPool(pool);
}

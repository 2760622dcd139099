/**
 * int8 GEMM cases (m > 4: the wide kernel over pre-packed panels; Q4_0's keep the nibbles) computed
 * through normally registered weights. matmul.test.ts runs them here and in a child process
 * with TSGL_REPACK=0 (per-call packing) and requires bit-identical outputs.
 * Run directly: prints {packedBytes, outs: base64 f32[]} as JSON on stdout.
 */
import { fileURLToPath } from 'node:url';

import { ops, randn, rng } from './helpers.js';

const { DType } = ops;

export interface RepackResult { packedBytes: number; outs: Float32Array[] }

export function repackCases(): RepackResult {
  const rand = rng(77);
  const saved = ops.getNumThreads();
  const outs: Float32Array[] = [];
  let packedBytes = 0;
  for (const dtype of [DType.Q8_0, DType.Q4_0]) {
    // parts: panels of 32 rows inside a part, straddling parts, a ragged last panel
    for (const [m, parts, k] of [[5, [33], 96], [32, [40, 40], 576], [13, [16, 31], 160], [64, [7, 50, 11], 288], [7, [96], 64]] as [number, number[], number][]) {
      const bufs = parts.map((r) => {
        const b = new Uint8Array(r * ops.rowBytes(dtype, k));
        ops.quantizeRows(b, randn(r * k, rand), r, k, dtype);
        return b;
      });
      const w = ops.createWeight(bufs, parts, k, dtype);
      packedBytes += ops.weightPackedBytes(w);
      const x = randn(m * k, rand);
      for (const threads of [1, 2]) {
        ops.setNumThreads(threads);
        const out = new Float32Array(m * w.rows);
        ops.matmul(out, x, w, m);
        outs.push(out);
      }
      ops.freeWeight(w);
    }
  }
  ops.setNumThreads(saved);
  return { packedBytes, outs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = repackCases();
  process.stdout.write(JSON.stringify({ packedBytes: r.packedBytes, outs: r.outs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64')) }));
}

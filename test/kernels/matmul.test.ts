/**
 * matmul and embed for all seven weight dtypes: scalar vs a TS reference (f64 dot for float
 * weights; llama.cpp Q8 activation quantization and integer (sub-)block dots for Q8_0/Q4_0 and
 * the K-quants, whose ints and scales are decoded from the GGML layout in helpers.ts), every
 * ISA vs scalar, stacked parts, thread counts 1 and 2.
 * Tolerance: 1e-5 * sum_k |x_k w_k| + 1e-6 per output (f32 accumulation over <= 768 terms).
 * Q8_0/Q4_0 weights registered here are pre-packed on AVX-512 VNNI CPUs (createWeight); the
 * last test checks them against a child process with TSGL_REPACK=0 (per-call packing), bit for
 * bit. The whole file also passes under TSGL_REPACK=0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { assertClose, dequantRef, kquantBlock, ops, perIsa, quantizeQ8Ref, randn, randomQuantRows, rng, toDtype } from './helpers.js';
import { repackCases } from './repack-cases.js';

const { DType } = ops;
const ALL = [DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K] as const;

function weightBytes(rows: number, cols: number, dtype: ops.DTypeId, rand: () => number): Uint8Array {
  if (dtype === DType.F32 || dtype === DType.F16 || dtype === DType.BF16) return toDtype(randn(rows * cols, rand), rows, cols, dtype);
  if (dtype === DType.Q8_0 || dtype === DType.Q4_0) {
    const b = new Uint8Array(rows * ops.rowBytes(dtype, cols));
    ops.quantizeRows(b, randn(rows * cols, rand), rows, cols, dtype);
    return b;
  }
  return randomQuantRows(rows, cols, dtype, rand);
}

/** Reference out [m, n] and the per-output tolerance. */
function reference(x: Float32Array, m: number, wb: Uint8Array, n: number, k: number, dtype: ops.DTypeId) {
  const w = dequantRef(wb, n, k, dtype);
  const out = new Float64Array(m * n), tol = new Float64Array(m * n);
  const int8 = dtype === DType.Q8_0 || dtype === DType.Q4_0;
  const kq = dtype === DType.Q4_K || dtype === DType.Q6_K;
  for (let i = 0; i < m; i++) {
    const xr = x.subarray(i * k, (i + 1) * k);
    const q = int8 || kq ? quantizeQ8Ref(xr) : undefined;
    for (let j = 0; j < n; j++) {
      if (kq) {
        [out[i * n + j], tol[i * n + j]] = kquantDot(q!, wb, j, k, dtype);
        continue;
      }
      let s = 0, abs = 0;
      for (let b = 0; b < Math.floor(k / 32); b++) {
        if (q) {
          // integer dot of the block, w reconstructed as q_w * d_w: w / d_w is exact
          const dw = wscale(wb, j, b, k, dtype);
          let acc = 0;
          for (let t = 0; t < 32; t++) acc += q.qs[32 * b + t]! * Math.round(w[j * k + 32 * b + t]! / dw);
          const term = Math.fround(q.d[b]! * dw) * acc;
          s += term;
          abs += Math.abs(term);
        } else {
          for (let t = 32 * b; t < Math.min(32 * b + 32, k); t++) {
            s += xr[t]! * w[j * k + t]!;
            abs += Math.abs(xr[t]! * w[j * k + t]!);
          }
        }
      }
      if (!q) for (let t = 32 * Math.floor(k / 32); t < k; t++) { s += xr[t]! * w[j * k + t]!; abs += Math.abs(xr[t]! * w[j * k + t]!); }
      out[i * n + j] = s;
      tol[i * n + j] = 1e-5 * abs + 1e-6;
    }
  }
  return { out, tol };
}

/**
 * K-quants against Q8 activations: per weight sub-block (Q4_K 32 values, Q6_K 16), the integer
 * dot of the activation ints with the weight ints times d_x * scale, minus (Q4_K) d_x * sum_x
 * of the sub-block times its min. Returns [value, tolerance].
 */
function kquantDot(x: { d: number[]; qs: Int8Array }, wb: Uint8Array, row: number, k: number, dtype: ops.DTypeId): [number, number] {
  const rb = ops.rowBytes(dtype, k), bb = dtype === DType.Q4_K ? 144 : 210;
  let s = 0, abs = 0;
  for (let sb = 0; sb < k / 256; sb++) {
    const { q, scale, min, sub } = kquantBlock(wb, row * rb + sb * bb, dtype);
    for (let t = 0; t < 256 / sub; t++) {
      let isum = 0, xsum = 0;
      for (let l = 0; l < sub; l++) {
        const xq = x.qs[sb * 256 + t * sub + l]!;
        isum += xq * q[t * sub + l]!;
        xsum += xq;
      }
      const xd = x.d[(sb * 256 + t * sub) / 32 | 0]!;
      const a = xd * scale[t]! * isum, b = xd * xsum * min[t]!;
      s += a - b;
      abs += Math.abs(a) + Math.abs(b);
    }
  }
  return [s, 1e-5 * abs + 1e-6];
}

function wscale(wb: Uint8Array, row: number, block: number, k: number, dtype: ops.DTypeId): number {
  const rb = ops.rowBytes(dtype, k), bb = dtype === DType.Q8_0 ? 34 : 18;
  const dv = new DataView(wb.buffer, wb.byteOffset);
  const h = dv.getUint16(row * rb + block * bb, true);
  const f = new Float32Array(1);
  ops.dequantizeRows(f, new Uint8Array(new Uint16Array([h]).buffer), 1, 1, DType.F16);
  return f[0]!;
}

function shapesFor(dtype: ops.DTypeId): [number, number, number][] {
  const bs = ops.blockSize(dtype);
  if (bs === 256) return [[1, 3, 256], [3, 17, 512], [5, 33, 256]];
  if (bs === 32) return [[1, 1, 32], [3, 17, 96], [7, 33, 160], [2, 100, 64]];
  return [[1, 1, 1], [3, 17, 33], [7, 33, 100], [2, 5, 17], [1, 40, 128]];
}

test('matmul: every dtype, scalar vs TS reference and every ISA vs scalar', () => {
  const rand = rng(10);
  for (const dtype of ALL) {
    for (const [m, n, k] of shapesFor(dtype)) {
      const wb = weightBytes(n, k, dtype, rand);
      const x = randn(m * k, rand);
      const { out: ref, tol } = reference(x, m, wb, n, k, dtype);
      const w = ops.createWeight([wb], [n], k, dtype);
      const res = perIsa(() => {
        const out = new Float32Array(m * n);
        ops.matmul(out, x, w, m);
        return out;
      });
      const what = `${ops.dtypeName(dtype)} [${m}x${k}] @ [${n}x${k}]^T`;
      assertClose(res.get('scalar')!, ref, { perElem: tol }, `scalar ${what}`);
      for (const [isa, out] of res) assertClose(out, res.get('scalar')!, { perElem: tol }, `${isa} vs scalar ${what}`);
      ops.freeWeight(w);
    }
  }
});

test('matmul: stacked parts equal one weight; batch rows > tile; threads 1 and 2 agree', () => {
  const rand = rng(11);
  for (const dtype of ALL) {
    const k = ops.blockSize(dtype) === 256 ? 256 : 64, rowsA = 5, rowsB = 12, m = 70;
    const a = weightBytes(rowsA, k, dtype, rand), b = weightBytes(rowsB, k, dtype, rand);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    const x = randn(m * k, rand);
    const w1 = ops.createWeight([a, b], [rowsA, rowsB], k, dtype);
    const w2 = ops.createWeight([both], [rowsA + rowsB], k, dtype);
    assert.equal(w1.rows, rowsA + rowsB);
    const saved = ops.getNumThreads();
    perIsa((isa) => {
      const outs: Float32Array[] = [];
      for (const threads of [1, 2]) {
        ops.setNumThreads(threads);
        for (const w of [w1, w2]) {
          const out = new Float32Array(m * w.rows);
          ops.matmul(out, x, w, m);
          outs.push(out);
        }
      }
      for (const o of outs.slice(1)) assert.deepEqual(o, outs[0], `${isa} ${ops.dtypeName(dtype)} parts/threads`);
    });
    ops.setNumThreads(saved);
    ops.freeWeight(w1);
    ops.freeWeight(w2);
  }
});

test('matmul m <= 4 (decode GEMV): each row equals that row alone, odd shapes, parts, threads 1 and 2; vs scalar', () => {
  const rand = rng(13);
  for (const dtype of ALL) {
    const bs = ops.blockSize(dtype);
    const ks = bs === 256 ? [256, 768] : bs === 32 ? [32, 96, 160, 576] : [17, 64, 100];
    for (const k of ks) {
      const rowsA = 7, rowsB = 30;  // 37 rows: a panel straddles the part boundary, a ragged last panel
      const a = weightBytes(rowsA, k, dtype, rand), b = weightBytes(rowsB, k, dtype, rand);
      const w = ops.createWeight([a, b], [rowsA, rowsB], k, dtype);
      const n = w.rows, x = randn(4 * k, rand);
      const saved = ops.getNumThreads();
      const res = perIsa((isa) => {
        const single: Float32Array[] = [];
        for (let i = 0; i < 4; i++) {
          const o = new Float32Array(n);
          ops.matmul(o, x.subarray(i * k, (i + 1) * k), w, 1);
          single.push(o);
        }
        for (const threads of [1, 2]) {
          ops.setNumThreads(threads);
          for (let m = 1; m <= 4; m++) {
            const out = new Float32Array(m * n);
            ops.matmul(out, x.subarray(0, m * k), w, m);
            for (let i = 0; i < m; i++) assert.deepEqual(out.subarray(i * n, (i + 1) * n), single[i], `${isa} ${ops.dtypeName(dtype)} k=${k} m=${m} row ${i} threads ${threads}`);
          }
        }
        ops.setNumThreads(saved);
        const out = new Float32Array(4 * n);
        ops.matmul(out, x, w, 4);
        return out;
      });
      const { tol } = reference(x, 4, new Uint8Array([...a, ...b]), n, k, dtype);
      for (const [isa, out] of res) assertClose(out, res.get('scalar')!, { perElem: tol }, `${isa} vs scalar ${ops.dtypeName(dtype)} k=${k}`);
      ops.freeWeight(w);
    }
  }
});

test('embed: rows of every dtype equal dequantizeRows, under every ISA', () => {
  const rand = rng(12);
  for (const dtype of ALL) {
    const k = ops.blockSize(dtype) === 256 ? 256 : ops.blockSize(dtype) === 32 ? 64 : 17, n = 9;
    const wb = weightBytes(n, k, dtype, rand);
    const w = ops.createWeight([wb.subarray(0, 4 * ops.rowBytes(dtype, k)), wb.subarray(4 * ops.rowBytes(dtype, k))], [4, 5], k, dtype);
    const ids = new Int32Array([8, 0, 3, 4, 4]);
    const ref = dequantRef(wb, n, k, dtype);
    perIsa((isa) => {
      const out = new Float32Array(ids.length * k);
      ops.embed(out, w, ids, ids.length);
      ids.forEach((id, t) => assert.deepEqual(out.subarray(t * k, (t + 1) * k), ref.subarray(id * k, (id + 1) * k), `${isa} ${ops.dtypeName(dtype)} row ${id}`));
    });
    assert.throws(() => ops.embed(new Float32Array(k), w, new Int32Array([9]), 1), /ids\[0\] = 9 is out of range \[0, 9\)/);
    ops.freeWeight(w);
  }
});

test('weights: handle and size errors', () => {
  const n = ops.native();
  assert.throws(() => n.matmul(new Float32Array(4), new Float32Array(4), 12345, 1), /matmul: unknown weight handle 12345/);
  assert.throws(() => ops.createWeight([new Uint8Array(10)], [1], 32, DType.Q8_0), /parts\[0\] has 10 bytes, needs 34/);
  assert.throws(() => n.createWeight([new Uint8Array(10)], [1], 32, DType.Q8_0), /createWeight: parts\[0\] has 10 bytes/);
  assert.throws(() => n.createWeight([new Uint8Array(9).subarray(1)], [1], 2, DType.F32), /not 4-byte aligned/);
  const w = ops.createWeight([new Uint8Array(8)], [1], 2, DType.F32);
  assert.throws(() => ops.matmul(new Float32Array(1), new Float32Array(3), w, 2), /x has 3 elements, needs 4/);
  assert.throws(() => n.matmul(new Float32Array(1), new Float32Array(4), w.handle, 2), /matmul: out has 1 elements, needs at least 2/);
  ops.freeWeight(w);
  assert.throws(() => ops.freeWeight(w), /unknown weight handle/);
});

test('matmul3 (q/k/v in one call) equals three matmul calls bit for bit: every dtype, rows 1-5, threads 1 and 2, every ISA', () => {
  const rand = rng(99);
  const saved = ops.getNumThreads();
  const cols = 96;
  const shapes = [37, 9, 9];
  for (const dtype of [DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0] as const) {
    const ws = shapes.map((r) => ops.createWeight([weightBytes(r, cols, dtype, rand)], [r], cols, dtype));
    for (const rows of [1, 2, 4, 5]) {
      const x = randn(rows * cols, rand);
      perIsa((isa) => {
        for (const t of [1, 2]) {
          ops.setNumThreads(t);
          const sep = ws.map((w) => { const o = new Float32Array(rows * w.rows); ops.matmul(o, x, w, rows); return o; });
          const fused = ws.map((w) => new Float32Array(rows * w.rows));
          ops.matmul3(fused[0]!, fused[1]!, fused[2]!, x, ws[0]!, ws[1]!, ws[2]!, rows);
          for (let i = 0; i < 3; i++) assert.deepEqual(fused[i], sep[i], `${isa} ${ops.dtypeName(dtype)} rows ${rows} threads ${t} weight ${i}`);
        }
      });
    }
    ws.forEach((w) => ops.freeWeight(w));
  }
  ops.setNumThreads(saved);
  const w1 = ops.createWeight([new Uint8Array(4 * 64 * 4)], [4], 64, DType.F32), w2 = ops.createWeight([new Uint8Array(4 * 32 * 4)], [4], 32, DType.F32);
  assert.throws(() => ops.matmul3(new Float32Array(4), new Float32Array(4), new Float32Array(4), new Float32Array(64), w1, w2, w1, 1), /equal cols/);
  ops.freeWeight(w1);
  ops.freeWeight(w2);
});

test('matmul: outputs of every dtype (and bf16 dot) do not depend on the batch size (m 1 / 4 / 5 / 13), bit for bit, every ISA', () => {
  // Skipped: Q8_0 / Q4_0 on AVX-512 VNNI without their pre-packed panels (TSGL_REPACK=0), where
  // the m <= 4 GEMV and the m > 4 GEMM sum in different orders (each batch-independent within
  // its range).
  const rand = rng(17);
  const cases = [DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K].map((dtype) => ({ dtype, bf16Dot: false }));
  for (const { dtype, bf16Dot } of [...cases, { dtype: DType.BF16, bf16Dot: true }]) {
    const k = ops.blockSize(dtype) === 256 ? 512 : bf16Dot ? 160 : 96, n = 37, mMax = 13;
    const w = ops.createWeight([weightBytes(n, k, dtype, rand)], [n], k, dtype, { bf16Dot });
    const x = randn(mMax * k, rand);
    perIsa((isa) => {
      if ((dtype === DType.Q8_0 || dtype === DType.Q4_0) && isa === 'avx512' && ops.weightPackedBytes(w) === 0) return;
      const full = new Float32Array(mMax * n);
      ops.matmul(full, x, w, mMax);
      for (const m of [1, 4, 5]) {
        const part = new Float32Array(m * n);
        ops.matmul(part, x.subarray(0, m * k), w, m);
        assert.deepEqual(part, full.subarray(0, m * n), `${isa} ${ops.dtypeName(dtype)}${bf16Dot ? ' bf16Dot' : ''} m=${m} vs m=${mMax}`);
      }
    });
    ops.freeWeight(w);
  }
});

test('matmul m > 4 int8 GEMM (Q8_0/Q4_0): odd m, odd n, contiguous 16-row groups and part boundaries, threads 1 and 2, vs scalar', () => {
  const rand = rng(12);
  const saved = ops.getNumThreads();
  for (const dtype of [DType.Q8_0, DType.Q4_0]) {
    // n: 16-row groups fully inside a part (prefetching contiguous pack), straddling parts, padded tails
    for (const [m, parts, k] of [[5, [33], 96], [9, [40, 40], 576], [13, [16, 31], 160], [33, [70], 64], [64, [7, 50, 11], 288]] as [number, number[], number][]) {
      const n = parts.reduce((a, b) => a + b, 0);
      const bufs = parts.map((r) => weightBytes(r, k, dtype, rand));
      const whole = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
      let off = 0;
      for (const b of bufs) { whole.set(b, off); off += b.length; }
      const x = randn(m * k, rand);
      const { tol } = reference(x, m, whole, n, k, dtype);
      const wp = ops.createWeight(bufs, parts, k, dtype), w1 = ops.createWeight([whole], [n], k, dtype);
      const what = `${ops.dtypeName(dtype)} m=${m} parts=${parts.join('+')} k=${k}`;
      for (const threads of [1, 2]) {
        ops.setNumThreads(threads);
        const res = perIsa(() => {
          const a = new Float32Array(m * n), b = new Float32Array(m * n);
          ops.matmul(a, x, wp, m);
          ops.matmul(b, x, w1, m);
          assert.deepEqual(a, b, `${what} parts vs whole, ${threads} threads`);
          return a;
        });
        for (const [isa, out] of res) assertClose(out, res.get('scalar')!, { perElem: tol }, `${isa} vs scalar ${what} threads=${threads}`);
      }
      ops.freeWeight(wp);
      ops.freeWeight(w1);
    }
  }
  ops.setNumThreads(saved);
});

test('Q8 activation quantization is bit-identical on every ISA: unit-vector Q8_0 weights read back q * d_x * d_w exactly (wide rows, zero blocks, m 1-7)', () => {
  // Row j of the weight is 127 at column cols[j] (scale 1/127 in fp16), 0 elsewhere, so output
  // (i, j) is the single product qx[i, cols[j]] * d_x[block] * d_w: exact on every kernel. Any
  // difference in a quantized value, a block scale or a block sum (the wide GEMM's bias) shows.
  const rand = rng(17);
  const k = 33 * 32; // 2 groups of 16 blocks (the AVX-512 path) and a tail block
  const cols = [0, 1, 31, 32, 100, 255, 256, 511, 512, 513, 520, 530, 700, 1023, 1024, 1055];
  const n = cols.length;
  const wf = new Float32Array(n * k);
  cols.forEach((c, j) => { wf[j * k + c] = 1; });
  const wb = new Uint8Array(n * ops.rowBytes(DType.Q8_0, k));
  ops.quantizeRows(wb, wf, n, k, DType.Q8_0);
  const w = ops.createWeight([wb], [n], k, DType.Q8_0);
  for (const m of [1, 2, 5, 7]) {
    const x = randn(m * k, rand);
    for (let i = 0; i < m; i++) {
      x.fill(0, i * k + 32 * 3, i * k + 32 * 4); // an all-zero block (d = 0)
      x[i * k + 32 * 20 + 5] = 64 * (i + 1); // one block dominated by a single large value
      for (let t = 0; t < 31; t++) x[i * k + 32 * 16 + t] = t - 15.5; // d = 1: x / d lands on ties
      x[i * k + 32 * 16 + 31] = 127;
    }
    const res = perIsa(() => {
      const out = new Float32Array(m * n);
      ops.matmul(out, x, w, m);
      return out;
    });
    const scalar = res.get('scalar')!;
    assert.ok(scalar.some((v) => v !== 0), 'the probe reads non-zero values');
    for (const [isa, out] of res) assert.deepEqual(out, scalar, `${isa} vs scalar, m=${m}`);
  }
  ops.freeWeight(w);
});

test('int8 GEMM: pre-packed weights equal per-call packing (child with TSGL_REPACK=0) bit for bit', () => {
  const info = ops.cpuInfo();
  const canPack = ops.getIsa() === 'avx512' && info.features.includes('avx512_vnni') && process.env['TSGL_REPACK'] !== '0';
  const here = repackCases();
  if (canPack) assert.ok(here.packedBytes > 0, 'Q8_0 weights are pre-packed on AVX-512 VNNI');
  else assert.equal(here.packedBytes, 0);
  const script = fileURLToPath(new URL('./repack-cases.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, TSGL_REPACK: '0' }, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(child.status, 0, child.stderr);
  const res = JSON.parse(child.stdout) as { packedBytes: number; outs: string[] };
  assert.equal(res.packedBytes, 0, 'TSGL_REPACK=0 packs nothing');
  assert.equal(res.outs.length, here.outs.length);
  res.outs.forEach((b64, i) => {
    const buf = Buffer.from(b64, 'base64');
    const o = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    assert.deepEqual(o, here.outs[i], `case ${i}`);
  });
});

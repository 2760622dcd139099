/**
 * matmulGlu (the gate/up GEMM with the GLU applied in its epilogue) against matmul + gluMul of the
 * same rows registered without `glu`, bit for bit, on every ISA, for each dtype, both activations,
 * batch sizes around the GEMM's 6-row calls, and intermediate sizes with and without the fused
 * layout (d % 16 == 0). Where the fused kernel must run (pre-packed Q8_0 / Q4_0 on AVX-512 VNNI)
 * the gateUp scratch must stay untouched; elsewhere the unfused path writes it. A plain matmul of
 * a `glu` weight (whose panels may be interleaved) must equal the plain weight's, bit for bit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertEqualArrays, ops, perIsa, randn, rng, toDtype } from './helpers.js';

const { DType } = ops;
const DTYPES = [DType.F32, DType.BF16, DType.Q8_0, DType.Q4_0] as const;

function rows(n: number, cols: number, dtype: ops.DTypeId, rand: () => number): Uint8Array {
  const f = randn(n * cols, rand, 0.5);
  if (dtype === DType.Q8_0 || dtype === DType.Q4_0) {
    const b = new Uint8Array(n * ops.rowBytes(dtype, cols));
    ops.quantizeRows(b, f, n, cols, dtype);
    return b;
  }
  return toDtype(f, n, cols, dtype);
}

function fusedExpected(dtype: ops.DTypeId, d: number): boolean {
  const info = ops.cpuInfo();
  return ops.getIsa() === 'avx512' && info.features.includes('avx512_vnni') && process.env['TSGL_REPACK'] !== '0'
    && (dtype === DType.Q8_0 || dtype === DType.Q4_0) && d % 16 === 0;
}

test('matmulGlu equals matmul + gluMul bit for bit (every ISA, dtype, activation, batch size)', () => {
  const cols = 96;
  perIsa((isa) => {
    for (const dtype of DTYPES) {
      for (const d of [64, 40]) {
        const rand = rng(1000 + d + dtype);
        const gate = rows(d, cols, dtype, rand), up = rows(d, cols, dtype, rand);
        const plain = ops.createWeight([gate, up], [d, d], cols, dtype);
        const glu = ops.createWeight([gate, up], [d, d], cols, dtype, { glu: true });
        try {
          for (const m of [1, 3, 6, 7, 32, 70]) {
            const x = randn(m * cols, rand);
            for (const act of [ops.Act.SILU, ops.Act.GELU_TANH]) {
              const what = `${isa} ${ops.dtypeName(dtype)} d=${d} m=${m} act=${act}`;
              const gateUp = new Float32Array(m * 2 * d), want = new Float32Array(m * d);
              ops.matmul(gateUp, x, plain, m);
              ops.gluMul(want, gateUp, m, d, act);
              const scratch = new Float32Array(m * 2 * d).fill(Number.NaN), got = new Float32Array(m * d);
              ops.matmulGlu(got, scratch, x, glu, m, act);
              assertEqualArrays(got, want, what);
              if (fusedExpected(dtype, d)) assert.ok(scratch.every(Number.isNaN), `${what}: the fused kernel leaves gateUp untouched`);
              else assertEqualArrays(scratch, gateUp, `${what}: unfused gateUp`);
            }
            const viaGlu = new Float32Array(m * 2 * d), viaPlain = new Float32Array(m * 2 * d);
            ops.matmul(viaGlu, x, glu, m);
            ops.matmul(viaPlain, x, plain, m);
            assertEqualArrays(viaGlu, viaPlain, `${isa} ${ops.dtypeName(dtype)} d=${d} m=${m}: plain matmul of a glu weight`);
          }
        } finally {
          ops.freeWeight(plain);
          ops.freeWeight(glu);
        }
      }
    }
  });
});

test('matmulGlu rejects a weight registered without glu, and glu with odd rows', () => {
  const rand = rng(7);
  const w = ops.createWeight([toDtype(randn(4 * 32, rand), 4, 32, DType.F32)], [4], 32, DType.F32);
  try {
    assert.throws(() => ops.matmulGlu(new Float32Array(2), new Float32Array(4), new Float32Array(32), w, 1, ops.Act.SILU), /glu/);
  } finally {
    ops.freeWeight(w);
  }
  assert.throws(() => ops.createWeight([toDtype(randn(3 * 32, rand), 3, 32, DType.F32)], [3], 32, DType.F32, { glu: true }), /even/);
});

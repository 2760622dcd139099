/** System surface: cpuInfo, setIsa/getIsa, thread count, mapFile (contents, empty file, errors). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { setTimeout as sleep } from 'node:timers/promises';

import { ops, randn, rng } from './helpers.js';

test('cpuInfo and setIsa', () => {
  const info = ops.cpuInfo();
  assert.equal(info.supportedIsas[0], 'scalar');
  assert.equal(info.isa, info.supportedIsas[info.supportedIsas.length - 1]);
  assert.ok(info.physicalCores >= 1 && info.logicalCores >= info.physicalCores);
  const saved = ops.getIsa();
  for (const isa of info.supportedIsas) {
    ops.setIsa(isa);
    assert.equal(ops.getIsa(), isa);
  }
  ops.setIsa(saved);
  assert.throws(() => ops.setIsa('neon' as ops.IsaName), /unknown isa 'neon'/);
  if (!info.supportedIsas.includes('avx512')) assert.throws(() => ops.setIsa('avx512'), /not supported on this CPU/);
});

test('setNumThreads / getNumThreads', () => {
  const saved = ops.getNumThreads();
  for (const n of [1, 3, 2]) {
    ops.setNumThreads(n);
    assert.equal(ops.getNumThreads(), n);
  }
  assert.throws(() => ops.native().setNumThreads(0), /numThreads must be an integer in \[1, 1024\]/);
  ops.setNumThreads(saved);
});

test('thread pool: jobs back to back and after the workers went to sleep give the 1-thread result', async () => {
  const saved = ops.getNumThreads();
  const rand = rng(7);
  const rows = 67, cols = 96, m = 3;
  const w = ops.createWeight([new Uint8Array(randn(rows * cols, rand).buffer)], [rows], cols, ops.DType.F32);
  const x = randn(m * cols, rand);
  try {
    ops.setNumThreads(1);
    const ref = new Float32Array(m * rows);
    ops.matmul(ref, x, w, m);
    for (const n of [2, 3]) {
      ops.setNumThreads(n);
      const out = new Float32Array(m * rows);
      for (let i = 0; i < 40; i++) {
        if (i % 4 === 0) await sleep(i % 8 === 0 ? 2 : 0);  // past the spin window: workers sleep
        out.fill(0);
        ops.matmul(out, x, w, m);
        assert.deepEqual(out, ref);
      }
    }
  } finally {
    ops.freeWeight(w);
    ops.setNumThreads(saved);
  }
});

test('mapFile maps contents, handles empty files and names the path on errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgl-map-'));
  try {
    const p = join(dir, 'data.bin');
    writeFileSync(p, Buffer.from([1, 2, 3, 250]));
    assert.deepEqual([...new Uint8Array(ops.mapFile(p))], [1, 2, 3, 250]);
    const e = join(dir, 'empty.bin');
    writeFileSync(e, '');
    assert.equal(ops.mapFile(e).byteLength, 0);
    const missing = join(dir, 'missing.bin');
    assert.throws(() => ops.mapFile(missing), (err: NodeJS.ErrnoException) => {
      assert.match(err.message, new RegExp(`mapFile: cannot open '${missing}': No such file`));
      assert.equal(err.code, 'ENOENT');
      return true;
    });
    assert.throws(() => ops.mapFile(dir), /EISDIR|Is a directory/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvAllocator } from '../../../src/cache/kv-allocator.js';
import { ReqToTokenPool } from '../../../src/cache/req-to-token.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const pageSize of [1, 4, 16]) {
  test(`allocator conserves pages under random alloc/free (pageSize ${pageSize})`, () => {
    const a = new KvAllocator(64 * pageSize, pageSize);
    assert.equal(a.numPages, 64);
    assert.equal(a.slotCapacity, 65 * pageSize);
    assert.equal(a.availableSlots(), 64 * pageSize);
    const rand = rng(pageSize);
    const held: number[] = [];
    const out = new Int32Array(64);
    for (let it = 0; it < 2000; it++) {
      if (rand() < 0.5) {
        const n = 1 + Math.floor(rand() * 8);
        const ok = a.allocPages(n, out);
        assert.equal(ok, n <= a.availablePages() + (ok ? n : 0));
        if (ok) for (let i = 0; i < n; i++) {
          assert.ok(out[i]! >= 1 && out[i]! <= 64, 'page 0 is never handed out');
          assert.ok(!held.includes(out[i]!), 'no page handed out twice');
          held.push(out[i]!);
        }
      } else if (held.length > 0) {
        const idx = Math.floor(rand() * held.length);
        a.freePage(held[idx]!);
        held.splice(idx, 1);
      }
      assert.equal(a.availablePages() + held.length, 64);
    }
    assert.throws(() => {
      if (held.length === 0) {
        a.allocPages(1, out);
        held.push(out[0]!);
      }
      a.freePage(held[0]!);
      a.freePage(held[0]!);
    }, /double free/);
  });
}

test('allocExtend fills the partial last page first, positions congruent to slots', () => {
  const ps = 4;
  const a = new KvAllocator(32, ps);
  const row = new Int32Array(40);
  assert.ok(a.allocExtend(row, 0, 6)); // pages for positions 0..3 and 4..5
  assert.equal(a.availablePages(), 8 - 2);
  for (let p = 0; p < 6; p++) assert.equal(row[p]! % ps, p % ps);
  assert.equal(row[5], row[4]! + 1);
  assert.ok(a.allocExtend(row, 6, 7)); // same page
  assert.equal(row[6], row[5]! + 1);
  assert.equal(a.availablePages(), 6);
  assert.ok(a.allocExtend(row, 7, 9)); // 7 same page, 8 new page
  assert.equal(a.availablePages(), 5);
  assert.equal(row[8]! % ps, 0);
  assert.equal(a.pagesForExtend(9, 30), Math.ceil(30 / 4) - Math.ceil(9 / 4));
  assert.equal(a.allocExtend(row, 9, 40), false, 'too big: nothing taken');
  assert.equal(a.availablePages(), 5);
  a.freeSlots(row, 0, 9);
  assert.equal(a.availablePages(), 8);
});

test('freed pages merge lazily and sorted', () => {
  const a = new KvAllocator(4, 1);
  const out = new Int32Array(4);
  assert.ok(a.allocPages(4, out));
  assert.deepEqual([...out], [1, 2, 3, 4]);
  a.freePage(3);
  a.freePage(1);
  assert.equal(a.availableSlots(), 2);
  assert.ok(a.allocPages(2, out));
  assert.deepEqual([...out.subarray(0, 2)], [1, 3]);
  a.clear();
  assert.equal(a.availableSlots(), 4);
});

test('req-to-token rows: alloc from the front, free to the back, double free throws', () => {
  const t = new ReqToTokenPool(3, 8);
  assert.equal(t.alloc(), 0);
  assert.equal(t.alloc(), 1);
  t.free(0);
  assert.equal(t.alloc(), 2);
  assert.equal(t.alloc(), 0);
  assert.equal(t.alloc(), -1);
  t.row(1)[7] = 42;
  assert.equal(t.table[1 * 8 + 7], 42);
  t.free(1);
  assert.throws(() => t.free(1));
  assert.equal(t.numFree(), 1);
});

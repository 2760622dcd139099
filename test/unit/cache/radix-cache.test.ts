import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkCache } from '../../../src/cache/chunk-cache.js';
import { KvAllocator } from '../../../src/cache/kv-allocator.js';
import { checkLeaks } from '../../../src/cache/leak-check.js';
import type { CacheableReq } from '../../../src/cache/prefix-cache.js';
import { RadixCache, type RadixNode } from '../../../src/cache/radix-cache.js';
import { ReqToTokenPool } from '../../../src/cache/req-to-token.js';

function setup(pageSize: number, numSlots = 256) {
  const allocator = new KvAllocator(numSlots, pageSize);
  const table = new ReqToTokenPool(8, 128);
  const cache = new RadixCache({ pageSize, allocator, reqToToken: table });
  /** A request that computed `ids` (KV for all of them) in a fresh row, prefix from a match. */
  const compute = (ids: number[]): CacheableReq => {
    const m = cache.matchPrefix(ids);
    const req: CacheableReq = { originInputIds: ids, outputIds: [], reqPoolIdx: table.alloc(), prefixLen: m.indices.length, kvLen: 0, lastNode: m.lastNode };
    cache.incLockRef(m.lastNode);
    const row = table.row(req.reqPoolIdx);
    row.set(m.indices);
    assert.ok(allocator.allocExtend(row, req.prefixLen, ids.length));
    req.kvLen = ids.length;
    return req;
  };
  const leaks = (live: CacheableReq[] = []) => checkLeaks(allocator, cache, table, live);
  return { allocator, table, cache, compute, leaks };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

const bareTree = () => new RadixCache({ pageSize: 1, allocator: null, reqToToken: null });

test('match / insert / split (pageSize 1)', () => {
  const cache = bareTree();
  const v = (ids: number[]) => Int32Array.from(ids, (x) => 100 + x);
  assert.equal(cache.insert([1, 2, 3, 4], v([1, 2, 3, 4])), 0);
  assert.equal(cache.insert([1, 2, 3, 4], v([1, 2, 3, 4])), 4, 'insert returns the already-present length');
  assert.equal(cache.insert([1, 2, 5], v([1, 2, 5])), 2);
  assert.equal(cache.evictableSize(), 5);
  const m = cache.matchPrefix([1, 2, 3, 9]);
  assert.deepEqual([...m.indices], [101, 102, 103]);
  // [1,2] | [3,4] was split by the match into [1,2] [3] [4]
  const root = cache.root;
  const n12 = root.children.get(1)!;
  assert.deepEqual([...n12.key], [1, 2]);
  const n3 = n12.children.get(3)!;
  assert.deepEqual([...n3.key], [3]);
  assert.equal(m.lastNode, n3);
  assert.deepEqual([...n3.children.get(4)!.key], [4]);
  assert.equal(cache.totalSize(), 5);
  assert.equal(cache.matchPrefix([]).lastNode, root);
  assert.equal(cache.matchPrefix([7]).indices.length, 0);
});

test('lock refs protect up to the root and block eviction; LRU leaf order', () => {
  const cache = bareTree();
  const val = (n: number) => new Int32Array(n);
  cache.insert([1, 2, 3], val(3)); // A
  cache.insert([1, 2, 4, 4], val(4)); // splits: [1,2] -> [3], [4,4]
  cache.insert([7, 7], val(2)); // B
  cache.matchPrefix([1, 2, 3]); // touch [3] after [4,4]
  const m = cache.matchPrefix([7, 7]);
  assert.equal(cache.incLockRef(m.lastNode), -2);
  assert.equal(cache.protectedSize(), 2);
  assert.equal(cache.evictableSize(), 5);
  // LRU: [4,4] is the oldest unlocked leaf, then [3], then [1,2]; [7,7] is locked.
  // Without an allocator the values are dummies; evict counts tokens.
  assert.equal(cache.evict(1), 2);
  assert.equal(cache.matchPrefix([1, 2, 4, 4]).indices.length, 2);
  assert.equal(cache.matchPrefix([1, 2, 3]).indices.length, 3);
  assert.equal(cache.evict(100), 3, 'everything unlocked goes, the locked leaf stays');
  assert.equal(cache.matchPrefix([7, 7]).indices.length, 2);
  assert.equal(cache.decLockRef(m.lastNode), 2);
  assert.equal(cache.evictableSize(), 2);
  assert.equal(cache.evict(2), 2);
  assert.equal(cache.evictableSize() + cache.protectedSize(), 0);
  assert.throws(() => cache.decLockRef(m.lastNode));
});

test('splitting a locked node keeps both halves locked', () => {
  const cache = bareTree();
  cache.insert([1, 2, 3, 4], new Int32Array(4));
  const m = cache.matchPrefix([1, 2, 3, 4]);
  cache.incLockRef(m.lastNode);
  cache.matchPrefix([1, 2, 9]); // splits the locked node
  assert.equal(cache.protectedSize(), 4);
  assert.equal(cache.evict(10), 0);
  cache.decLockRef(m.lastNode);
  assert.equal(cache.evictableSize(), 4);
  assert.equal(cache.protectedSize(), 0);
});

for (const ps of [1, 4, 16]) {
  test(`page-aligned keys and request caching conserve memory (pageSize ${ps})`, () => {
    const { cache, allocator, compute, leaks, table } = setup(ps, 64 * 16);
    const a = compute(range(0, 37));
    assert.equal(a.prefixLen, 0);
    assert.equal(leaks([a]), null);
    cache.cacheFinishedReq(a); // caches floor(37/ps)*ps tokens, frees the tail
    const aligned = Math.floor(37 / ps) * ps;
    assert.equal(cache.evictableSize(), aligned);
    assert.equal(leaks(), null);
    const b = compute(range(0, 50));
    assert.equal(b.prefixLen, aligned);
    assert.equal(b.prefixLen % ps, 0);
    assert.equal(cache.protectedSize(), aligned);
    // a partial-page key matches only whole pages
    assert.equal(cache.matchPrefix(range(0, ps + ps - 1)).indices.length, ps === 1 ? 2 * ps - 1 : ps);
    assert.equal(leaks([b]), null);
    // unfinished caching rewrites b's row to the tree's slots and moves the lock
    cache.cacheUnfinishedReq(b);
    assert.equal(b.prefixLen, 50);
    assert.equal(cache.evictableSize() + cache.protectedSize(), Math.floor(50 / ps) * ps);
    assert.equal(leaks([b]), null);
    // a duplicate computed independently: its duplicate slots are freed on finish
    const c: CacheableReq = { originInputIds: range(0, 50), outputIds: [], reqPoolIdx: table.alloc(), prefixLen: 0, kvLen: 0, lastNode: null };
    assert.ok(allocator.allocExtend(table.row(c.reqPoolIdx), 0, 50));
    c.kvLen = 50;
    assert.equal(leaks([b, c]), null);
    const before = allocator.availableSlots();
    cache.cacheFinishedReq(c);
    assert.equal(allocator.availableSlots() - before, Math.ceil(50 / ps) * ps, 'all of c was a duplicate or tail');
    cache.cacheFinishedReq(b);
    assert.equal(cache.protectedSize(), 0);
    assert.equal(leaks(), null);
    assert.equal(cache.evict(1 << 20), Math.floor(50 / ps) * ps);
    assert.equal(allocator.availableSlots(), allocator.numSlots);
  });
}

test('retracted request frees its own KV from the aligned prefix', () => {
  const { cache, compute, leaks, allocator } = setup(4);
  const a = compute(range(0, 20));
  cache.cacheFinishedReq(a);
  const b = compute(range(0, 30));
  assert.equal(b.prefixLen, 20);
  cache.freeRetractedReq(b);
  assert.equal(b.reqPoolIdx, -1);
  assert.equal(leaks(), null);
  assert.equal(allocator.availableSlots() + cache.evictableSize(), allocator.numSlots);
});

test('leak check reports an unaccounted page', () => {
  const { compute, leaks } = setup(1);
  const a = compute(range(0, 5));
  assert.equal(leaks([a]), null);
  assert.match(leaks([])!, /leak/);
});

test('chunk cache: no sharing, frees everything', () => {
  const allocator = new KvAllocator(64, 4);
  const table = new ReqToTokenPool(4, 64);
  const cache = new ChunkCache(allocator, table);
  const req: CacheableReq = { originInputIds: range(0, 10), outputIds: [1], reqPoolIdx: table.alloc(), prefixLen: 0, kvLen: 0, lastNode: null };
  assert.ok(allocator.allocExtend(table.row(req.reqPoolIdx), 0, 10));
  req.kvLen = 10;
  cache.cacheUnfinishedReq(req);
  assert.equal(req.prefixLen, 10);
  assert.equal(cache.matchPrefix(range(0, 10)).indices.length, 0);
  assert.equal(checkLeaks(allocator, cache, table, [req]), null);
  cache.cacheFinishedReq(req);
  assert.equal(allocator.availableSlots(), 64);
  assert.equal(table.numFree(), 4);
  assert.equal((cache.root as RadixNode | { id: number }).id, 0);
});

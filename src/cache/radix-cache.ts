/**
 * SGLang's RadixCache (`mem_cache/radix_cache.py`): a radix tree from token-id sequences to KV slots,
 * with lock refs and LRU leaf eviction. Invariants are those of `PrefixCache` (prefix-cache.ts), plus:
 * - children are keyed by the first token (pageSize 1) or by the first page of tokens (pageSize > 1);
 * - a node's key and value have the same length (a multiple of pageSize); the root has an empty key
 *   and lockRef 1, so it is never evicted;
 * - `lastAccessTime` is a monotonic counter (deterministic LRU), touched along every matched path.
 *
 * With no allocator (`allocator: null`) it is a plain token trie with dummy values, which the
 * in-batch prefix check of the cache-aware policies uses.
 */
import type { KvAllocator } from './kv-allocator.js';
import type { CacheNode, CacheableReq, MatchResult, PrefixCache } from './prefix-cache.js';
import { reqTokenIds } from './prefix-cache.js';
import type { ReqToTokenPool } from './req-to-token.js';
import { Heap } from '../util/heap.js';

type ChildKey = number | string;

export class RadixNode implements CacheNode {
  readonly id: number;
  readonly children = new Map<ChildKey, RadixNode>();
  parent: RadixNode | null = null;
  key: Int32Array; // [len]
  value: Int32Array; // [len] KV slots
  lockRef = 0;
  lastAccessTime = 0;
  hitCount = 0;

  constructor(id: number, key: Int32Array, value: Int32Array) {
    this.id = id;
    this.key = key;
    this.value = value;
  }
}

export interface RadixCacheOptions {
  pageSize: number;
  allocator: KvAllocator | null;
  reqToToken: ReqToTokenPool | null;
}

const EMPTY = new Int32Array(0);

export class RadixCache implements PrefixCache {
  readonly pageSize: number;
  readonly sharesPrefixes = true;
  private readonly allocator: KvAllocator | null;
  private readonly reqToToken: ReqToTokenPool | null;
  private nextId = 0;
  private clock = 0;
  private evictable = 0;
  private protectedTokens = 0;
  root!: RadixNode;

  constructor(opts: RadixCacheOptions) {
    this.pageSize = opts.pageSize;
    this.allocator = opts.allocator;
    this.reqToToken = opts.reqToToken;
    this.reset();
  }

  reset(): void {
    this.root = new RadixNode(this.nextId++, EMPTY, EMPTY);
    this.root.lockRef = 1;
    this.evictable = 0;
    this.protectedTokens = 0;
  }

  evictableSize(): number {
    return this.evictable;
  }

  protectedSize(): number {
    return this.protectedTokens;
  }

  matchPrefix(key: ArrayLike<number>, keyLen = key.length): MatchResult {
    const len = this.alignDown(keyLen);
    const values: Int32Array[] = [];
    let node = this.root;
    node.lastAccessTime = ++this.clock;
    let off = 0;
    while (off < len) {
      const child = node.children.get(this.childKey(key, off));
      if (child === undefined) break;
      child.lastAccessTime = ++this.clock;
      const prefixLen = this.keyMatch(child.key, key, off, len);
      if (prefixLen < child.key.length) {
        const split = this.splitNode(child, prefixLen);
        values.push(split.value);
        node = split;
        break;
      }
      values.push(child.value);
      node = child;
      off += prefixLen;
    }
    return { indices: concat(values), lastNode: node };
  }

  insert(key: ArrayLike<number>, value: Int32Array, keyLen = key.length): number {
    const len = this.alignDown(keyLen);
    let node = this.root;
    node.lastAccessTime = ++this.clock;
    let off = 0;
    while (off < len) {
      const child = node.children.get(this.childKey(key, off));
      if (child === undefined) break;
      child.lastAccessTime = ++this.clock;
      const prefixLen = this.keyMatch(child.key, key, off, len);
      off += prefixLen;
      node = prefixLen < child.key.length ? this.splitNode(child, prefixLen) : child;
    }
    const totalPrefixLen = off;
    if (off < len) {
      const leaf = new RadixNode(this.nextId++, Int32Array.from({ length: len - off }, (_, i) => key[off + i]!), value.slice(off, len));
      leaf.parent = node;
      leaf.lastAccessTime = ++this.clock;
      node.children.set(this.childKey(leaf.key, 0), leaf);
      this.evictable += len - off;
    }
    return totalPrefixLen;
  }

  cacheFinishedReq(req: CacheableReq): void {
    if (req.reqPoolIdx < 0) return;
    const { allocator, reqToToken } = this.pools();
    const row = reqToToken.row(req.reqPoolIdx);
    //   | [0, prefixLen) cached | [prefixLen, alignedLen) own, inserted now | [alignedLen, kvLen) partial page: freed |
    const kvLen = req.kvLen;
    const alignedLen = this.alignDown(kvLen);
    if (alignedLen < kvLen) allocator.freeSlots(row, alignedLen, kvLen);
    const newPrefixLen = this.insert(reqTokenIds(req, alignedLen), row, alignedLen);
    if (newPrefixLen > req.prefixLen) allocator.freeSlots(row, req.prefixLen, newPrefixLen);
    this.releaseRow(req);
  }

  cacheUnfinishedReq(req: CacheableReq): void {
    const { allocator, reqToToken } = this.pools();
    const row = reqToToken.row(req.reqPoolIdx);
    //   | [0, alignedLen): inserted, row rewritten with the tree's slots | [alignedLen, kvLen): own partial page |
    const kvLen = req.kvLen;
    const alignedLen = this.alignDown(kvLen);
    const ids = reqTokenIds(req, alignedLen);
    const newPrefixLen = this.insert(ids, row, alignedLen);
    if (newPrefixLen > req.prefixLen) allocator.freeSlots(row, req.prefixLen, newPrefixLen);
    const match = this.matchPrefix(ids, alignedLen);
    if (match.indices.length !== alignedLen) throw new Error(`cacheUnfinishedReq: re-match ${match.indices.length} != ${alignedLen}`);
    const from = this.alignDown(Math.min(req.prefixLen, alignedLen));
    row.set(match.indices.subarray(from), from);
    this.decLockRef(req.lastNode);
    this.incLockRef(match.lastNode);
    req.lastNode = match.lastNode;
    req.prefixLen = kvLen;
  }

  freeRetractedReq(req: CacheableReq): void {
    const { allocator, reqToToken } = this.pools();
    const row = reqToToken.row(req.reqPoolIdx);
    //   | [0, alignDown(prefixLen)) tree, kept | [alignDown(prefixLen), kvLen) own: freed |
    allocator.freeSlots(row, this.alignDown(req.prefixLen), req.kvLen);
    this.releaseRow(req);
  }

  /** Frees the request's table row and its lock on the tree; it then holds nothing. */
  private releaseRow(req: CacheableReq): void {
    this.pools().reqToToken.free(req.reqPoolIdx);
    this.decLockRef(req.lastNode);
    req.reqPoolIdx = -1;
    req.lastNode = null;
    req.prefixLen = 0;
    req.kvLen = 0;
  }

  evict(numTokens: number): number {
    const heap = new Heap<RadixNode>(less);
    const stack: RadixNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.children.size === 0) heap.push(node);
      else for (const c of node.children.values()) stack.push(c);
    }
    let numEvicted = 0;
    while (numEvicted < numTokens && heap.size > 0) {
      const x = heap.pop()!;
      if (x === this.root) break;
      if (x.lockRef > 0) continue;
      if (this.allocator !== null) this.allocator.freeSlots(x.value, 0, x.value.length);
      numEvicted += x.value.length;
      this.deleteLeaf(x);
      if (x.parent!.children.size === 0) heap.push(x.parent!);
    }
    return numEvicted;
  }

  incLockRef(handle: CacheNode | null): number {
    let delta = 0;
    let node = handle as RadixNode | null;
    while (node !== null && node !== this.root) {
      if (node.lockRef === 0) {
        this.evictable -= node.value.length;
        this.protectedTokens += node.value.length;
        delta -= node.value.length;
      }
      node.lockRef++;
      node = node.parent;
    }
    return delta;
  }

  decLockRef(handle: CacheNode | null): number {
    let delta = 0;
    let node = handle as RadixNode | null;
    while (node !== null && node !== this.root) {
      if (node.lockRef === 1) {
        this.evictable += node.value.length;
        this.protectedTokens -= node.value.length;
        delta += node.value.length;
      }
      if (node.lockRef <= 0) throw new Error(`decLockRef: node ${node.id} is not locked`);
      node.lockRef--;
      node = node.parent;
    }
    return delta;
  }

  visitValues(fn: (value: Int32Array) => void): void {
    const stack: RadixNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node !== this.root) fn(node.value);
      for (const c of node.children.values()) stack.push(c);
    }
  }

  /** Total cached tokens (sum of node value lengths). */
  totalSize(): number {
    let n = 0;
    this.visitValues((v) => (n += v.length));
    return n;
  }

  private pools(): { allocator: KvAllocator; reqToToken: ReqToTokenPool } {
    if (this.allocator === null || this.reqToToken === null) throw new Error('RadixCache: no KV pools attached');
    return { allocator: this.allocator, reqToToken: this.reqToToken };
  }

  private alignDown(len: number): number {
    return len - (len % this.pageSize);
  }

  private childKey(key: ArrayLike<number>, off: number): ChildKey {
    if (this.pageSize === 1) return key[off]!;
    let s = '';
    for (let i = 0; i < this.pageSize; i++) s += `${key[off + i]},`;
    return s;
  }

  /** Tokens of nodeKey matching key[off..len), in whole pages. */
  private keyMatch(nodeKey: Int32Array, key: ArrayLike<number>, off: number, len: number): number {
    const max = Math.min(nodeKey.length, len - off);
    let i = 0;
    while (i < max && nodeKey[i] === key[off + i]) i++;
    return this.alignDown(i);
  }

  /** child's key [0, splitLen) moves to a new parent; both keep child's lockRef. */
  private splitNode(child: RadixNode, splitLen: number): RadixNode {
    const parent = child.parent!;
    const mid = new RadixNode(this.nextId++, child.key.subarray(0, splitLen), child.value.subarray(0, splitLen));
    mid.parent = parent;
    mid.lockRef = child.lockRef;
    mid.lastAccessTime = ++this.clock;
    child.key = child.key.subarray(splitLen);
    child.value = child.value.subarray(splitLen);
    child.parent = mid;
    mid.children.set(this.childKey(child.key, 0), child);
    parent.children.set(this.childKey(mid.key, 0), mid);
    return mid;
  }

  private deleteLeaf(node: RadixNode): void {
    node.parent!.children.delete(this.childKey(node.key, 0));
    this.evictable -= node.key.length;
  }
}

function concat(parts: Int32Array[]): Int32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int32Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** LRU order as Python's heapq over TreeNode.__lt__: lastAccessTime, ties by id. */
function less(a: RadixNode, b: RadixNode): boolean {
  return a.lastAccessTime < b.lastAccessTime || (a.lastAccessTime === b.lastAccessTime && a.id < b.id);
}

/**
 * The prefix cache interface (SGLang `BasePrefixCache`), implemented by `RadixCache` (sharing) and
 * `ChunkCache` (no sharing, `--disable-radix-cache`).
 *
 * Ownership of KV pages — every usable page is in exactly one of:
 *   | free (allocator) | cached: evictable (lockRef 0) | cached: protected (lockRef > 0) | owned by one request |
 * and `checkLeaks` verifies that the four add up to the pool.
 *
 * Invariants:
 * - Keys are token ids, values KV slots of the same length; a node's value is owned by the cache.
 *   With pageSize > 1 every key and value length is a multiple of pageSize (whole pages only).
 * - `matchPrefix` never locks. A request that will use a matched prefix must `incLockRef(lastNode)`
 *   before anything can evict, and `decLockRef` exactly once when it lets go (finish/retract/abort).
 * - Locks count up to the root: a locked node's ancestors are locked too, so only leaves with
 *   lockRef 0 are evicted, least recently used first.
 * - `evictableSize() + protectedSize()` = tokens held by the cache.
 * - `insert` returns the length of the prefix that was already present; the caller owns the
 *   duplicate slots `[its own cached prefix, returned length)` and must free them.
 * - A request's row, for positions [0, kvLen):
 *     | [0, prefixLen): cached prefix (tree pages, + own partial page when paged) | [prefixLen, kvLen): own |
 */

/** An opaque tree node handle (the root when nothing matched). */
export interface CacheNode {
  readonly id: number;
}

export interface MatchResult {
  /** KV slots of the matched prefix: [matched length]. A fresh array. */
  indices: Int32Array;
  lastNode: CacheNode;
}

/** What the cache reads and writes on a request (the scheduler's `Req` satisfies it). */
export interface CacheableReq {
  readonly originInputIds: readonly number[];
  readonly outputIds: readonly number[];
  /** Row in the req-to-token table, -1 when none is held. */
  reqPoolIdx: number;
  /** Positions [0, prefixLen) are the cached prefix (see the table above). */
  prefixLen: number;
  /** Positions [0, kvLen) have KV slots in the row. */
  kvLen: number;
  /** The node the request holds a lock on (null when none). */
  lastNode: CacheNode | null;
}

export interface PrefixCache {
  readonly pageSize: number;
  /** False for ChunkCache: nothing is shared, matches are always empty (SGLang `disable`). */
  readonly sharesPrefixes: boolean;
  /** The root node (what an empty match returns). */
  readonly root: CacheNode;

  /** Longest cached prefix of key[0..keyLen), page-aligned. Splits a node matched partway. */
  matchPrefix(key: ArrayLike<number>, keyLen?: number): MatchResult;
  /** Inserts key[0..len) → value[0..len); returns the length that was already cached. */
  insert(key: ArrayLike<number>, value: Int32Array, len?: number): number;
  /** Caches tokens [0, kvLen) of a finished request, frees duplicates and its tail, its row, its lock. */
  cacheFinishedReq(req: CacheableReq): void;
  /** Caches tokens [0, kvLen) of a running request, rewrites its row, moves its lock; prefixLen = kvLen. */
  cacheUnfinishedReq(req: CacheableReq): void;
  /** Releases a retracted request: frees its own KV and row, drops its lock. */
  freeRetractedReq(req: CacheableReq): void;
  /** Evicts unlocked leaves (LRU) until `numTokens` are freed or nothing is evictable; returns tokens freed. */
  evict(numTokens: number): number;
  /** Locks node..root; returns the change of evictableSize (<= 0). */
  incLockRef(node: CacheNode | null): number;
  /** Unlocks node..root; returns the change of evictableSize (>= 0). */
  decLockRef(node: CacheNode | null): number;
  evictableSize(): number;
  protectedSize(): number;
  /** Calls `fn` with every node value (cached KV slots), for leak checks. */
  visitValues(fn: (value: Int32Array) => void): void;
  /** Drops everything (flush_cache); the allocator and table are cleared by the caller. */
  reset(): void;
}

/** The token ids of positions [0, len) of a request: input ids then output ids. */
export function reqTokenIds(req: CacheableReq, len: number): number[] {
  const originLen = req.originInputIds.length;
  if (len <= originLen) return req.originInputIds.slice(0, len);
  return req.originInputIds.concat(req.outputIds.slice(0, len - originLen));
}

/**
 * ChunkCache (SGLang `mem_cache/chunk_cache.py`): the prefix cache of `--disable-radix-cache`.
 * Nothing is shared: matches are empty, a request owns every slot of its row, and finishing or
 * retracting frees all of it. Chunked prefill still works: `cacheUnfinishedReq` only records that
 * positions [0, kvLen) are computed (prefixLen = kvLen).
 */
import type { KvAllocator } from './kv-allocator.js';
import type { CacheNode, CacheableReq, MatchResult, PrefixCache } from './prefix-cache.js';
import type { ReqToTokenPool } from './req-to-token.js';

const ROOT: CacheNode = Object.freeze({ id: 0 });

export class ChunkCache implements PrefixCache {
  readonly pageSize: number;
  readonly sharesPrefixes = false;
  readonly root: CacheNode = ROOT;

  constructor(
    private readonly allocator: KvAllocator,
    private readonly reqToToken: ReqToTokenPool,
  ) {
    this.pageSize = allocator.pageSize;
  }

  matchPrefix(_key?: ArrayLike<number>, _keyLen?: number): MatchResult {
    return { indices: new Int32Array(0), lastNode: ROOT };
  }

  insert(): number {
    return 0;
  }

  cacheFinishedReq(req: CacheableReq): void {
    if (req.reqPoolIdx < 0) return;
    this.release(req);
  }

  cacheUnfinishedReq(req: CacheableReq): void {
    req.prefixLen = req.kvLen;
  }

  freeRetractedReq(req: CacheableReq): void {
    this.release(req);
  }

  evict(): number {
    return 0;
  }

  incLockRef(): number {
    return 0;
  }

  decLockRef(): number {
    return 0;
  }

  evictableSize(): number {
    return 0;
  }

  protectedSize(): number {
    return 0;
  }

  visitValues(): void {}

  reset(): void {}

  /** Frees row positions [0, kvLen) and the row. */
  private release(req: CacheableReq): void {
    this.allocator.freeSlots(this.reqToToken.row(req.reqPoolIdx), 0, req.kvLen);
    this.reqToToken.free(req.reqPoolIdx);
    req.reqPoolIdx = -1;
    req.lastNode = null;
    req.prefixLen = 0;
    req.kvLen = 0;
  }
}

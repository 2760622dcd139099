/**
 * Decode memory check and retraction (SGLang `ScheduleBatch.check_decode_mem` / `retract_decode`).
 *
 * A decode step gives every running request one new KV slot at position kvLen; it needs a new page
 * only when kvLen % pageSize == 0. When the pool (after evicting the prefix cache) is short:
 *   1. sort requests by (outputLen, -inputLen) descending (stable);
 *   2. pop the last (fewest outputs, longest input on ties), free its own KV and row, drop its lock,
 *      reset it; repeat until available >= RETRACT_DECODE_STEPS * remaining, always at least one,
 *      never the last one (then at least one free page is required);
 *   3. the survivors keep the sorted order; newTokenRatio = min(1, (Σ outputLen + 20 * bs) / Σ maxNew).
 */
import type { KvAllocator } from '../cache/kv-allocator.js';
import type { PrefixCache } from '../cache/prefix-cache.js';
import type { Req } from './req.js';

export const RETRACT_DECODE_STEPS = 20;

/** Pages the next decode step of `reqs` needs (SGLang `new_page_count_next_decode`, no overlap). */
export function newPagesNextDecode(reqs: readonly Req[], pageSize: number): number {
  if (pageSize === 1) return reqs.length;
  let n = 0;
  for (const r of reqs) if (r.kvLen % pageSize === 0) n++;
  return n;
}

/** Evicts from the cache when the pool has fewer than `numTokens` free slots. */
export function evictIfNeeded(allocator: KvAllocator, cache: PrefixCache, numTokens: number): void {
  if (cache.sharesPrefixes && allocator.availableSlots() < numTokens) cache.evict(numTokens);
}

export function checkDecodeMem(reqs: readonly Req[], allocator: KvAllocator, cache: PrefixCache): boolean {
  const numTokens = newPagesNextDecode(reqs, allocator.pageSize) * allocator.pageSize;
  evictIfNeeded(allocator, cache, numTokens);
  return allocator.availableSlots() >= numTokens;
}

export interface RetractResult {
  /** Survivors, in SGLang's sorted order. */
  kept: Req[];
  retracted: Req[];
  newTokenRatio: number;
}

export function retractDecode(reqs: readonly Req[], allocator: KvAllocator, cache: PrefixCache): RetractResult {
  const sorted = reqs.slice();
  sorted.sort((a, b) => b.outputIds.length - a.outputIds.length || a.originInputIds.length - b.originInputIds.length);
  const retracted: Req[] = [];
  let firstIter = true;
  while (firstIter || allocator.availableSlots() < sorted.length * RETRACT_DECODE_STEPS) {
    if (sorted.length === 1) {
      if (allocator.availableSlots() <= 0) throw new Error('No space left for only one request');
      break;
    }
    firstIter = false;
    const req = sorted.pop()!;
    retracted.push(req);
    cache.freeRetractedReq(req);
    evictIfNeeded(allocator, cache, sorted.length * RETRACT_DECODE_STEPS);
    req.resetForRetract();
  }
  if (retracted.length === 0) throw new Error('Failed to retract any request. No space left for only one request.');
  let decoded = 0;
  let maxNew = 0;
  for (const r of sorted) {
    decoded += r.outputIds.length;
    maxNew += r.maxNewTokens;
  }
  const newTokenRatio = Math.min(1, (decoded + RETRACT_DECODE_STEPS * sorted.length) / maxNew);
  return { kept: sorted, retracted, newTokenRatio };
}

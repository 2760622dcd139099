/**
 * Conservation check over the KV pool and the req-to-token table (SGLang `check_memory`, made
 * stronger: it accounts for every page, not only the totals).
 *
 *   free pages + pages cached by the tree (evictable + protected) + pages owned by live requests == numPages
 *   free rows + rows held by live requests == maxNumReqs
 *
 * Also checked: no page is both free and in use, no page sits in two tree nodes, no own page is
 * shared by two requests, and the cache's evictable + protected equals the tokens in its nodes.
 */
import type { KvAllocator } from './kv-allocator.js';
import type { CacheableReq, PrefixCache } from './prefix-cache.js';
import type { ReqToTokenPool } from './req-to-token.js';

const FREE = -1;
const TREE = -2;

/** null when everything adds up; otherwise a description of the first problems found. */
export function checkLeaks(
  allocator: KvAllocator,
  cache: PrefixCache,
  reqToToken: ReqToTokenPool,
  liveReqs: Iterable<CacheableReq>,
): string | null {
  const ps = allocator.pageSize;
  const owner = new Int32Array(allocator.numPages + 1); // [numPages + 1] 0 = unaccounted
  const errors: string[] = [];
  let numFree = 0;
  allocator.forEachFreePage((page) => {
    if (owner[page] !== 0) errors.push(`page ${page} is free twice`);
    owner[page] = FREE;
    numFree++;
  });
  let cachedTokens = 0;
  let numTreePages = 0;
  cache.visitValues((value) => {
    cachedTokens += value.length;
    for (let i = 0; i < value.length; i++) {
      const page = Math.floor(value[i]! / ps);
      if (owner[page] === TREE && i % ps !== 0) continue;
      if (owner[page] === FREE) errors.push(`cached page ${page} is free`);
      else if (owner[page] === TREE) errors.push(`page ${page} is in two tree nodes`);
      owner[page] = TREE;
      numTreePages++;
    }
  });
  const expectCached = cache.evictableSize() + cache.protectedSize();
  if (cachedTokens !== expectCached) errors.push(`cache holds ${cachedTokens} tokens but evictable + protected = ${expectCached}`);
  let numRowsHeld = 0;
  let numReqPages = 0;
  for (const req of liveReqs) {
    if (req.reqPoolIdx < 0) continue;
    numRowsHeld++;
    const row = reqToToken.row(req.reqPoolIdx);
    const tag = req.reqPoolIdx + 1;
    for (let pos = 0; pos < req.kvLen; pos++) {
      const page = Math.floor(row[pos]! / ps);
      const o = owner[page]!;
      if (o === TREE || o === tag) continue;
      if (o === FREE) errors.push(`row ${req.reqPoolIdx} pos ${pos} uses free page ${page}`);
      else if (o > 0) errors.push(`page ${page} is owned by rows ${o - 1} and ${req.reqPoolIdx}`);
      else if (page === 0) errors.push(`row ${req.reqPoolIdx} pos ${pos} uses the padding page`);
      else {
        owner[page] = tag;
        numReqPages++;
      }
    }
  }
  const accounted = numFree + numTreePages + numReqPages;
  if (accounted !== allocator.numPages) {
    errors.push(`leak: free ${numFree} + cached ${numTreePages} + used ${numReqPages} pages = ${accounted} != total ${allocator.numPages}`);
  }
  if (reqToToken.numFree() + numRowsHeld !== reqToToken.maxNumReqs) {
    errors.push(`req_to_token leak: free rows ${reqToToken.numFree()} + held ${numRowsHeld} != ${reqToToken.maxNumReqs}`);
  }
  return errors.length === 0 ? null : errors.slice(0, 8).join('; ');
}

/**
 * Schedule policies (SGLang `managers/schedule_policy.py`): order the waiting queue before each
 * prefill round.
 *
 * | policy     | kind           | order                                                                 |
 * |------------|----------------|-----------------------------------------------------------------------|
 * | fcfs       | cache-agnostic | arrival (no reordering)                                               |
 * | lof        | cache-agnostic | longest max_new_tokens first (stable)                                 |
 * | random     | cache-agnostic | shuffled                                                              |
 * | lpm        | cache-aware    | longest cached prefix first; FCFS when more than 128 are waiting      |
 * | dfs-weight | cache-aware    | DFS of the tree, heavier subtrees (more waiting last nodes) first     |
 *
 * Invariants:
 * - Cache-aware policies compute every waiting request's match (setMatch) and return true, so the
 *   caller does not match again; they become FCFS when the cache does not share prefixes.
 * - In-batch prefix deprioritization (cache-aware only): a request whose cached prefix is <= 32
 *   tokens and that shares >= 32 tokens with an earlier waiting request sorts last (lpm).
 */
import type { PrefixCache } from '../cache/prefix-cache.js';
import { RadixCache, type RadixNode } from '../cache/radix-cache.js';
import type { Req } from './req.js';

export type SchedulePolicyName = 'fcfs' | 'lof' | 'random' | 'lpm' | 'dfs-weight';

export const SCHEDULE_POLICIES: readonly SchedulePolicyName[] = ['fcfs', 'lof', 'random', 'lpm', 'dfs-weight'];

const LPM_FALLBACK_QUEUE_LEN = 128;
const IN_BATCH_PREFIX_CACHING_CHECK_THRESHOLD = 32;
const IN_BATCH_PREFIX_CACHING_DEPRIORITIZE_THRESHOLD = 32;

export class SchedulePolicy {
  readonly policy: SchedulePolicyName;
  private readonly waitingQueueTree = new RadixCache({ pageSize: 1, allocator: null, reqToToken: null });

  constructor(
    policy: string,
    private readonly cache: PrefixCache,
    private readonly random: () => number = Math.random,
  ) {
    if (!(SCHEDULE_POLICIES as readonly string[]).includes(policy)) throw new Error(`Unknown schedule_policy: ${policy}`);
    const cacheAware = policy === 'lpm' || policy === 'dfs-weight';
    this.policy = cacheAware && !cache.sharesPrefixes ? 'fcfs' : (policy as SchedulePolicyName);
  }

  /** Reorders `queue` in place; returns true when it already matched every request's prefix. */
  calcPriority(queue: Req[]): boolean {
    let policy = this.policy;
    if (policy === 'fcfs') return false;
    if (policy === 'lpm' && queue.length > LPM_FALLBACK_QUEUE_LEN) policy = 'fcfs';
    switch (policy) {
      case 'lpm': {
        const deprioritized = this.computePrefixMatches(queue);
        sortStable(queue, (r) => (deprioritized.has(r) ? Infinity : -r.prefixLen));
        return true;
      }
      case 'dfs-weight':
        this.computePrefixMatches(queue);
        this.sortByDfsWeight(queue);
        return true;
      case 'lof':
        sortStable(queue, (r) => -r.maxNewTokens);
        return false;
      case 'random':
        for (let i = queue.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [queue[i], queue[j]] = [queue[j]!, queue[i]!];
        }
        return false;
      default:
        return false;
    }
  }

  private computePrefixMatches(queue: Req[]): Set<Req> {
    const deprioritized = new Set<Req>();
    this.waitingQueueTree.reset();
    for (const r of queue) {
      const prefixIds = r.maxPrefixIds();
      const m = this.cache.matchPrefix(prefixIds);
      r.setMatch(m.indices, m.lastNode);
      if (r.prefixLen <= IN_BATCH_PREFIX_CACHING_CHECK_THRESHOLD) {
        const inBatch = this.waitingQueueTree.matchPrefix(prefixIds);
        if (inBatch.indices.length >= IN_BATCH_PREFIX_CACHING_DEPRIORITIZE_THRESHOLD) deprioritized.add(r);
        else this.waitingQueueTree.insert(prefixIds, new Int32Array(prefixIds.length));
      }
    }
    return deprioritized;
  }

  private sortByDfsWeight(queue: Req[]): void {
    const root = (this.cache as RadixCache).root;
    const byLastNode = new Map<RadixNode, Req[]>();
    for (const r of queue) {
      const node = (r.lastNode ?? root) as RadixNode;
      const list = byLastNode.get(node);
      if (list) list.push(r);
      else byLastNode.set(node, [r]);
    }
    const weight = new Map<RadixNode, number>();
    const calcWeight = (node: RadixNode): number => {
      let w = byLastNode.get(node)?.length ?? 0;
      for (const c of node.children.values()) w += calcWeight(c);
      weight.set(node, w);
      return w;
    };
    calcWeight(root);
    queue.length = 0;
    const visit = (node: RadixNode): void => {
      const children = [...node.children.values()];
      sortStable(children, (c) => -(weight.get(c) ?? 0));
      for (const c of children) visit(c);
      const reqs = byLastNode.get(node);
      if (reqs) queue.push(...reqs);
    };
    visit(root);
  }
}

/** Stable sort by a numeric key (Array.prototype.sort is stable). */
function sortStable<T>(items: T[], key: (item: T) => number): void {
  const keys = new Map<T, number>();
  for (const it of items) keys.set(it, key(it));
  items.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    return ka === kb ? 0 : ka < kb ? -1 : 1;
  });
}

/**
 * GrammarQueue: the engine-side grammar stage (SGLang's grammar_queue + grammar cache). A request
 * with a constraint is held here, outside the scheduler, until its grammar is compiled; then it
 * gets a matcher and goes to the scheduler. Invalid grammars finish the request with SGLang's
 * abort message and status 400, and the key is cached as invalid.
 *
 * Invariants:
 * - Compilation happens in `poll()`, called once per engine step, and compiles at most one key,
 *   so a burst of new grammars interleaves with decode steps of other requests (the stall per step
 *   is one compile: ~2 ms for small EBNF/regex, ~50-150 ms for a JSON schema at a 152k vocab).
 * - Backend initialization (WASM + tokenizer info) is asynchronous and starts with the first
 *   grammar request; `poll()` returns nothing until it is done.
 * - Cache keys are (kind, string); values are compiled grammars (shared by all matchers) or INVALID.
 * - Every matcher handed out is owned by its request, which must dispose it.
 */
import type { EngineRequest } from '../engine/types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import {
  GRAMMAR_ABORT_MESSAGE,
  GRAMMAR_DISABLED_MESSAGE,
  grammarKeyOf,
  invalidCachedGrammarMessage,
  invalidGrammarMessage,
  keyString,
  type GrammarKey,
} from './grammar-key.js';
import type { GrammarMatcherHandle } from './matcher.js';
import { type CompiledGrammar, GrammarCompileError, XgrammarBackend } from './xgrammar-backend.js';

export type GrammarBackendName = 'xgrammar' | 'none' | 'outlines' | 'llguidance';

export interface GrammarQueueOptions {
  backend: GrammarBackendName;
  tokenizer: Tokenizer | null;
  vocabSize: number;
  eosTokenIds: readonly number[];
  /**
   * --constrained-json-whitespace-pattern. xgrammar has no whitespace regex (SGLang applies the
   * flag only with outlines); we map what xgrammar can express (see `whitespaceOptions`).
   */
  constrainedJsonWhitespacePattern?: string | null;
}

export type Admission =
  | { kind: 'plain' }
  | { kind: 'ready'; matcher: GrammarMatcherHandle }
  | { kind: 'error'; message: string }
  | { kind: 'queued' };

const INVALID = Symbol('invalid-grammar');

/**
 * --constrained-json-whitespace-pattern → xgrammar JSON options: unset = any whitespace (SGLang's
 * xgrammar default); a pattern matching only '' ("" or "(?:)") = no optional whitespace; a
 * pattern ending in a bounded quantifier ({n} or {m,n}) = any whitespace, at most n characters
 * per gap; anything else = any whitespace.
 */
export function whitespaceOptions(pattern: string | null): { anyWhitespace: boolean; maxWhitespaceCnt?: number } {
  if (pattern === null) return { anyWhitespace: true };
  if (pattern === '' || pattern === '(?:)') return { anyWhitespace: false };
  const m = /\{(?:\d+,)?(\d+)\}$/.exec(pattern);
  if (m) return Number(m[1]) === 0 ? { anyWhitespace: false } : { anyWhitespace: true, maxWhitespaceCnt: Number(m[1]) };
  return { anyWhitespace: true };
}

interface Waiting {
  request: EngineRequest;
  key: GrammarKey;
  ks: string;
}

export interface PollResult {
  ready: [EngineRequest, GrammarMatcherHandle][];
  failed: [EngineRequest, string][];
}

export class GrammarQueue {
  private readonly backend: XgrammarBackend | null;
  private readonly cache = new Map<string, CompiledGrammar | typeof INVALID>();
  private waiting: Waiting[] = [];
  /** Milliseconds spent in each compile (most recent last, bounded), for stats and benches. */
  readonly compileMs: number[] = [];

  constructor(private readonly opts: GrammarQueueOptions) {
    this.backend =
      opts.backend === 'none' || !opts.tokenizer
        ? null
        : new XgrammarBackend(opts.tokenizer, opts.vocabSize, opts.eosTokenIds, whitespaceOptions(opts.constrainedJsonWhitespacePattern ?? null));
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  /** Decides what happens to a new request. */
  admit(request: EngineRequest): Admission {
    const key = grammarKeyOf(request.sampling);
    if (!key) return { kind: 'plain' };
    if (!this.backend) {
      return { kind: 'error', message: this.opts.tokenizer ? GRAMMAR_DISABLED_MESSAGE : 'Grammar-based generation needs the tokenizer (it is not supported with --skip-tokenizer-init).' };
    }
    const ks = keyString(key);
    const hit = this.cache.get(ks);
    if (hit === INVALID) return { kind: 'error', message: invalidCachedGrammarMessage(key) };
    if (hit && this.backend.ready) return { kind: 'ready', matcher: this.backend.createMatcher(hit) };
    void this.backend.init();
    this.waiting.push({ request, key, ks });
    return { kind: 'queued' };
  }

  /** Compiles at most one pending key; returns the requests that can go on and those that failed. */
  poll(): PollResult {
    const res: PollResult = { ready: [], failed: [] };
    const be = this.backend;
    if (!be || this.waiting.length === 0) return res;
    if (be.initError) {
      for (const w of this.waiting.splice(0)) res.failed.push([w.request, `Grammar backend failed to start: ${be.initError.message}`]);
      return res;
    }
    if (!be.ready) return res;
    const head = this.waiting[0]!;
    if (!this.cache.has(head.ks)) {
      const t0 = performance.now();
      try {
        this.cache.set(head.ks, be.compile(head.key));
      } catch (e) {
        if (!(e instanceof GrammarCompileError)) throw e;
        this.cache.set(head.ks, INVALID);
      }
      this.compileMs.push(performance.now() - t0);
      if (this.compileMs.length > 64) this.compileMs.shift();
    }
    const still: Waiting[] = [];
    for (const w of this.waiting) {
      const v = this.cache.get(w.ks);
      if (v === undefined) still.push(w);
      else if (v === INVALID) res.failed.push([w.request, invalidGrammarMessage(w.key)]);
      else res.ready.push([w.request, be.createMatcher(v)]);
    }
    this.waiting = still;
    return res;
  }

  /** Removes waiting requests by rid prefix (or all); SGLang finishes them with a 400 abort. */
  abort(ridPrefix: string, abortAll: boolean): [EngineRequest, string][] {
    const out: [EngineRequest, string][] = [];
    this.waiting = this.waiting.filter((w) => {
      if (!abortAll && !w.request.rid.startsWith(ridPrefix)) return true;
      out.push([w.request, GRAMMAR_ABORT_MESSAGE]);
      return false;
    });
    return out;
  }

  /** /flush_cache: drops compiled grammars (only when nothing waits; matchers keep their own refs). */
  flush(): void {
    if (this.waiting.length > 0) return;
    for (const v of this.cache.values()) if (v !== INVALID) v.delete();
    this.cache.clear();
  }
}

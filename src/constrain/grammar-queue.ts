/**
 * GrammarQueue: the engine-side grammar stage (SGLang's grammar_queue + grammar cache). A request
 * with a constraint is held here, outside the scheduler, until the grammar worker has compiled
 * its grammar and created its matcher; then it goes to the scheduler with its matcher slot.
 * Invalid grammars finish the request with SGLang's message and status 400, and the key is
 * remembered as invalid (a later request with it fails at once, as SGLang's cache hit does).
 *
 * Invariants:
 * - Compilation and every matcher live in the grammar worker (grammar-worker.ts): nothing here
 *   blocks the step loop except the two per-step calls (`fillMasks`, `accept`), which wait only
 *   when the batch has constrained rows (and, behind a compile in progress, only then).
 * - `onWake` fires when an admission resolves, so an engine loop with nothing else to do can
 *   sleep instead of spinning while a grammar compiles.
 * - Every slot handed out is owned by its request, which must `free` it exactly once.
 */
import type { EngineRequest } from '../engine/types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type AdmitResult, GrammarClient } from './grammar-client.js';
import {
  GRAMMAR_ABORT_MESSAGE,
  GRAMMAR_DISABLED_MESSAGE,
  grammarKeyOf,
  invalidCachedGrammarMessage,
  keyString,
  type GrammarKey,
} from './grammar-key.js';
import { FLAG_ACCEPTED, FLAG_TERMINATED, maskWords } from './grammar-protocol.js';
import { buildTokenizerInfo } from './tokenizer-info.js';

export type GrammarBackendName = 'xgrammar' | 'none' | 'outlines' | 'llguidance';

export interface GrammarQueueOptions {
  backend: GrammarBackendName;
  tokenizer: Tokenizer | null;
  vocabSize: number;
  eosTokenIds: readonly number[];
  /** Most sampling rows in one step (max running requests). */
  maxRows: number;
  /**
   * --constrained-json-whitespace-pattern. xgrammar has no whitespace regex (SGLang applies the
   * flag only with outlines); we map what xgrammar can express (see `whitespaceOptions`).
   */
  constrainedJsonWhitespacePattern?: string | null;
}

export { FLAG_ACCEPTED, FLAG_TERMINATED };

export type Admission =
  | { kind: 'plain' }
  | { kind: 'error'; message: string }
  | { kind: 'queued' };

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
  /** Requests whose matcher is ready, with its slot. */
  ready: [EngineRequest, number][];
  failed: [EngineRequest, string][];
}

export class GrammarQueue {
  private readonly client: GrammarClient | null;
  private readonly invalid = new Set<string>();
  private readonly waiting = new Map<number, Waiting>();
  private resolved: [number, AdmitResult][] = [];
  private nextId = 1;
  private flags = new Uint8Array(0);
  private slotsScratch: number[] = [];
  /** Milliseconds spent in each compile (most recent last, bounded), for stats and benches. */
  readonly compileMs: number[] = [];
  /** Set by the engine loop: called when an admission resolves. */
  onWake: (() => void) | null = null;

  constructor(private readonly opts: GrammarQueueOptions) {
    const tok = opts.tokenizer;
    this.client =
      opts.backend === 'none' || !tok
        ? null
        : new GrammarClient({
            vocabSize: opts.vocabSize,
            maxRows: Math.max(1, opts.maxRows),
            ...whitespaceOptions(opts.constrainedJsonWhitespacePattern ?? null),
            tokenizerInfo: () => buildTokenizerInfo(tok, opts.vocabSize, opts.eosTokenIds),
            onAdmission: (id, result, ms) => this.onAdmission(id, result, ms),
          });
  }

  /** Requests waiting for their grammar (compiling or queued behind another compile). */
  get numWaiting(): number {
    return this.waiting.size + this.resolved.length;
  }

  /** Some admission has resolved and `poll()` has work to hand back. */
  get hasResolved(): boolean {
    return this.resolved.length > 0;
  }

  /** Mask row width in 32-bit words (ceil(vocab / 32)). */
  get words(): number {
    return maskWords(this.opts.vocabSize);
  }

  /** Decides what happens to a new request. */
  admit(request: EngineRequest): Admission {
    const key = grammarKeyOf(request.sampling);
    if (!key) return { kind: 'plain' };
    if (!this.client) {
      return { kind: 'error', message: this.opts.tokenizer ? GRAMMAR_DISABLED_MESSAGE : 'Grammar-based generation needs the tokenizer (it is not supported with --skip-tokenizer-init).' };
    }
    const ks = keyString(key);
    if (this.invalid.has(ks)) return { kind: 'error', message: invalidCachedGrammarMessage(key) };
    const id = this.nextId++;
    this.waiting.set(id, { request, key, ks });
    this.client.admit(id, key);
    return { kind: 'queued' };
  }

  /** Hands back the requests whose admission resolved since the last poll. */
  poll(): PollResult {
    const res: PollResult = { ready: [], failed: [] };
    for (const [id, r] of this.resolved.splice(0)) {
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if (!w) {
        if (r.kind === 'admitted') this.client?.free(r.slot); // aborted while compiling
        continue;
      }
      if (r.kind === 'admitted') res.ready.push([w.request, r.slot]);
      else res.failed.push([w.request, r.message]);
    }
    return res;
  }

  /**
   * Fills dst [slots.length, words]: row i is slot i's next-token mask, or all ones when the row
   * is unconstrained (null).
   */
  fillMasks(slots: readonly (number | null)[], dst: Uint32Array): void {
    const client = this.client!;
    const words = client.words;
    const used = this.slotsScratch;
    used.length = 0;
    for (const s of slots) if (s !== null) used.push(s);
    client.prepareMasks(used);
    slots.forEach((s, i) => {
      const row = dst.subarray(i * words, (i + 1) * words);
      if (s === null) row.fill(0xffffffff);
      else row.set(client.maskRow(s));
    });
  }

  /** Advances each slot's matcher on its sampled token; returns flags (FLAG_ACCEPTED | FLAG_TERMINATED) per slot. */
  accept(slots: readonly number[], tokens: readonly number[]): Uint8Array {
    if (this.flags.length < slots.length) this.flags = new Uint8Array(Math.max(slots.length, 2 * this.flags.length));
    this.client!.accept(slots, tokens, this.flags);
    return this.flags;
  }

  free(slot: number): void {
    this.client?.free(slot);
  }

  /** Removes waiting requests by rid prefix (or all); SGLang finishes them with a 400 abort. */
  abort(ridPrefix: string, abortAll: boolean): [EngineRequest, string][] {
    const out: [EngineRequest, string][] = [];
    for (const [id, w] of this.waiting) {
      if (!abortAll && !w.request.rid.startsWith(ridPrefix)) continue;
      this.waiting.delete(id); // its slot, if one comes, is freed by poll()
      out.push([w.request, GRAMMAR_ABORT_MESSAGE]);
    }
    return out;
  }

  /** /flush_cache: forgets invalid keys and drops compiled grammars (matchers keep their own refs). */
  flush(): void {
    this.invalid.clear();
    this.client?.flush();
  }

  close(): Promise<void> {
    return this.client?.close() ?? Promise.resolve();
  }

  private onAdmission(id: number, r: AdmitResult, ms: number): void {
    if (r.kind === 'rejected' && r.invalid) {
      const w = this.waiting.get(id);
      if (w) this.invalid.add(w.ks);
    }
    if (ms > 0) {
      this.compileMs.push(ms);
      if (this.compileMs.length > 64) this.compileMs.shift();
    }
    this.resolved.push([id, r]);
    this.onWake?.();
  }
}

/**
 * Per-request finish checks and stop-string trimming for streamed text (SGLang 0.5.2
 * `Req.check_finished` + detokenizer `trim_matched_stop`), incremental: call `check()` once per
 * output token with that token's detokenized text delta, emit the returned `text`.
 *
 * Check order for each token (the first hit wins):
 *   1. length: output count >= max_new_tokens → {type:'length'} (wins over EOS on the last step);
 *   2. grammar terminated (caller's flag) → stop, matched = token id;
 *   3. unless ignore_eos: token in stop_token_ids ∪ eos ids → stop, matched = token id;
 *   4. token id outside the vocab → stop, matched = "NaN happened";
 *   5. a stop string (list order) appears in the text → stop, matched = the string.
 * Trimming (skipped when no_stop_trim): a string match cuts the output text at the first
 * occurrence of the matched string; a token match drops that token's text (SGLang skips the trim
 * when the matched id is 0, a falsy value in Python: so do we). Length finishes are not trimmed.
 *
 * Invariants:
 * - Text that might be the beginning of a stop string (a suffix of the output that is a proper
 *   prefix of some stop string) is withheld, and released as soon as it cannot be one; so every
 *   emitted character is final: concatenating the emitted deltas gives the final visible text.
 * - Under no_stop_trim nothing is withheld, but the same tail is carried for matching.
 * - Only the withheld tail is ever searched: a stop string cannot start before it (any earlier
 *   start would have left a longer stop-string prefix withheld). Work per token is
 *   O(|tail| * sum |stop|), independent of the output length.
 * - Stop strings are matched on the text the caller passes (normally with special tokens skipped).
 */
import type { FinishReason, SamplingParams } from '../engine/types.js';

export interface StopCheckerOptions {
  /** EOS ids: tokenizer eos, the model's generation-config eos list, additional stop ids. */
  eosTokenIds?: readonly number[];
  /** Token ids >= vocabSize finish with "NaN happened" (omit to skip the check). */
  vocabSize?: number;
  /** Effective max_new_tokens after the scheduler's clamp; defaults to params.maxNewTokens. */
  maxNewTokens?: number | null;
}

export interface StopCheckResult {
  /** null while the request goes on. */
  finishReason: FinishReason | null;
  /** Visible text to emit now (may be empty while a possible stop string is withheld). */
  text: string;
}

export class StopChecker {
  private readonly stops: readonly string[];
  private readonly stopIds: ReadonlySet<number>;
  private readonly maxNew: number | null;
  private readonly trim: boolean;
  private readonly ignoreEos: boolean;
  private readonly vocabSize: number;
  /**
   * Suffix of the output text that may still begin a stop string. Withheld (not yet emitted)
   * when trimming; already emitted under no_stop_trim, where it only serves matching.
   */
  private carry = '';
  private emitted = '';
  private numOutput = 0;
  private finished: FinishReason | null = null;

  constructor(params: SamplingParams, opts: StopCheckerOptions = {}) {
    this.stops = params.stop.filter((s) => s.length > 0);
    this.stopIds = new Set([...params.stopTokenIds, ...(opts.eosTokenIds ?? [])]);
    this.maxNew = opts.maxNewTokens !== undefined ? opts.maxNewTokens : params.maxNewTokens;
    this.trim = !params.noStopTrim;
    this.ignoreEos = params.ignoreEos;
    this.vocabSize = opts.vocabSize ?? Infinity;
  }

  /** Visible text emitted so far (concatenation of every returned `text`). */
  get text(): string {
    return this.emitted;
  }

  get finishReason(): FinishReason | null {
    return this.finished;
  }

  /**
   * Account for one new output token. `textDelta`: the text the detokenizer produced for it
   * (may be '' or carry earlier withheld bytes). Must not be called after a finish.
   */
  check(tokenId: number, textDelta: string, grammarTerminated = false): StopCheckResult {
    if (this.finished) throw new Error('StopChecker.check called after the request finished.');
    this.numOutput++;
    if (this.maxNew !== null && this.numOutput >= this.maxNew) {
      return this.finish({ type: 'length', length: this.maxNew }, this.withheld() + textDelta);
    }
    if (grammarTerminated || (!this.ignoreEos && this.stopIds.has(tokenId))) {
      const keepToken = !this.trim || tokenId === 0;
      return this.finish({ type: 'stop', matched: tokenId }, this.withheld() + (keepToken ? textDelta : ''));
    }
    if (tokenId < 0 || tokenId >= this.vocabSize) {
      return this.finish({ type: 'stop', matched: 'NaN happened' }, this.withheld() + textDelta);
    }
    return this.checkStopStrings(textDelta);
  }

  /** Release withheld text without a finish reason (abort, or the caller ends the request). */
  flush(): string {
    const t = this.withheld();
    this.carry = '';
    this.emitted += t;
    return t;
  }

  private withheld(): string {
    return this.trim ? this.carry : '';
  }

  private checkStopStrings(textDelta: string): StopCheckResult {
    if (this.stops.length === 0) {
      this.emitted += textDelta;
      return { finishReason: null, text: textDelta };
    }
    const tail = this.carry + textDelta;
    for (const s of this.stops) {
      const pos = tail.indexOf(s);
      if (pos >= 0) return this.finish({ type: 'stop', matched: s }, this.trim ? tail.slice(0, pos) : textDelta);
    }
    const keep = tail.length - this.heldLength(tail);
    const out = this.trim ? tail.slice(0, keep) : textDelta;
    this.carry = tail.slice(keep);
    this.emitted += out;
    return { finishReason: null, text: out };
  }

  /** Length of the longest suffix of `t` that is a proper prefix of a stop string. */
  private heldLength(t: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, t.length); k > best; k--) {
        if (t.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }

  private finish(reason: FinishReason, text: string): StopCheckResult {
    this.finished = reason;
    this.carry = '';
    this.emitted += text;
    return { finishReason: reason, text };
  }
}

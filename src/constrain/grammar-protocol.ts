/**
 * The wire between the engine thread and the grammar worker (grammar-worker.ts).
 *
 * Two channels:
 * - Messages (postMessage) for everything that may wait: init, admit (compile if needed + create
 *   a matcher), free, flush; replies are `admitted` / `rejected` / `arena`.
 * - A shared control block (Int32Array over a SharedArrayBuffer) for the two per-step calls the
 *   engine makes synchronously (it blocks in Atomics.wait until the worker answers):
 *   ACCEPT (advance matchers on sampled tokens, report accepted/terminated) and MASKS (make sure
 *   the given matchers' next-token masks are written in the mask arena).
 *
 * Invariants:
 * - A matcher is named by its slot; slot s's mask row is row (s % ARENA_ROWS) of arena chunk
 *   floor(s / ARENA_ROWS): Uint32Array [ARENA_ROWS, words] over a SharedArrayBuffer. The worker
 *   posts a chunk (`arena`) before the first `admitted` that uses it (same port, so in order).
 * - Control block: REQ_SEQ is bumped by the engine after it wrote OP, COUNT and ARGS; the worker
 *   answers by writing RESULTS and then setting DONE_SEQ = REQ_SEQ. One call in flight at a time.
 * - ARGS holds COUNT (slot, token) pairs for ACCEPT and COUNT slots for MASKS; RESULTS holds one
 *   flag word per pair (bit 0 accepted, bit 1 terminated).
 */
import type { GrammarKey } from './grammar-key.js';
import type { XgTokenizerInfo } from './tokenizer-info.js';

export const ARENA_ROWS = 64;

/** Words in one mask row: bit (id & 31) of word (id >> 5) per token id, xgrammar's layout. */
export function maskWords(vocabSize: number): number {
  return Math.ceil(vocabSize / 32);
}

/** Control block layout (Int32 indices). */
export const CTRL = {
  REQ_SEQ: 0,
  DONE_SEQ: 1,
  OP: 2,
  COUNT: 3,
  /** Set by the worker when it could not start (engine-side waits give up at once). */
  FAILED: 4,
  HEADER: 8,
} as const;

export const OP_ACCEPT = 1;
export const OP_MASKS = 2;

export const FLAG_ACCEPTED = 1;
export const FLAG_TERMINATED = 2;

/** Most (slot, token) pairs one call can carry; the control block is sized for it. */
export function controlWords(maxRows: number): number {
  return CTRL.HEADER + 3 * maxRows;
}

/** Views of the control block's ARGS ([2 * maxRows]) and RESULTS ([maxRows]) regions. */
export function controlRegions(ctrl: Int32Array, maxRows: number): { args: Int32Array; results: Int32Array } {
  return {
    args: ctrl.subarray(CTRL.HEADER, CTRL.HEADER + 2 * maxRows),
    results: ctrl.subarray(CTRL.HEADER + 2 * maxRows, CTRL.HEADER + 3 * maxRows),
  };
}

/** Slot's mask row in the arena (chunks of [ARENA_ROWS, words]); undefined before its chunk arrived. */
export function arenaRow(arena: readonly Uint32Array[], slot: number, words: number): Uint32Array | undefined {
  const r = slot % ARENA_ROWS;
  return arena[Math.floor(slot / ARENA_ROWS)]?.subarray(r * words, (r + 1) * words);
}

export interface GrammarWorkerInit {
  /** Under tsx: the TypeScript entry the bootstrap imports. */
  tsEntry?: string;
  control: SharedArrayBuffer;
  maxRows: number;
  vocabSize: number;
  anyWhitespace: boolean;
  maxWhitespaceCnt?: number;
}

export type ToGrammarWorker =
  | { kind: 'tokenizer'; info: XgTokenizerInfo }
  | { kind: 'admit'; id: number; key: GrammarKey }
  | { kind: 'free'; slot: number }
  | { kind: 'flush' };

export type FromGrammarWorker =
  | { kind: 'arena'; chunk: number; buffer: SharedArrayBuffer }
  | { kind: 'admitted'; id: number; slot: number; compileMs: number }
  | { kind: 'rejected'; id: number; invalid: boolean; message: string; compileMs: number };

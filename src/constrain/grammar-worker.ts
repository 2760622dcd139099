/**
 * The grammar worker thread: owns xgrammar (WASM heap, compiler, compiled-grammar cache and every
 * request's matcher), so compiling a grammar (up to ~100 ms for a JSON schema at a 152k vocab)
 * never stalls the engine's step loop. See grammar-protocol.ts for the wire.
 *
 * Invariants:
 * - Messages are handled in arrival order; a compile runs inside its `admit` handler, so a
 *   per-step call that arrives meanwhile waits for it (only constrained requests ever wait).
 * - Per-step calls are served from the control block via Atomics.waitAsync, so the event loop
 *   stays free for messages between them.
 * - After answering ACCEPT the worker fills the next masks of the matchers it just advanced
 *   (`fresh`), overlapping the engine's forward pass; MASKS fills only the stale ones.
 * - The compiled cache maps key strings to compiled grammars or INVALID; matchers hold their own
 *   references, so `flush` may drop compiled grammars at any time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { invalidGrammarMessage, keyString, type GrammarKey } from './grammar-key.js';
import {
  ARENA_ROWS, CTRL, FLAG_ACCEPTED, FLAG_TERMINATED, OP_ACCEPT, OP_MASKS, arenaRow, controlRegions, maskWords,
  type FromGrammarWorker, type GrammarWorkerInit, type ToGrammarWorker,
} from './grammar-protocol.js';
import type { GrammarMatcherHandle } from './matcher.js';
import { type CompiledGrammar, GrammarCompileError, XgrammarBackend } from './xgrammar-backend.js';

/** Atomics.waitAsync (Node >= 16; not in this TypeScript lib). */
interface WaitAsyncResult { async: boolean; value: Promise<string> | string }
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult }).waitAsync.bind(Atomics);

const port = parentPort!;
const init = workerData as GrammarWorkerInit;
const ctrl = new Int32Array(init.control);
const { args, results } = controlRegions(ctrl, init.maxRows);
const words = maskWords(init.vocabSize);
const send = (m: FromGrammarWorker): void => port.postMessage(m);

const INVALID = Symbol('invalid-grammar');
const compiled = new Map<string, CompiledGrammar | typeof INVALID>();
/** slot → matcher (undefined = free). */
const matchers: (GrammarMatcherHandle | undefined)[] = [];
/** slot → its mask row in the arena already holds the matcher's current next-token mask. */
const fresh: boolean[] = [];
const freeSlots: number[] = [];
/** Arena chunks: Uint32Array [ARENA_ROWS, words] each. */
const arena: Uint32Array[] = [];
let backend: XgrammarBackend | null = null;
let backendReady: Promise<void> | null = null;

function maskRow(slot: number): Uint32Array {
  return arenaRow(arena, slot, words)!;
}

function allocSlot(): number {
  const reused = freeSlots.pop();
  if (reused !== undefined) return reused;
  const slot = matchers.length;
  if (slot % ARENA_ROWS === 0) {
    const buffer = new SharedArrayBuffer(ARENA_ROWS * words * 4);
    arena.push(new Uint32Array(buffer));
    send({ kind: 'arena', chunk: arena.length - 1, buffer });
  }
  matchers.push(undefined);
  fresh.push(false);
  return slot;
}

function compile(key: GrammarKey): CompiledGrammar | typeof INVALID {
  const ks = keyString(key);
  let c = compiled.get(ks);
  if (c === undefined) {
    try {
      c = backend!.compile(key);
    } catch (e) {
      if (!(e instanceof GrammarCompileError)) throw e;
      c = INVALID;
    }
    compiled.set(ks, c);
  }
  return c;
}

async function admit(id: number, key: GrammarKey): Promise<void> {
  await backendReady;
  if (!backend || backend.initError) {
    const why = backend?.initError?.message ?? 'no tokenizer information';
    send({ kind: 'rejected', id, invalid: false, message: `Grammar backend failed to start: ${why}`, compileMs: 0 });
    return;
  }
  const t0 = performance.now();
  const c = compile(key);
  const compileMs = performance.now() - t0;
  if (c === INVALID) {
    send({ kind: 'rejected', id, invalid: true, message: invalidGrammarMessage(key), compileMs });
    return;
  }
  const slot = allocSlot();
  matchers[slot] = backend.createMatcher(c);
  fresh[slot] = false;
  send({ kind: 'admitted', id, slot, compileMs });
}

function free(slot: number): void {
  const m = matchers[slot];
  if (!m) return;
  m.dispose();
  matchers[slot] = undefined;
  fresh[slot] = false;
  freeSlots.push(slot);
}

function fillStale(slots: ArrayLike<number>, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    const m = matchers[s];
    if (!m || fresh[s]) continue;
    m.fillMask(maskRow(s));
    fresh[s] = true;
  }
}

/** Serves one per-step call; returns the slots whose masks to fill after answering. */
function serve(): number[] {
  const n = ctrl[CTRL.COUNT]!;
  const after: number[] = [];
  if (ctrl[CTRL.OP] === OP_ACCEPT) {
    for (let i = 0; i < n; i++) {
      const slot = args[2 * i]!;
      const m = matchers[slot];
      if (!m) {
        results[i] = 0;
        continue;
      }
      const accepted = m.accept(args[2 * i + 1]!);
      fresh[slot] = false;
      const terminated = m.isTerminated();
      results[i] = (accepted ? FLAG_ACCEPTED : 0) | (terminated ? FLAG_TERMINATED : 0);
      if (!terminated) after.push(slot);
    }
  } else if (ctrl[CTRL.OP] === OP_MASKS) {
    fillStale(args, n);
  }
  return after;
}

async function serveLoop(): Promise<void> {
  let seen = Atomics.load(ctrl, CTRL.REQ_SEQ);
  for (;;) {
    const w = waitAsync(ctrl, CTRL.REQ_SEQ, seen);
    if (w.async) await w.value;
    seen = Atomics.load(ctrl, CTRL.REQ_SEQ);
    let after: number[] = [];
    try {
      after = serve();
    } catch (e) {
      // xgrammar (WASM) threw inside a matcher: its heap may be unusable; the engine stops using us.
      Atomics.store(ctrl, CTRL.FAILED, 1);
      process.stderr.write(`tsgl grammar worker: ${(e as Error).stack ?? String(e)}\n`);
    }
    Atomics.store(ctrl, CTRL.DONE_SEQ, seen);
    Atomics.notify(ctrl, CTRL.DONE_SEQ);
    if (Atomics.load(ctrl, CTRL.FAILED)) return;
    // Overlap: the next masks of the matchers just advanced, while the engine runs its forward.
    fillStale(after, after.length);
  }
}

port.on('message', (m: ToGrammarWorker) => {
  switch (m.kind) {
    case 'tokenizer':
      if (backend) return;
      backend = new XgrammarBackend(m.info, { anyWhitespace: init.anyWhitespace, maxWhitespaceCnt: init.maxWhitespaceCnt });
      backendReady = backend.init();
      return;
    case 'admit':
      void admit(m.id, m.key);
      return;
    case 'free':
      free(m.slot);
      return;
    case 'flush':
      for (const v of compiled.values()) if (v !== INVALID) v.delete();
      compiled.clear();
      return;
  }
});

void serveLoop().catch((e: Error) => {
  Atomics.store(ctrl, CTRL.FAILED, 1);
  Atomics.notify(ctrl, CTRL.DONE_SEQ);
  throw e;
});

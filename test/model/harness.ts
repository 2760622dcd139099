/**
 * A minimal driver for model tests: runs a ModelRunner directly with hand-built ForwardBatches
 * (no scheduler), so model numerics are tested independently of scheduling.
 * Request r owns KV slots [1 + r * slotsPerReq, 1 + (r + 1) * slotsPerReq).
 */
import type { ForwardBatch, ModelRunner } from '../../src/engine/types.js';

export const MODELS = new URL('../../../shared/models/', import.meta.url).pathname;

interface Seq {
  ids: number[]; // prompt + generated
  numComputed: number; // tokens whose KV is in the pool
  done: boolean;
}

export class Driver {
  constructor(readonly runner: ModelRunner, readonly slotsPerReq: number) {}

  /** One step over the given (reqIdx, numNew) pairs; returns logits rows (one per request: its last token). */
  step(seqs: Seq[], plan: [number, number][]): Float32Array[] {
    const numTokens = plan.reduce((a, [, n]) => a + n, 0);
    const inputIds = new Int32Array(numTokens);
    const positions = new Int32Array(numTokens);
    const outLoc = new Int32Array(numTokens);
    const qIndptr = new Int32Array(plan.length + 1);
    const kvIndptr = new Int32Array(plan.length + 1);
    const kvList: number[] = [];
    const logitRows = new Int32Array(plan.length);
    let t = 0;
    plan.forEach(([r, n], i) => {
      const s = seqs[r]!;
      for (let j = 0; j < n; j++, t++) {
        const pos = s.numComputed + j;
        inputIds[t] = s.ids[pos]!;
        positions[t] = pos;
        outLoc[t] = 1 + r * this.slotsPerReq + pos;
      }
      for (let p = 0; p < s.numComputed + n; p++) kvList.push(1 + r * this.slotsPerReq + p);
      qIndptr[i + 1] = t;
      kvIndptr[i + 1] = kvList.length;
      logitRows[i] = t - 1;
    });
    const batch: ForwardBatch = {
      numReqs: plan.length, numTokens, inputIds, positions, outLoc, qIndptr, kvIndptr,
      kvIndices: Int32Array.from(kvList), logitRows, numLogitRows: plan.length,
    };
    const logits = this.runner.forward(batch);
    const v = this.runner.vocabSize;
    plan.forEach(([r, n]) => { seqs[r]!.numComputed += n; });
    return plan.map((_, i) => logits.slice(i * v, (i + 1) * v));
  }

  /** Greedy generation for all prompts together (one batch per step). */
  greedy(prompts: number[][], maxNew: number, eosId: number | null, prefillChunk = 1 << 30): number[][] {
    const seqs: Seq[] = prompts.map((p) => ({ ids: [...p], numComputed: 0, done: false }));
    const outputs: number[][] = prompts.map(() => []);
    while (seqs.some((s) => !s.done)) {
      const plan: [number, number][] = [];
      seqs.forEach((s, r) => {
        if (!s.done) plan.push([r, Math.min(prefillChunk, s.ids.length - s.numComputed)]);
      });
      const rows = this.step(seqs, plan);
      plan.forEach(([r], i) => {
        const s = seqs[r]!;
        if (s.numComputed < s.ids.length) return; // mid-prefill chunk: no token yet
        const next = argmax(rows[i]!);
        outputs[r]!.push(next);
        s.ids.push(next);
        if (next === eosId || outputs[r]!.length >= maxNew) s.done = true;
      });
    }
    return outputs;
  }

  /** Logits at every prompt position's last token after a prefill in chunks of `chunk`. */
  prefillLogits(prompt: number[], chunk: number): Float32Array {
    const seqs: Seq[] = [{ ids: [...prompt], numComputed: 0, done: false }];
    let last: Float32Array | null = null;
    while (seqs[0]!.numComputed < prompt.length) {
      last = this.step(seqs, [[0, Math.min(chunk, prompt.length - seqs[0]!.numComputed)]])[0]!;
    }
    return last!;
  }
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

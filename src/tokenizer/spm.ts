/**
 * SentencePiece-style encoder for GGUF `tokenizer.ggml.model == "llama"`, written after
 * llama.cpp's llm_tokenizer_spm: start from single characters, repeatedly merge the adjacent
 * pair whose concatenation is a token with the highest score (ties: leftmost first), then emit
 * each final symbol as its token, or split it back along recorded merges, or fall back to
 * `<0xNN>` byte tokens (then the single-byte piece, then unk).
 *
 * Invariants: the caller has already added the space prefix and turned spaces into ▁; output
 * ids cover the text in order.
 */
import { Heap } from '../util/heap.js';

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

export class SpmEncoder {
  private readonly byteIds: (number | undefined)[] = new Array(256);

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly scores: ArrayLike<number>,
    private readonly unkId: number | null,
  ) {
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      this.byteIds[b] = tokenToId.get(`<0x${hex}>`) ?? (b < 0x80 ? tokenToId.get(String.fromCharCode(b)) : undefined);
    }
  }

  encode(text: string, out: number[]): void {
    const sym = [...text];
    if (sym.length === 0) return;
    const next = sym.map((_, i) => (i + 1 < sym.length ? i + 1 : -1));
    const prev = sym.map((_, i) => i - 1);
    const revMerge = new Map<string, [number, number]>();
    const heap = new Heap<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
    const tryAdd = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const merged = sym[l]! + sym[r]!;
      const id = this.tokenToId.get(merged);
      if (id === undefined || id >= this.scores.length) return;
      heap.push({ left: l, right: r, score: this.scores[id]!, size: merged.length });
      revMerge.set(merged, [l, r]);
    };
    for (let i = 1; i < sym.length; i++) tryAdd(i - 1, i);
    // Symbol texts only grow (or become '' when merged away), so a stale bigram shows up as a
    // size mismatch, exactly as in the reference loop.
    while (heap.size > 0) {
      const b = heap.pop()!;
      const l = sym[b.left]!;
      const r = sym[b.right]!;
      if (l.length === 0 || r.length === 0 || l.length + r.length !== b.size) continue;
      sym[b.left] = l + r;
      sym[b.right] = '';
      next[b.left] = next[b.right]!;
      if (next[b.right]! >= 0) prev[next[b.right]!] = b.left;
      tryAdd(prev[b.left]!, b.left);
      tryAdd(b.left, next[b.left]!);
    }
    for (let i = 0; i !== -1; i = next[i]!) this.resegment(sym, revMerge, sym[i]!, out);
  }

  private resegment(sym: string[], revMerge: Map<string, [number, number]>, text: string, out: number[]): void {
    const id = this.tokenToId.get(text);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    const p = revMerge.get(text);
    if (!p) {
      for (const b of new TextEncoder().encode(text)) {
        const bid = this.byteIds[b] ?? this.unkId;
        if (bid !== null && bid !== undefined) out.push(bid);
      }
      return;
    }
    // rev_merge records the two symbols' texts at merge time via their indices; they may have
    // changed since, which is the reference behaviour (it resegments the current symbols).
    this.resegment(sym, revMerge, sym[p[0]]!, out);
    this.resegment(sym, revMerge, sym[p[1]]!, out);
  }
}

/**
 * Byte-level BPE encoder (GGUF `tokenizer.ggml.model == "gpt2"`), written after llama.cpp's
 * llm_tokenizer_bpe: pre-tokenize, map each word's UTF-8 bytes to the byte-level alphabet, then
 * repeatedly merge the adjacent pair with the lowest merge rank (ties: leftmost first).
 *
 * Invariants: output ids cover the word's bytes in order; a final symbol that is not a token is
 * emitted byte by byte (single-byte tokens), bytes without a token are dropped (as llama.cpp);
 * with ignoreMerges a word that is itself a token is emitted directly.
 */
import { textToByteLevel } from './byte-level.js';
import { Heap } from '../util/heap.js';
import { preTokenize, type PreTokenizerName } from './pretokenize.js';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

export class BpeEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    merges: readonly string[],
    private readonly pre: PreTokenizerName,
    private readonly ignoreMerges: boolean,
  ) {
    merges.forEach((m, i) => {
      const pos = m.indexOf(' ', 1);
      if (pos < 0) return;
      const key = m.slice(0, pos) + '\u0000' + m.slice(pos + 1);
      if (!this.ranks.has(key)) this.ranks.set(key, i);
    });
  }

  encode(text: string, out: number[]): void {
    for (const piece of preTokenize(text, this.pre)) {
      const word = textToByteLevel(piece);
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(word);
        if (this.cache.size > 50_000) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.tokenToId.get(word);
      if (whole !== undefined) return [whole];
    }
    const sym = [...word];
    const next = sym.map((_, i) => (i + 1 < sym.length ? i + 1 : -1));
    const prev = sym.map((_, i) => i - 1);
    const heap = new Heap<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const addBigram = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const rank = this.ranks.get(sym[l] + '\u0000' + sym[r]);
      if (rank !== undefined) heap.push({ left: l, right: r, rank, text: sym[l]! + sym[r]! });
    };
    for (let i = 1; i < sym.length; i++) addBigram(i - 1, i);
    while (heap.size > 0) {
      const b = heap.pop()!;
      const l = sym[b.left]!;
      const r = sym[b.right]!;
      if (l.length === 0 || r.length === 0 || l + r !== b.text || next[b.left] !== b.right) continue;
      sym[b.left] = b.text;
      sym[b.right] = '';
      next[b.left] = next[b.right]!;
      if (next[b.right]! >= 0) prev[next[b.right]!] = b.left;
      addBigram(prev[b.left]!, b.left);
      addBigram(b.left, next[b.left]!);
    }
    const ids: number[] = [];
    for (let i = 0; i !== -1 && i < sym.length; i = next[i]!) {
      const s = sym[i]!;
      if (s.length === 0) continue;
      const id = this.tokenToId.get(s);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const ch of s) {
        const b = this.tokenToId.get(ch);
        if (b !== undefined) ids.push(b);
      }
    }
    return ids;
  }
}

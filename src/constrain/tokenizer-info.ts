/**
 * Tokenizer info for xgrammar: one string per model vocab id, in xgrammar's `byte_level`
 * encoding (GPT-2's bytes→unicode map) of the token's raw bytes (`tokenizer.tokenBytes`).
 *
 * Why byte_level for every tokenizer kind: `tokenBytes` already undoes the tokenizer's own
 * encoding (byte-level BPE's Ġ/Ċ, SPM's ▁ and <0xNN> byte fallback), so re-encoding those bytes
 * byte-level is exact for all kinds, and, unlike `raw`, it can carry partial UTF-8 sequences
 * (JS strings cannot). The result is what xgrammar would decode from the original vocab with the
 * matching vocab type (byte_level for byte-level BPE, byte_fallback for SPM).
 *
 * Invariants:
 * - Length == the model's vocab size (logits width); ids the tokenizer does not know (padding)
 *   and special tokens get '' (xgrammar treats empty tokens as special: never allowed, except
 *   the stop ids, which are the eos ids).
 */
import type { Tokenizer } from '../tokenizer/tokenizer.js';

let byteToChar: string[] | null = null;

/** GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upward. */
function byteMap(): string[] {
  if (byteToChar) return byteToChar;
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  byteToChar = map;
  return map;
}

export interface XgTokenizerInfo {
  vocab: string[];
  vocabType: 'byte_level';
  vocabSize: number;
  stopIds: number[];
}

export function buildTokenizerInfo(tok: Tokenizer, modelVocabSize: number, eosIds: readonly number[]): XgTokenizerInfo {
  const map = byteMap();
  const vocab: string[] = new Array(modelVocabSize);
  const known = Math.min(tok.vocabSize, modelVocabSize);
  for (let id = 0; id < modelVocabSize; id++) {
    if (id >= known || tok.isSpecial(id)) {
      vocab[id] = '';
      continue;
    }
    const bytes = tok.tokenBytes(id);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += map[bytes[i]!];
    vocab[id] = s;
  }
  return { vocab, vocabType: 'byte_level', vocabSize: modelVocabSize, stopIds: eosIds.filter((id) => id >= 0 && id < modelVocabSize) };
}

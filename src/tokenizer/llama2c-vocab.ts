/**
 * llama2.c tokenizer files (`tokenizer.bin` / `tok512.bin`): `max_len:u32`, then per token
 * `score:f32, len:u32, bytes`. Converted the way llama.cpp's convert-llama2c-to-ggml does
 * (spaces → ▁, ids 0/1/2 → `<unk>`/`<s>`/`</s>`, types UNKNOWN/CONTROL/CONTROL, `<0xNN>` BYTE,
 * the rest NORMAL) and served by the GGUF SPM tokenizer, so ids equal those of the GGUF.
 *
 * Invariant: a truncated or malformed file throws an Error naming the file and the token index.
 */
import { readFileSync } from 'node:fs';
import { GgufTokenizer, TokenType, type VocabData } from './gguf-vocab.js';

export function readLlama2cVocab(path: string, vocabSize?: number): VocabData {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read llama2.c tokenizer ${path}: ${(e as Error).message}`);
  }
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  if (buf.length < 4) throw new Error(`${path}: too short for a llama2.c tokenizer`);
  let o = 4;
  const dec = new TextDecoder('utf-8', { fatal: false });
  while (o < buf.length && (vocabSize === undefined || tokens.length < vocabSize)) {
    if (o + 8 > buf.length) throw new Error(`${path}: truncated at token ${tokens.length}`);
    const score = buf.readFloatLE(o);
    const len = buf.readUInt32LE(o + 4);
    o += 8;
    if (o + len > buf.length) throw new Error(`${path}: token ${tokens.length} overruns the file (len ${len})`);
    const raw = dec.decode(buf.subarray(o, o + len));
    o += len;
    const id = tokens.length;
    let text = raw.replaceAll(' ', '\u2581');
    let type: number = TokenType.Normal;
    if (id === 0) [text, type] = ['<unk>', TokenType.Unknown];
    else if (id === 1) [text, type] = ['<s>', TokenType.Control];
    else if (id === 2) [text, type] = ['</s>', TokenType.Control];
    else if (/^<0x[0-9A-F]{2}>$/.test(raw)) type = TokenType.Byte;
    tokens.push(text);
    scores.push(score);
    types.push(type);
  }
  if (tokens.length < 3) throw new Error(`${path}: only ${tokens.length} tokens; not a llama2.c tokenizer`);
  return { model: 'llama', tokens, types, scores, bos: 1, eos: 2, unk: 0, pad: null, addBos: true, addEos: false, addSpacePrefix: true, chatTemplate: null, source: path };
}

export function loadLlama2cTokenizer(path: string, chatTemplateOverride?: string): GgufTokenizer {
  const v = readLlama2cVocab(path);
  if (chatTemplateOverride !== undefined) v.chatTemplate = chatTemplateOverride;
  return new GgufTokenizer(v, 'llama2c');
}

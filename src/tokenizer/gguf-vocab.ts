/**
 * Tokenizer built from a GGUF file's embedded vocab (`tokenizer.ggml.*`), following llama.cpp:
 * - model "llama" → SPM (score-based merges, `<0xNN>` byte fallback, add_space_prefix default
 *   true, spaces → ▁), add_bos default true;
 * - model "gpt2" → byte-level BPE from `tokenizer.ggml.merges` with the pre-tokenizer chosen by
 *   `tokenizer.ggml.pre`, add_bos default false (true for llama3-style vocabs).
 * Token types: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE.
 *
 * Invariants:
 * - encode: special-token text is split out first (CONTROL/UNKNOWN only with parseSpecial,
 *   USER_DEFINED always); SPM prefixes a space to a text fragment at the start or after a
 *   special token; BOS is added only with addSpecialTokens and add_bos_token.
 * - eosTokenIds: eos, eot and CONTROL tokens named like an end of turn (llama.cpp's EOG set).
 * - qwen2 vocabs are NFC-normalized before encoding, as HF's Qwen2 tokenizer does.
 * - decode: CONTROL/UNKNOWN are special (dropped with skipSpecialTokens, else their text);
 *   UNUSED and out-of-range ids decode to nothing; pieces are joined as bytes and decoded as
 *   UTF-8 with U+FFFD for incomplete sequences; SPM strips one leading space of the result.
 */
import { ggufArray, ggufBool, ggufNumber, ggufString, readGguf, type GgufFile } from '../formats/gguf.js';
import { BpeEncoder } from './bpe.js';
import { parseByteToken, spmPieceBytes, unicodeToBytes, utf8Lossy } from './byte-level.js';
import { ChatTemplate, type SpecialTokensMap } from './chat-template.js';
import { dedupe } from './model-config.js';
import { ignoresMerges, preTokenizerFor } from './pretokenize.js';
import { splitSpecial } from './special-split.js';
import { SpmEncoder } from './spm.js';
import type { ChatTemplateOptions, DecodeOptions, EncodeOptions, Tokenizer, TokenizerKind } from './tokenizer.js';

export const TokenType = { Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;

/** The vocabulary part of GGUF metadata, independent of the file format (llama2.c reuses it). */
export interface VocabData {
  model: 'llama' | 'gpt2';
  tokens: string[];
  types: number[];
  scores?: number[];
  merges?: string[];
  pre?: string;
  bos: number | null;
  eos: number | null;
  eot?: number | null;
  unk: number | null;
  pad: number | null;
  addBos?: boolean;
  addEos?: boolean;
  addSpacePrefix?: boolean;
  chatTemplate?: string | null;
  source: string;
}

const EOG_TEXTS = new Set(['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>', '<|end_of_text|>']);

export class GgufTokenizer implements Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  readonly chatTemplate: string | null;
  readonly addsBos: boolean;
  private readonly addsEos: boolean;
  private readonly eosId: number | null;
  private readonly tokens: string[];
  private readonly types: number[];
  private readonly tokenIds = new Map<string, number>();
  private readonly specialsAll: { text: string; id: number }[];
  private readonly specialsUser: { text: string; id: number }[];
  private readonly spm: SpmEncoder | null = null;
  private readonly bpe: BpeEncoder | null = null;
  private readonly addSpacePrefix: boolean;
  /** Qwen2-style vocabs: NFC before pre-tokenizing, as their tokenizer.json normalizer does (llama.cpp skips it). */
  private readonly nfc: boolean;
  private readonly pieceBytes: (Uint8Array | undefined)[];
  private readonly template: ChatTemplate | null;

  constructor(v: VocabData, kind?: TokenizerKind) {
    this.kind = kind ?? (v.model === 'llama' ? 'gguf-spm' : 'gguf-bpe');
    this.tokens = v.tokens;
    this.types = v.types.length === v.tokens.length ? v.types : v.tokens.map(() => TokenType.Normal);
    this.vocabSize = v.tokens.length;
    v.tokens.forEach((t, i) => this.tokenIds.set(t, i));
    const valid = (id: number | null | undefined): number | null =>
      id !== null && id !== undefined && id >= 0 && id < this.vocabSize ? id : null;
    this.bosTokenId = valid(v.bos);
    this.eosId = valid(v.eos);
    this.padTokenId = valid(v.pad);
    const eot = valid(v.eot ?? null);
    // llama.cpp's end-of-generation set: eos, eot, and CONTROL tokens with a well-known end text.
    const eog = v.tokens.flatMap((t, id) => (EOG_TEXTS.has(t) && this.types[id] === TokenType.Control ? [id] : []));
    this.eosTokenIds = dedupe([this.eosId, eot, ...eog].filter((x): x is number => x !== null));
    const isSpm = v.model === 'llama';
    this.addsBos = (v.addBos ?? (isSpm || ignoresMerges(v.pre))) && this.bosTokenId !== null;
    this.addsEos = (v.addEos ?? false) && this.eosId !== null;
    this.nfc = !isSpm && preTokenizerFor(v.pre) === 'qwen2';
    this.addSpacePrefix = isSpm ? (v.addSpacePrefix ?? true) : (v.addSpacePrefix ?? false);

    const specials: { text: string; id: number; user: boolean }[] = [];
    this.types.forEach((t: number, id) => {
      if (t === TokenType.Control || t === TokenType.UserDefined || t === TokenType.Unknown) {
        specials.push({ text: this.tokens[id]!, id, user: t === TokenType.UserDefined });
      }
    });
    specials.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    this.specialsAll = specials.map(({ text, id }) => ({ text, id }));
    this.specialsUser = specials.filter((s) => s.user).map(({ text, id }) => ({ text, id }));

    if (isSpm) {
      this.spm = new SpmEncoder(this.tokenIds, v.scores ?? new Array<number>(this.vocabSize).fill(0), valid(v.unk));
    } else {
      if (!v.merges) throw new Error(`${v.source}: BPE vocab without tokenizer.ggml.merges`);
      this.bpe = new BpeEncoder(this.tokenIds, v.merges, preTokenizerFor(v.pre), ignoresMerges(v.pre));
    }
    this.pieceBytes = new Array(this.vocabSize);

    this.chatTemplate = v.chatTemplate ?? null;
    const specialMap: SpecialTokensMap = {};
    const named: [string, number | null][] = [['bos_token', this.bosTokenId], ['eos_token', this.eosId], ['unk_token', valid(v.unk)], ['pad_token', this.padTokenId]];
    for (const [k, id] of named) if (id !== null) specialMap[k] = this.tokens[id]!;
    this.template = this.chatTemplate !== null ? new ChatTemplate(this.chatTemplate, specialMap, v.source) : null;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addSpecial = opts.addSpecialTokens ?? true;
    const parseSpecial = opts.parseSpecial ?? true;
    const out: number[] = [];
    if (addSpecial && this.addsBos) out.push(this.bosTokenId!);
    let prevSpecial = true;
    for (const f of splitSpecial(text, parseSpecial ? this.specialsAll : this.specialsUser)) {
      if ('id' in f) {
        out.push(f.id);
        prevSpecial = true;
        continue;
      }
      if (this.spm) {
        const t = (this.addSpacePrefix && prevSpecial ? ' ' : '') + f.text;
        this.spm.encode(t.replaceAll(' ', '\u2581'), out);
      } else {
        this.bpe!.encode(this.nfc ? f.text.normalize('NFC') : f.text, out);
      }
      prevSpecial = false;
    }
    if (addSpecial && this.addsEos) out.push(this.eosId!);
    return out;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) continue;
      if (skip && this.isSpecial(id)) continue;
      const b = this.pieceFor(id);
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const text = utf8Lossy(all);
    return this.spm && this.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
  }

  isSpecial(id: number): boolean {
    const t = this.types[id] as number | undefined;
    return t === TokenType.Control || t === TokenType.Unknown || t === TokenType.Unused;
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return new Uint8Array(0);
    return this.pieceFor(id);
  }

  tokenType(id: number): number | undefined {
    return this.types[id];
  }

  applyChatTemplate(messages: object[], opts: ChatTemplateOptions): string {
    if (!this.template) throw new Error('this GGUF has no tokenizer.chat_template; pass --chat-template with a template file');
    return this.template.render(messages, opts);
  }

  /** Raw bytes of a token's piece (the text for CONTROL/USER_DEFINED, nothing for UNUSED). */
  private pieceFor(id: number): Uint8Array {
    let b = this.pieceBytes[id];
    if (b) return b;
    const text = this.tokens[id]!;
    const type = this.types[id] as number;
    if (type === TokenType.Unused) b = new Uint8Array(0);
    else if (type === TokenType.Control || type === TokenType.UserDefined || type === TokenType.Unknown) b = new TextEncoder().encode(text);
    else if (type === TokenType.Byte) {
      const byte = parseByteToken(text);
      b = byte !== null ? Uint8Array.of(byte) : new TextEncoder().encode(text);
    } else if (this.spm) b = spmPieceBytes(text);
    else b = unicodeToBytes(text);
    this.pieceBytes[id] = b;
    return b;
  }
}

function idKey(f: GgufFile, key: string): number | null {
  const v = ggufNumber(f, key);
  return v === undefined || v < 0 || v >= 0xffffffff ? null : v;
}

/** Reads the vocab from GGUF metadata; throws an Error naming the file when it is missing. */
export function vocabFromGguf(f: GgufFile): VocabData {
  const model = ggufString(f, 'tokenizer.ggml.model');
  if (model === undefined) throw new Error(`${f.path}: no tokenizer.ggml.model (the GGUF has no embedded vocab)`);
  if (model !== 'llama' && model !== 'gpt2') throw new Error(`${f.path}: unsupported tokenizer.ggml.model "${model}" (supported: llama, gpt2)`);
  const tokens = ggufArray(f, 'tokenizer.ggml.tokens');
  if (!tokens || !tokens.every((t) => typeof t === 'string')) throw new Error(`${f.path}: missing or invalid tokenizer.ggml.tokens`);
  const nums = (key: string): number[] | undefined => {
    const a = ggufArray(f, key);
    return a ? a.map((x) => Number(x)) : undefined;
  };
  const merges = ggufArray(f, 'tokenizer.ggml.merges');
  return {
    model,
    tokens: tokens as string[],
    types: nums('tokenizer.ggml.token_type') ?? [],
    scores: nums('tokenizer.ggml.scores'),
    merges: merges as string[] | undefined,
    pre: ggufString(f, 'tokenizer.ggml.pre'),
    bos: idKey(f, 'tokenizer.ggml.bos_token_id') ?? (model === 'llama' ? 1 : null),
    eos: idKey(f, 'tokenizer.ggml.eos_token_id') ?? (model === 'llama' ? 2 : null),
    eot: idKey(f, 'tokenizer.ggml.eot_token_id'),
    unk: idKey(f, 'tokenizer.ggml.unknown_token_id') ?? (model === 'llama' ? 0 : null),
    pad: idKey(f, 'tokenizer.ggml.padding_token_id'),
    addBos: ggufBool(f, 'tokenizer.ggml.add_bos_token'),
    addEos: ggufBool(f, 'tokenizer.ggml.add_eos_token'),
    addSpacePrefix: ggufBool(f, 'tokenizer.ggml.add_space_prefix'),
    chatTemplate: ggufString(f, 'tokenizer.chat_template') ?? null,
    source: f.path,
  };
}

export function loadGgufTokenizer(path: string, chatTemplateOverride?: string): GgufTokenizer {
  const f = readGguf(path);
  const v = vocabFromGguf(f);
  if (chatTemplateOverride !== undefined) v.chatTemplate = chatTemplateOverride;
  return new GgufTokenizer(v);
}

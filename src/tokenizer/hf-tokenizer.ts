/**
 * Tokenizer for a Hugging Face model folder: tokenizer.json via @huggingface/tokenizers, special
 * tokens and flags from tokenizer_config.json, eos ids merged from config.json and
 * generation_config.json, chat template from tokenizer_config.json / chat_template.jinja / override.
 *
 * Invariants:
 * - encode matches HF `encode(text, add_special_tokens)`: added tokens are matched in the text even
 *   with addSpecialTokens=false; BOS comes only from the post-processor.
 * - decode matches transformers: special ids (added tokens flagged special in tokenizer.json or
 *   tokenizer_config.json, plus named special tokens) are dropped with skipSpecialTokens; ids the
 *   vocab does not know are dropped (as Rust does); clean_up_tokenization_spaces is applied only
 *   when tokenizer_config.json sets it to true (transformers' default is false).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { spmPieceBytes, unicodeToBytes } from './byte-level.js';
import { ChatTemplate, selectTemplate, type SpecialTokensMap } from './chat-template.js';
import { mergeEosIds, readJsonFile, readOptionalJson, tokenContent, type Json } from './model-config.js';
import type { ChatTemplateOptions, DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';

const NAMED_SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

type PieceKind = 'byte-level' | 'spm' | 'plain';

export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  readonly chatTemplate: string | null;
  readonly addsBos: boolean;
  private readonly lib: HfLibTokenizer;
  private readonly vocab: (string | undefined)[];
  private readonly special: Set<number>;
  private readonly added: Set<number>;
  private readonly cleanUp: boolean;
  private readonly pieceKind: PieceKind;
  private readonly template: ChatTemplate | null;
  private readonly byteCache = new Map<number, Uint8Array>();

  constructor(
    tokenizerJson: Json,
    config: Json,
    opts: { dir: string | null; chatTemplate?: string | null; templateOrigin?: string },
  ) {
    this.lib = new HfLibTokenizer(tokenizerJson, config);
    const model = (this.lib as unknown as { model: { vocab: (string | undefined)[] } }).model;
    this.vocab = model.vocab;
    this.vocabSize = this.vocab.length;

    const addedList = (tokenizerJson.added_tokens ?? []) as { id: number; content: string; special?: boolean }[];
    this.added = new Set(addedList.map((t) => t.id));
    this.special = new Set(addedList.filter((t) => t.special).map((t) => t.id));
    const decoderCfg = (config.added_tokens_decoder ?? {}) as Record<string, { content?: string; special?: boolean }>;
    for (const [id, t] of Object.entries(decoderCfg)) {
      this.added.add(Number(id));
      if (t.special) this.special.add(Number(id));
    }
    const specialMap: SpecialTokensMap = {};
    for (const key of NAMED_SPECIAL) {
      const content = tokenContent(config[key]);
      if (content === null) continue;
      specialMap[key] = content;
      const id = this.tokenToId(content);
      if (id !== undefined) this.special.add(id);
    }
    const extraSpecial = Array.isArray(config.additional_special_tokens)
      ? config.additional_special_tokens.map(tokenContent).filter((x): x is string => x !== null)
      : [];
    if (extraSpecial.length > 0) specialMap.additional_special_tokens = extraSpecial;
    for (const t of extraSpecial) {
      const id = this.tokenToId(t);
      if (id !== undefined) this.special.add(id);
    }

    const idOf = (key: string): number | null => {
      const c = tokenContent(config[key]);
      return c === null ? null : (this.tokenToId(c) ?? null);
    };
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token');
    this.eosTokenIds = mergeEosIds(idOf('eos_token'), opts.dir);
    this.cleanUp = config.clean_up_tokenization_spaces === true;
    const probe = this.lib.encode('', { add_special_tokens: true }).ids;
    this.addsBos = probe.length > 0 && this.bosTokenId !== null && probe[0] === this.bosTokenId;
    this.pieceKind = detectPieceKind(tokenizerJson.decoder);

    const source = opts.chatTemplate ?? null;
    this.chatTemplate = source;
    this.template = source !== null ? new ChatTemplate(source, specialMap, opts.templateOrigin ?? 'tokenizer_config.json') : null;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.lib.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions & { cleanUpTokenizationSpaces?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const kept: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocab.length || this.vocab[id] === undefined) continue;
      if (skip && this.special.has(id)) continue;
      kept.push(id);
    }
    if (kept.length === 0) return '';
    return this.lib.decode(kept, {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: opts.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.vocab[id];
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  tokenBytes(id: number): Uint8Array {
    const cached = this.byteCache.get(id);
    if (cached) return cached;
    const piece = this.vocab[id];
    let bytes: Uint8Array;
    if (piece === undefined) bytes = new Uint8Array(0);
    else if (this.added.has(id)) bytes = new TextEncoder().encode(piece);
    else if (this.pieceKind === 'byte-level') bytes = unicodeToBytes(piece);
    else if (this.pieceKind === 'spm') bytes = spmPieceBytes(piece);
    else bytes = new TextEncoder().encode(piece);
    this.byteCache.set(id, bytes);
    return bytes;
  }

  applyChatTemplate(messages: object[], opts: ChatTemplateOptions): string {
    if (!this.template) {
      throw new Error('this tokenizer has no chat template; pass --chat-template with a template file');
    }
    return this.template.render(messages, opts);
  }
}

function detectPieceKind(decoder: unknown): PieceKind {
  const types: string[] = [];
  const walk = (d: unknown): void => {
    if (!d || typeof d !== 'object') return;
    const o = d as { type?: unknown; decoders?: unknown; pattern?: { String?: unknown } };
    if (typeof o.type === 'string') types.push(o.type === 'Replace' && o.pattern?.String === '\u2581' ? 'Metaspace' : o.type);
    if (Array.isArray(o.decoders)) o.decoders.forEach(walk);
  };
  walk(decoder);
  if (types.includes('ByteLevel')) return 'byte-level';
  if (types.includes('Metaspace') || types.includes('ByteFallback')) return 'spm';
  return 'plain';
}

/** Loads tokenizer.json + tokenizer_config.json (+ config/generation_config eos) from a folder. */
export function loadHfTokenizer(dir: string, chatTemplateOverride?: string): HfTokenizer {
  const tokenizerJson = readJsonFile(join(dir, 'tokenizer.json'));
  const config = readOptionalJson(dir, 'tokenizer_config.json');
  let chatTemplate: string | null = null;
  let origin = join(dir, 'tokenizer_config.json');
  if (chatTemplateOverride !== undefined) {
    chatTemplate = chatTemplateOverride;
    origin = '--chat-template file';
  } else if (existsSync(join(dir, 'chat_template.jinja'))) {
    origin = join(dir, 'chat_template.jinja');
    chatTemplate = readFileSync(origin, 'utf8');
  } else {
    chatTemplate = selectTemplate(config.chat_template);
  }
  try {
    return new HfTokenizer(tokenizerJson, config, { dir, chatTemplate, templateOrigin: origin });
  } catch (e) {
    throw new Error(`cannot build tokenizer from ${join(dir, 'tokenizer.json')}: ${(e as Error).message}`);
  }
}

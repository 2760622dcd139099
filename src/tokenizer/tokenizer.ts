/**
 * The tokenizer interface every consumer uses, and `loadTokenizer`, which picks the implementation:
 * - a folder with tokenizer.json (+ tokenizer_config.json, config.json, generation_config.json)
 *   → HfTokenizer (@huggingface/tokenizers);
 * - a `.gguf` file → a tokenizer built from the embedded `tokenizer.ggml.*` vocab (SPM or BPE);
 * - a llama2.c `tok*.bin` file, or a folder holding one and no tokenizer.json → Llama2cTokenizer.
 *
 * Invariants: every implementation returns `decode([]) === ''`, never throws on out-of-range ids
 * in decode (they decode to nothing), and reports load failures as Errors that name the file.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface EncodeOptions {
  /** Add BOS/EOS where the tokenizer does (HF post-processor, GGUF add_bos_token). Default true. */
  addSpecialTokens?: boolean;
  /**
   * Match special-token text (e.g. `<|im_start|>`) as the special token. Default true.
   * HF tokenizers always match added tokens; GGUF tokenizers honour this like llama.cpp's
   * parse_special (false: only USER_DEFINED tokens are matched).
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Accepted for SGLang compatibility; fast (tokenizer.json) tokenizers ignore it, as transformers does. */
  spacesBetweenSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  tools?: unknown[] | null;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: boolean;
  /** Extra template variables (chat_template_kwargs), e.g. enable_thinking, date_string. */
  extra?: Record<string, unknown>;
}

export type TokenizerKind = 'hf' | 'gguf-spm' | 'gguf-bpe' | 'llama2c';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of token ids the tokenizer knows (max id + 1, added tokens included). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  /** tokenizer eos + config.json eos_token_id + generation_config.json eos_token_id, deduped. */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  readonly chatTemplate: string | null;
  /** Whether encode(text) with addSpecialTokens prepends BOS. */
  readonly addsBos: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  isSpecial(id: number): boolean;
  /** Raw bytes of the token's piece (byte-level unmapped, SPM ▁→space, <0xNN>→byte). */
  tokenBytes(id: number): Uint8Array;
  /** The token's vocabulary string, or undefined for an unknown id. */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  applyChatTemplate(messages: object[], opts: ChatTemplateOptions): string;
}

export interface LoadTokenizerOptions {
  /** A file holding a Jinja chat template; replaces the model's own template. */
  chatTemplatePath?: string;
}

/** Loads the tokenizer at `path` (a model folder, a .gguf file or a llama2.c tokenizer .bin). */
export async function loadTokenizer(path: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (!existsSync(path)) throw new Error(`tokenizer path not found: ${path}`);
  const chatTemplateOverride = opts.chatTemplatePath !== undefined ? readChatTemplateFile(opts.chatTemplatePath) : undefined;
  const st = statSync(path);
  if (st.isDirectory()) {
    if (existsSync(join(path, 'tokenizer.json'))) {
      const { loadHfTokenizer } = await import('./hf-tokenizer.js');
      return loadHfTokenizer(path, chatTemplateOverride);
    }
    for (const name of ['tokenizer.bin', 'tok512.bin']) {
      if (existsSync(join(path, name))) {
        const { loadLlama2cTokenizer } = await import('./llama2c-vocab.js');
        return loadLlama2cTokenizer(join(path, name), chatTemplateOverride);
      }
    }
    throw new Error(`no tokenizer found in ${path}: expected ${join(path, 'tokenizer.json')}`);
  }
  if (path.endsWith('.gguf') || isGgufFile(path)) {
    const { loadGgufTokenizer } = await import('./gguf-vocab.js');
    return loadGgufTokenizer(path, chatTemplateOverride);
  }
  if (path.endsWith('.bin')) {
    const { loadLlama2cTokenizer } = await import('./llama2c-vocab.js');
    return loadLlama2cTokenizer(path, chatTemplateOverride);
  }
  if (path.endsWith('tokenizer.json')) return loadTokenizer(join(path, '..'), opts);
  throw new Error(`unsupported tokenizer file ${path}: expected a model folder, a .gguf file or a llama2.c .bin`);
}

function isGgufFile(path: string): boolean {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'GGUF';
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function readChatTemplateFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read chat template file ${path}: ${(e as Error).message}`);
  }
}

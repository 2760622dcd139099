/**
 * Incremental detokenization with SGLang's semantics (DetokenizerManager + Req offsets).
 *
 * State per request: `ids` = the last ≤5 prompt ids (the initial "surround" that gives the first
 * output token its correct leading space) followed by the output ids; `surrOffset`/`readOffset`
 * index into `ids`. Each push decodes ids[surr:read] and ids[surr:]; the difference is new text.
 * It is committed (offsets advance) only when non-empty and not ending in U+FFFD (an incomplete
 * UTF-8 character); otherwise only its printable prefix (transformers' find_printable_text rule)
 * may be shown, and only if it extends what was already emitted.
 *
 * Invariants: never emits text ending in a half character before flush(); the concatenation of
 * everything push()/flush() return equals the committed text plus the final tail, i.e. the SGLang
 * final output; emitted text is never retracted.
 */
import type { DecodeOptions, Tokenizer } from './tokenizer.js';

/** SGLang's INIT_INCREMENTAL_DETOKENIZATION_OFFSET. */
export const INIT_SURROUND_TOKENS = 5;

export interface DetokenizerOptions extends DecodeOptions {
  /** Prompt ids; the last INIT_SURROUND_TOKENS of them seed the surround window. */
  promptIds?: readonly number[];
}

export class IncrementalDetokenizer {
  private readonly ids: number[];
  private surrOffset = 0;
  private readOffset: number;
  /** Committed text (SGLang decoded_text). */
  private decodedText = '';
  /** Everything returned so far. */
  private emitted = '';
  private readonly decodeOpts: DecodeOptions;

  constructor(
    private readonly tokenizer: Pick<Tokenizer, 'decode'>,
    opts: DetokenizerOptions = {},
  ) {
    const prompt = opts.promptIds ?? [];
    this.ids = prompt.slice(Math.max(prompt.length - INIT_SURROUND_TOKENS, 0));
    this.readOffset = this.ids.length;
    this.decodeOpts = { skipSpecialTokens: opts.skipSpecialTokens ?? true, spacesBetweenSpecialTokens: opts.spacesBetweenSpecialTokens ?? true };
  }

  /** Appends output ids and returns the newly printable text (possibly ''). */
  push(newIds: readonly number[]): string {
    for (const id of newIds) this.ids.push(id);
    const newText = this.pendingText();
    let visible: string;
    if (newText.length > 0 && !newText.endsWith('\uFFFD')) {
      this.decodedText += newText;
      this.surrOffset = this.readOffset;
      this.readOffset = this.ids.length;
      visible = this.decodedText;
    } else {
      visible = this.decodedText + findPrintableText(newText);
    }
    return this.emit(visible);
  }

  /** Ends the stream: returns the rest of the text, a trailing incomplete character included. */
  flush(): string {
    return this.emit(this.decodedText + this.pendingText(), true);
  }

  /** The full text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  private pendingText(): string {
    const surr = this.tokenizer.decode(this.ids.slice(this.surrOffset, this.readOffset), this.decodeOpts);
    const read = this.tokenizer.decode(this.ids.slice(this.surrOffset), this.decodeOpts);
    return read.slice(surr.length);
  }

  private emit(visible: string, final = false): string {
    if (!visible.startsWith(this.emitted)) {
      // A later token changed text already shown (rare; e.g. clean-up rules). Never retract:
      // emit only what extends beyond the shown length, at the end.
      if (!final || visible.length <= this.emitted.length) return '';
      const tail = visible.slice(this.emitted.length);
      this.emitted += tail;
      return tail;
    }
    const delta = visible.slice(this.emitted.length);
    this.emitted = visible;
    return delta;
  }
}

/** transformers' TextStreamer rule, as SGLang uses it for uncommitted text. */
export function findPrintableText(text: string): string {
  if (text.endsWith('\n')) return text;
  const chars = [...text];
  const last = chars[chars.length - 1];
  if (last !== undefined && isCjk(last.codePointAt(0)!)) return text;
  const prev = chars[chars.length - 2];
  if (prev !== undefined && isCjk(prev.codePointAt(0)!)) return text.slice(0, text.length - last!.length);
  return text.slice(0, text.lastIndexOf(' ') + 1);
}

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * Streaming tool-call extraction over any `ToolFormat`, producing OpenAI-style deltas the way
 * SGLang's detectors stream them.
 *
 * Before the format's bot token appears, text is normal content (a suffix that could begin the
 * bot token is held back). From the bot token on, the tool section is re-read after each chunk
 * with `format.partialCalls`: a call is announced by a name delta (arguments "") as soon as its
 * name is known, then its arguments follow as fragments of the final arguments string as they
 * become final. `finish()` parses the whole output once more (`detectAndParse`) and sends what
 * only a full parse finds: calls not yet announced and the rest of the announced calls' arguments.
 *
 * Invariants: each call is announced once, in order, with index = its position among the calls;
 * a fragment is only ever appended, never retracted, so the fragments of a call concatenate to its
 * final `parameters` whenever the partial and whole parses agree (always, for well-formed output);
 * concatenating every normal-text delta gives the text without the tool section.
 */
import { type PartialCall, type ToolDef, type ToolFormat, wholeCalls } from './types.js';

export interface ToolDelta {
  index: number;
  /** Present on the first delta of a call (whose arguments are ""). */
  name?: string;
  arguments: string;
}

export interface ToolStreamResult {
  normalText: string;
  calls: ToolDelta[];
}

export class ToolCallStream {
  private pending = '';
  private section: string | null = null;
  private all = '';
  private emitted = '';
  /** Names of the announced calls, by index. */
  private readonly names: string[] = [];
  /** Argument text sent so far, by call index. */
  private readonly sentArgs: string[] = [];

  constructor(
    private readonly format: ToolFormat,
    private readonly tools: readonly ToolDef[],
    /** Whether a tool section may only start at the beginning of the output (json_array). */
    private readonly atStart = false,
  ) {}

  get numCalls(): number {
    return this.names.length;
  }

  push(chunk: string): ToolStreamResult {
    this.all += chunk;
    if (this.section !== null) {
      this.section += chunk;
      return { normalText: '', calls: this.advance(this.format.partialCalls(this.section, this.tools)) };
    }
    this.pending += chunk;
    const bot = this.format.botToken;
    const i = this.atStart ? (this.pending.trimStart().startsWith(bot) ? this.pending.indexOf(bot) : -1) : this.findStart(this.pending);
    if (i < 0) {
      if (this.atStart && this.pending.trim().length > 0) return this.flushNormal(this.pending.length);
      const held = Math.max(...this.startTokens.map((t) => holdBack(this.pending, t)));
      return this.flushNormal(this.pending.length - held);
    }
    const normalText = this.pending.slice(0, i);
    this.emitted += normalText;
    this.section = this.pending.slice(i);
    this.pending = '';
    return { normalText, calls: this.advance(this.format.partialCalls(this.section, this.tools)) };
  }

  /** End of output: remaining held text, and what only a whole parse finds. */
  finish(): ToolStreamResult {
    if (this.section === null) {
      const t = this.pending;
      this.pending = '';
      return { normalText: t, calls: [] };
    }
    const full = this.format.detectAndParse(this.all, this.tools);
    const calls = this.advance(wholeCalls(full.calls));
    // A section that never produced a call was normal text after all (e.g. a bare "[").
    if (this.names.length === 0) return { normalText: this.section, calls };
    // Normal text after the section (formats that keep it, e.g. step3).
    const rest = full.normalText.startsWith(this.emitted) ? full.normalText.slice(this.emitted.length) : '';
    return { normalText: rest, calls };
  }

  private get startTokens(): readonly string[] {
    return this.format.startTokens ?? [this.format.botToken];
  }

  private findStart(text: string): number {
    const found = this.startTokens.map((t) => text.indexOf(t)).filter((i) => i >= 0);
    if (found.length > 0) return Math.min(...found);
    if (this.format.botToken === '[') return -1;
    // llama3 without <|python_tag|>: a call must start the output.
    return this.format.hasToolCall(text) && text.startsWith('{') ? 0 : -1;
  }

  private flushNormal(n: number): ToolStreamResult {
    const t = this.pending.slice(0, Math.max(0, n));
    this.pending = this.pending.slice(t.length);
    this.emitted += t;
    return { normalText: t, calls: [] };
  }

  /** Deltas that bring the sent state up to `calls`: new names, then argument growth. */
  private advance(calls: readonly PartialCall[]): ToolDelta[] {
    const out: ToolDelta[] = [];
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k]!;
      if (k === this.names.length) {
        this.names.push(c.name);
        this.sentArgs.push('');
        out.push({ index: k, name: c.name, arguments: '' });
      }
      const sent = this.sentArgs[k]!;
      if (this.names[k] !== c.name || c.args.length <= sent.length || !c.args.startsWith(sent)) continue;
      out.push({ index: k, arguments: c.args.slice(sent.length) });
      this.sentArgs[k] = c.args;
    }
    return out;
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `token`. */
export function holdBack(text: string, token: string): number {
  for (let n = Math.min(text.length, token.length - 1); n > 0; n--) {
    if (token.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}

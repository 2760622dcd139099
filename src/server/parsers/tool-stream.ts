/**
 * Streaming tool-call extraction over any `ToolFormat`, producing OpenAI-style deltas.
 *
 * Before the format's bot token appears, text is normal content (a suffix that could begin the
 * bot token is held back). From the bot token on, the tool section is re-parsed after each chunk;
 * each newly complete call is emitted as a name delta (with its id, empty arguments) followed by
 * an arguments delta, as SGLang streams them. `finish()` parses the whole output once more and
 * emits calls not yet sent (formats without an end marker complete only there).
 *
 * Invariants: each call is emitted once, in order, with index = its position among the calls;
 * concatenating every normal-text delta gives text without the tool section.
 */
import type { ToolCallItem, ToolDef, ToolFormat } from './types.js';

export interface ToolDelta {
  index: number;
  /** Present on the first delta of a call. */
  name?: string;
  arguments: string;
  call: ToolCallItem;
}

export interface ToolStreamResult {
  normalText: string;
  calls: ToolDelta[];
}

export class ToolCallStream {
  private pending = '';
  private section: string | null = null;
  private sent = 0;
  private all = '';
  private emitted = '';

  constructor(
    private readonly format: ToolFormat,
    private readonly tools: readonly ToolDef[],
    /** Whether a tool section may only start at the beginning of the output (json_array). */
    private readonly atStart = false,
  ) {}

  get numCalls(): number {
    return this.sent;
  }

  push(chunk: string): ToolStreamResult {
    this.all += chunk;
    if (this.section === null) {
      this.pending += chunk;
      const bot = this.format.botToken;
      const i = this.atStart ? (this.pending.trimStart().startsWith(bot) ? this.pending.indexOf(bot) : -1) : this.findStart(this.pending);
      if (i < 0) {
        if (this.atStart && this.pending.trim().length > 0) return this.flushNormal(this.pending.length);
        return this.flushNormal(this.pending.length - holdBack(this.pending, bot));
      }
      const normalText = this.pending.slice(0, i);
      this.emitted += normalText;
      this.section = this.pending.slice(i);
      this.pending = '';
      return { normalText, calls: this.newCalls(this.format.detectAndParse(this.section, this.tools).calls) };
    }
    this.section += chunk;
    return { normalText: '', calls: this.newCalls(this.format.detectAndParse(this.section, this.tools).calls) };
  }

  /** End of output: remaining held text and calls only a full parse finds. */
  finish(): ToolStreamResult {
    if (this.section === null) {
      const t = this.pending;
      this.pending = '';
      return { normalText: t, calls: [] };
    }
    const full = this.format.detectAndParse(this.all, this.tools);
    const calls = this.newCalls(full.calls);
    // A section that never produced a call was normal text after all (e.g. a bare "[").
    if (this.sent === 0) return { normalText: this.section, calls };
    // Normal text after the section (formats that keep it, e.g. step3).
    const rest = full.normalText.startsWith(this.emitted) ? full.normalText.slice(this.emitted.length) : '';
    return { normalText: rest, calls };
  }

  private findStart(text: string): number {
    const i = text.indexOf(this.format.botToken);
    if (this.format.botToken === '[') return i;
    if (i >= 0) return i;
    // llama3 without <|python_tag|>: a call must start the output.
    return this.format.hasToolCall(text) && text.startsWith('{') ? 0 : -1;
  }

  private flushNormal(n: number): ToolStreamResult {
    const t = this.pending.slice(0, Math.max(0, n));
    this.pending = this.pending.slice(t.length);
    this.emitted += t;
    return { normalText: t, calls: [] };
  }

  private newCalls(calls: ToolCallItem[]): ToolDelta[] {
    const out: ToolDelta[] = [];
    for (let k = this.sent; k < calls.length; k++) {
      const c = calls[k]!;
      out.push({ index: k, name: c.name, arguments: '', call: c }, { index: k, arguments: c.parameters, call: c });
    }
    this.sent = Math.max(this.sent, calls.length);
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

/**
 * The stable canonical prefix of a JSON value that is still being generated.
 *
 * `stableJsonPrefix(s, from)` reads the JSON value starting at `from` (leading whitespace
 * allowed) and returns the part of its canonical serialization (`pyJson`, i.e. Python
 * `json.dumps(v, ensure_ascii=False)`) that no later text can change, and where the value ends
 * once it is complete.
 *
 * Invariants (for text without duplicate object keys):
 * - Monotonic: if `s2` extends `s1`, the prefix for `s2` starts with the prefix for `s1`.
 * - Exact at the end: when `end` is set, `text === pyJson(JSON.parse(s.slice(from, end)))`.
 * - Never retracts: an unfinished number, literal or object key is held back whole; an unfinished
 *   string value is given up to its last complete character (an unfinished escape or a lone high
 *   surrogate is held back). Invalid JSON stops the prefix where the error begins.
 */
import { pyJson } from './types.js';

export interface JsonPrefix {
  /** Canonical serialization of what is final so far. */
  text: string;
  /** Index just after the value in `s` when complete, else null. */
  end: number | null;
}

class NeedMore extends Error {}
class Invalid extends Error {}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
/** A run of string characters that need no decoding (sticky: matched at `lastIndex`). */
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/;

class PrefixScanner {
  pos: number;
  out = '';
  constructor(
    private readonly s: string,
    from: number,
  ) {
    this.pos = from;
  }

  ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos]!)) this.pos++;
  }

  /** Next non-space character; throws NeedMore at the end of the text. */
  peek(): string {
    this.ws();
    if (this.pos >= this.s.length) throw new NeedMore();
    return this.s[this.pos]!;
  }

  value(): void {
    const c = this.peek();
    if (c === '{') this.container('}', true);
    else if (c === '[') this.container(']', false);
    else if (c === '"') this.out += JSON.stringify(this.string(true));
    else if (c === 't' || c === 'f' || c === 'n') this.literal();
    else this.number();
  }

  /** An object (keyed) or array body, emitting `{`/`[`, ", " and ": " as Python does. */
  container(close: string, keyed: boolean): void {
    this.pos++;
    this.out += keyed ? '{' : '[';
    if (this.peek() === close) {
      this.pos++;
      this.out += close;
      return;
    }
    for (;;) {
      if (keyed) {
        if (this.peek() !== '"') throw new Invalid();
        const key = this.string(false);
        if (this.peek() !== ':') throw new Invalid();
        this.pos++;
        this.out += `${JSON.stringify(key)}: `;
      }
      this.value();
      const c = this.peek();
      this.pos++;
      if (c === close) {
        this.out += close;
        return;
      }
      if (c !== ',') throw new Invalid();
      this.out += ', ';
    }
  }

  /** A string token; an unfinished value string adds its final part to `out` before NeedMore. */
  string(partialOk: boolean): string {
    let decoded = '';
    let i = this.pos + 1;
    while (i < this.s.length) {
      PLAIN.lastIndex = i;
      const run = PLAIN.exec(this.s)![0];
      decoded += run;
      i += run.length;
      if (i >= this.s.length) break;
      const c = this.s[i]!;
      if (c === '"') {
        this.pos = i + 1;
        return decoded;
      }
      if (c !== '\\') throw new Invalid();
      const e = this.s[i + 1];
      if (e === undefined) break;
      if (e === 'u') {
        const hex = this.s.slice(i + 2, i + 6);
        if (hex.length < 4) break;
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Invalid();
        decoded += String.fromCharCode(Number.parseInt(hex, 16));
        i += 6;
      } else if (ESCAPES[e] !== undefined) {
        decoded += ESCAPES[e];
        i += 2;
      } else {
        throw new Invalid();
      }
    }
    if (partialOk) {
      const last = decoded.charCodeAt(decoded.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) decoded = decoded.slice(0, -1);
      this.out += JSON.stringify(decoded).slice(0, -1);
    }
    throw new NeedMore();
  }

  literal(): void {
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      const have = this.s.slice(this.pos, this.pos + word.length);
      if (have === word) {
        this.pos += word.length;
        this.out += pyJson(v);
        return;
      }
      if (word.startsWith(have) && this.pos + have.length === this.s.length) throw new NeedMore();
    }
    throw new Invalid();
  }

  /** A number is final only once a character that cannot extend it follows. */
  number(): void {
    const m = NUMBER.exec(this.s.slice(this.pos, this.pos + 400));
    if (!m) {
      if (/^-?$/.test(this.s.slice(this.pos))) throw new NeedMore();
      throw new Invalid();
    }
    const next = this.pos + m[0].length;
    if (next >= this.s.length) throw new NeedMore();
    if (/[0-9.eE+-]/.test(this.s[next]!)) {
      // "1." or "1e" or "1e+" awaiting digits; anything else is malformed.
      if (/^[.eE+-]*$/.test(this.s.slice(next, next + 2)) && next + 2 >= this.s.length) throw new NeedMore();
      throw new Invalid();
    }
    this.pos = next;
    this.out += pyJson(Number(m[0]));
  }
}

export function stableJsonPrefix(s: string, from = 0): JsonPrefix {
  const sc = new PrefixScanner(s, from);
  try {
    sc.value();
    return { text: sc.out, end: sc.pos };
  } catch (e) {
    if (e instanceof NeedMore || e instanceof Invalid) return { text: sc.out, end: null };
    throw e;
  }
}

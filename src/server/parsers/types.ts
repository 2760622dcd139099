/**
 * Shared types and helpers of the tool-call parsers (SGLang function_call/*_detector.py).
 *
 * Invariants:
 * - `parameters` strings are Python `json.dumps(args, ensure_ascii=False)` output (", " and ": "
 *   separators), as SGLang returns them.
 * - A parser only reports calls to declared tools (undefined names are dropped, as SGLang does).
 */
export interface ToolDef {
  name: string;
  parameters?: unknown;
}

export interface ToolCallItem {
  /** Index of the called function in the request's tools list. */
  toolIndex: number;
  name: string;
  /** JSON-encoded arguments. */
  parameters: string;
}

export interface ToolParseResult {
  normalText: string;
  calls: ToolCallItem[];
}

/**
 * A call seen in a tool section that may still be growing. `args` is the part of the final
 * `parameters` string that no later text can change; once `done`, it is the whole of it.
 */
export interface PartialCall {
  toolIndex: number;
  name: string;
  args: string;
  done: boolean;
}

/** One model family's tool-call format. */
export interface ToolFormat {
  /** The text that opens a tool-call section (used to hold back normal text while streaming). */
  readonly botToken: string;
  /** Every text that may open a tool section, when there is more than `botToken` (gpt-oss). */
  readonly startTokens?: readonly string[];
  hasToolCall(text: string): boolean;
  /** Parses a whole output. */
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult;
  /**
   * The calls of a tool section (text from the bot token on) that may be cut anywhere, in order,
   * declared tools only. Each call's `args` only grows as the section grows, and a done call's
   * `args` equals the `parameters` `detectAndParse` gives for it.
   */
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[];
}

/** The calls of a whole parse as finished partial calls (formats that stream a call only whole). */
export function wholeCalls(calls: readonly ToolCallItem[]): PartialCall[] {
  return calls.map((c) => ({ toolIndex: c.toolIndex, name: c.name, args: c.parameters, done: true }));
}

/** Python json.dumps(v, ensure_ascii=False). */
export function pyJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(', ')}}`;
  }
  return JSON.stringify(String(v));
}

/** BaseFormatDetector.parse_base_json: {name, parameters|arguments} objects → calls to known tools. */
export function parseBaseJson(action: unknown, tools: readonly ToolDef[]): ToolCallItem[] {
  const acts = Array.isArray(action) ? action : [action];
  const out: ToolCallItem[] = [];
  for (const a of acts) {
    if (!a || typeof a !== 'object') continue;
    const o = a as Record<string, unknown>;
    const name = o['name'];
    const idx = typeof name === 'string' ? tools.findIndex((t) => t.name === name) : -1;
    if (idx < 0) continue;
    out.push({ toolIndex: idx, name: name as string, parameters: pyJson(o['parameters'] ?? o['arguments'] ?? {}) });
  }
  return out;
}

export function toolIndexOf(name: string, tools: readonly ToolDef[]): number {
  return tools.findIndex((t) => t.name === name);
}

/** The JSON-schema `type` of a tool argument, or null. */
export function argType(tools: readonly ToolDef[], fn: string, arg: string): string | null {
  const t = tools.find((x) => x.name === fn);
  const props = (t?.parameters as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  const ty = props?.[arg]?.type;
  return typeof ty === 'string' ? ty : null;
}

/** json.loads, else a Python literal (ast.literal_eval subset), else the raw string. */
export function parseLooseValue(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    const lit = parsePyLiteral(s);
    return lit.ok ? lit.value : s;
  }
}

/** A small Python literal parser: str, int, float, True/False/None, lists, tuples, dicts. */
export function parsePyLiteral(src: string): { ok: true; value: unknown } | { ok: false } {
  const p = new PyLiteralParser(src);
  try {
    const v = p.value();
    p.ws();
    return p.pos === src.length ? { ok: true, value: v } : { ok: false };
  } catch {
    return { ok: false };
  }
}

export class PyLiteralParser {
  pos = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  peek(): string {
    this.ws();
    return this.s[this.pos] ?? '';
  }
  expect(c: string): void {
    if (this.peek() !== c) throw new Error(`expected ${c}`);
    this.pos++;
  }
  value(): unknown {
    const c = this.peek();
    if (c === '[' || c === '(') return this.seq(c === '[' ? ']' : ')');
    if (c === '{') return this.dict();
    if (c === '"' || c === "'") return this.str();
    const m = /^(True|False|None|true|false|null|-?\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(this.s.slice(this.pos));
    if (!m) throw new Error('bad literal');
    this.pos += m[0].length;
    const t = m[0];
    if (t === 'True' || t === 'true') return true;
    if (t === 'False' || t === 'false') return false;
    if (t === 'None' || t === 'null') return null;
    return Number(t);
  }
  seq(close: string): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    while (this.peek() !== close) {
      out.push(this.value());
      if (this.peek() === ',') this.pos++;
      else break;
    }
    this.expect(close);
    return out;
  }
  dict(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    while (this.peek() !== '}') {
      const k = this.value();
      this.expect(':');
      out[String(k)] = this.value();
      if (this.peek() === ',') this.pos++;
      else break;
    }
    this.expect('}');
    return out;
  }
  str(): string {
    const q = this.s[this.pos]!;
    this.pos++;
    let out = '';
    while (this.pos < this.s.length && this.s[this.pos] !== q) {
      let ch = this.s[this.pos++]!;
      if (ch === '\\') {
        const e = this.s[this.pos++]!;
        ch = ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? e;
      }
      out += ch;
    }
    if (this.s[this.pos] !== q) throw new Error('unterminated string');
    this.pos++;
    return out;
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The stable prefix of `pyJson(args)` for arguments whose parameters arrive whole, one at a time
 * (XML-style formats): nothing before the first parameter, then `{"k": v` growing by `, "k": v`,
 * and the closing brace once the call is done.
 */
export function paramsPrefix(args: Record<string, unknown>, done: boolean): string {
  const full = pyJson(args);
  if (done) return full;
  return Object.keys(args).length > 0 ? full.slice(0, -1) : '';
}

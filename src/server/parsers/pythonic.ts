/**
 * pythonic (Llama 4 / Python-list style): `[get_weather(city="Tokyo"), add(a=1, b=2)]`, optionally
 * wrapped in `<|python_start|>` / `<|python_end|>`. Arguments are Python literals (keywords only).
 * Streaming (as SGLang's PythonicDetector): the calls are sent whole once the list's `]` arrives.
 */
import { PyLiteralParser, type ToolCallItem, type ToolDef, type ToolFormat, type PartialCall, type ToolParseResult, pyJson, toolIndexOf, wholeCalls } from './types.js';

const START = /\[\s*[A-Za-z_]\w*\(/;

export class PythonicFormat implements ToolFormat {
  readonly botToken = '[';
  hasToolCall(text: string): boolean {
    return START.test(text.replace('<|python_start|>', ''));
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const clean = text.replace('<|python_start|>', '').replace('<|python_end|>', '');
    const m = START.exec(clean);
    if (!m) return { normalText: text, calls: [] };
    const parsed = parseCallList(clean, m.index);
    if (!parsed) return { normalText: text, calls: [] };
    const calls: ToolCallItem[] = [];
    for (const c of parsed.calls) {
      const ti = toolIndexOf(c.name, tools);
      if (ti >= 0) calls.push({ toolIndex: ti, name: c.name, parameters: pyJson(c.args) });
    }
    return { normalText: (clean.slice(0, m.index) + clean.slice(parsed.end)).trim(), calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    return wholeCalls(this.detectAndParse(section, tools).calls);
  }
}

/** Parses `[name(k=v, ...), ...]` starting at `start`; null when incomplete or malformed. */
export function parseCallList(s: string, start: number): { calls: { name: string; args: Record<string, unknown> }[]; end: number } | null {
  const p = new PyLiteralParser(s);
  p.pos = start;
  try {
    p.expect('[');
    const calls: { name: string; args: Record<string, unknown> }[] = [];
    while (p.peek() !== ']') {
      const nm = /^[A-Za-z_][\w.]*/.exec(s.slice(p.pos));
      if (!nm) return null;
      p.pos += nm[0].length;
      p.expect('(');
      const args: Record<string, unknown> = {};
      while (p.peek() !== ')') {
        const k = /^[A-Za-z_]\w*/.exec(s.slice(p.pos));
        if (!k) return null;
        p.pos += k[0].length;
        p.expect('=');
        args[k[0]] = p.value();
        if (p.peek() === ',') p.pos++;
        else break;
      }
      p.expect(')');
      calls.push({ name: nm[0], args });
      if (p.peek() === ',') p.pos++;
      else break;
    }
    p.expect(']');
    return { calls, end: p.pos };
  } catch {
    return null;
  }
}

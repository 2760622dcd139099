/**
 * qwen3_coder (XML style): `<tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>`.
 * Values are converted by the tool schema's type (string kept; integer/number/boolean/object/array parsed).
 *
 * Streaming (as SGLang's Qwen3CoderDetector): the name once `<function=NAME>` is complete, then
 * each parameter once its `</parameter>` arrives (`{"k": v`, then `, "k": v`), and `}` once the
 * `</tool_call>` arrives.
 */
import {
  type PartialCall, type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult,
  argType, paramsPrefix, parseLooseValue, pyJson, toolIndexOf,
} from './types.js';

const FUNCTION = /<function=([^>\n]*)>/g;
const PARAMETER = /<parameter=([^>\n]*)>([\s\S]*?)<\/parameter>/g;

export class Qwen3CoderFormat implements ToolFormat {
  readonly botToken = '<tool_call>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const calls: ToolCallItem[] = [];
    for (const m of text.matchAll(/<tool_call>([\s\S]*?)<\/tool_call>/g)) {
      for (const f of m[1]!.matchAll(/<function=([^>\n]*)>([\s\S]*?)<\/function>/g)) {
        const name = f[1]!.trim();
        const ti = toolIndexOf(name, tools);
        if (ti < 0) continue;
        calls.push({ toolIndex: ti, name, parameters: pyJson(parseParams(f[2]!, name, tools)) });
      }
    }
    return { normalText: text.slice(0, idx), calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const out: PartialCall[] = [];
    for (const f of section.matchAll(FUNCTION)) {
      const name = f[1]!.trim();
      const toolIndex = toolIndexOf(name, tools);
      if (toolIndex < 0) continue;
      const bodyStart = f.index! + f[0].length;
      const fnEnd = section.indexOf('</function>', bodyStart);
      const body = section.slice(bodyStart, fnEnd < 0 ? section.length : fnEnd);
      const done = fnEnd >= 0 && section.includes('</tool_call>', fnEnd);
      out.push({ toolIndex, name, args: paramsPrefix(parseParams(body, name, tools), done), done });
    }
    return out;
  }
}

/** The complete `<parameter=K>V</parameter>` blocks of a function body, converted by schema type. */
function parseParams(body: string, fn: string, tools: readonly ToolDef[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const pm of body.matchAll(PARAMETER)) {
    const key = pm[1]!.trim();
    let v = pm[2]!;
    if (v.startsWith('\n')) v = v.slice(1);
    if (v.endsWith('\n')) v = v.slice(0, -1);
    args[key] = convert(v, argType(tools, fn, key));
  }
  return args;
}

function convert(v: string, type: string | null): unknown {
  if (v.toLowerCase() === 'null') return null;
  if (type === 'string' || type === 'str' || type === 'text') return v;
  if (type === 'integer' || type === 'int') {
    const n = Number.parseInt(v, 10);
    return Number.isNaN(n) ? v : n;
  }
  if (type === 'number' || type === 'float') {
    const n = Number(v);
    return Number.isNaN(n) ? v : n;
  }
  if (type === 'boolean' || type === 'bool') return v.trim().toLowerCase() === 'true';
  return type === null ? v : parseLooseValue(v);
}

/**
 * qwen3_coder (XML style): `<tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>`.
 * Values are converted by the tool schema's type (string kept; integer/number/boolean/object/array parsed).
 */
import { type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult, argType, parseLooseValue, pyJson, toolIndexOf } from './types.js';

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
        const args: Record<string, unknown> = {};
        for (const pm of f[2]!.matchAll(/<parameter=([^>\n]*)>([\s\S]*?)<\/parameter>/g)) {
          const key = pm[1]!.trim();
          let v = pm[2]!;
          if (v.startsWith('\n')) v = v.slice(1);
          if (v.endsWith('\n')) v = v.slice(0, -1);
          args[key] = convert(v, argType(tools, name, key));
        }
        calls.push({ toolIndex: ti, name, parameters: pyJson(args) });
      }
    }
    return { normalText: text.slice(0, idx), calls };
  }
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

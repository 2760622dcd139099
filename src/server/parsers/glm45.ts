/**
 * glm45 (GLM-4.5 MoE): `<tool_call>NAME\n<arg_key>K</arg_key>\n<arg_value>V</arg_value>\n...</tool_call>`.
 * Values: string-typed arguments stay raw; others are JSON / Python literals when they parse.
 * Streaming (as SGLang 0.5.2's Glm4MoeDetector): a call is sent whole once its `</tool_call>` arrives.
 */
import { type ToolCallItem, type ToolDef, type ToolFormat, type PartialCall, type ToolParseResult, argType, parseLooseValue, pyJson, toolIndexOf, wholeCalls } from './types.js';

export class Glm45Format implements ToolFormat {
  readonly botToken = '<tool_call>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const calls: ToolCallItem[] = [];
    for (const m of text.matchAll(/<tool_call>([\s\S]*?)<\/tool_call>/g)) {
      const body = m[1]!;
      const nl = body.indexOf('\n');
      const name = (nl >= 0 ? body.slice(0, nl) : body).trim();
      const ti = toolIndexOf(name, tools);
      if (ti < 0) continue;
      const args: Record<string, unknown> = {};
      for (const a of body.matchAll(/<arg_key>([\s\S]*?)<\/arg_key>\s*<arg_value>([\s\S]*?)<\/arg_value>/g)) {
        const key = a[1]!.trim();
        const raw = a[2]!;
        args[key] = argType(tools, name, key) === 'string' ? raw : parseLooseValue(raw);
      }
      calls.push({ toolIndex: ti, name, parameters: pyJson(args) });
    }
    return { normalText: text.slice(0, idx).trim(), calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    return wholeCalls(this.detectAndParse(section, tools).calls);
  }
}

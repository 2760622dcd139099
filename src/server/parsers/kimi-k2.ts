/**
 * kimi_k2: `<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{ARGS}<|tool_call_end|>...<|tool_calls_section_end|>`.
 * Arguments are passed through as the model wrote them; ids are `functions.NAME:IDX` (serving layer).
 */
import { type ToolDef, type ToolFormat, type ToolParseResult, toolIndexOf } from './types.js';

export class KimiK2Format implements ToolFormat {
  readonly botToken = '<|tool_calls_section_begin|>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const normalText = text.slice(0, idx);
    const calls = [];
    const re = /<\|tool_call_begin\|>\s*([\w.]+:\d+)\s*<\|tool_call_argument_begin\|>\s*(\{[\s\S]*?\})\s*<\|tool_call_end\|>/g;
    for (const m of text.matchAll(re)) {
      const name = m[1]!.split(':')[0]!.split('.').slice(1).join('.') || m[1]!.split(':')[0]!;
      const ti = toolIndexOf(name, tools);
      if (ti < 0) continue;
      calls.push({ toolIndex: ti, name, parameters: m[2]! });
    }
    return { normalText, calls };
  }
}

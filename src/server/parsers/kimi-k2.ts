/**
 * kimi_k2: `<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{ARGS}<|tool_call_end|>...<|tool_calls_section_end|>`.
 * Arguments are passed through as the model wrote them; ids are `functions.NAME:IDX` (serving layer).
 *
 * Streaming (as SGLang's KimiK2Detector): the raw argument text as it arrives, holding back
 * trailing whitespace and a possible start of `<|tool_call_end|>`, so the fragments concatenate
 * to exactly the passed-through arguments.
 */
import { holdBack } from './tool-stream.js';
import { type PartialCall, type ToolDef, type ToolFormat, type ToolParseResult, toolIndexOf } from './types.js';

const CALL_BEGIN = '<|tool_call_begin|>';
const CALL_END = '<|tool_call_end|>';
const HEADER = /^\s*([\w.]+:\d+)\s*<\|tool_call_argument_begin\|>\s*/;

/** `functions.NAME:IDX` → NAME. */
function nameOf(id: string): string {
  const fn = id.split(':')[0]!;
  return fn.split('.').slice(1).join('.') || fn;
}

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
      const name = nameOf(m[1]!);
      const ti = toolIndexOf(name, tools);
      if (ti < 0) continue;
      calls.push({ toolIndex: ti, name, parameters: m[2]! });
    }
    return { normalText, calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const out: PartialCall[] = [];
    for (let i = section.indexOf(CALL_BEGIN); i >= 0; i = section.indexOf(CALL_BEGIN, i + 1)) {
      const rest = section.slice(i + CALL_BEGIN.length);
      const h = HEADER.exec(rest);
      if (!h) continue;
      const name = nameOf(h[1]!);
      const toolIndex = toolIndexOf(name, tools);
      if (toolIndex < 0) continue;
      const raw = rest.slice(h[0].length);
      const end = /\}\s*<\|tool_call_end\|>/.exec(raw);
      if (raw.startsWith('{') && end) {
        out.push({ toolIndex, name, args: raw.slice(0, end.index + 1), done: true });
        continue;
      }
      const stable = raw.slice(0, raw.length - holdBack(raw, CALL_END)).trimEnd();
      out.push({ toolIndex, name, args: stable.startsWith('{') ? stable : '', done: false });
    }
    return out;
  }
}

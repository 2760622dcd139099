/**
 * qwen25 (Qwen 2.5 / Qwen 3 Hermes style): `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`,
 * one block per call; text before the first block is normal text (stripped).
 */
import { scanCallObject } from './json-calls.js';
import { type PartialCall, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

export class Qwen25Format implements ToolFormat {
  readonly botToken = '<tool_call>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    const normalText = idx >= 0 ? text.slice(0, idx).trim() : text;
    if (idx < 0) return { normalText, calls: [] };
    const calls = [];
    for (const m of text.matchAll(/<tool_call>\n?([\s\S]*?)\n?<\/tool_call>/g)) {
      try {
        calls.push(...parseBaseJson(JSON.parse(m[1]!.trim()), tools));
      } catch {
        /* malformed call: skipped, as SGLang does */
      }
    }
    return { normalText, calls };
  }
  /** One JSON object after each `<tool_call>`. */
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const out: PartialCall[] = [];
    for (let i = section.indexOf(this.botToken); i >= 0; i = section.indexOf(this.botToken, i + 1)) {
      const r = scanCallObject(section, i + this.botToken.length, tools);
      if (r.call) out.push(r.call);
    }
    return out;
  }
}

/** mistral: `[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`; text before it is normal text. */
import { scanCallList } from './json-calls.js';
import { type PartialCall, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

export class MistralFormat implements ToolFormat {
  readonly botToken = '[TOOL_CALLS] [';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const normalText = text.slice(0, idx).trim();
    const m = /\[TOOL_CALLS\]\s*(\[[\s\S]*\])/.exec(text);
    if (!m) return { normalText, calls: [] };
    try {
      return { normalText, calls: parseBaseJson(JSON.parse(m[1]!), tools) };
    } catch {
      return { normalText, calls: [] };
    }
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const i = section.indexOf(this.botToken);
    return i < 0 ? [] : scanCallList(section, i + this.botToken.length, ',', tools);
  }
}

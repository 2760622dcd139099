/**
 * deepseekv3: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{ARGS}\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`.
 * Streaming: the name once its "```json" line is complete, then the canonical arguments as they grow.
 */
import { headedJsonCalls } from './json-calls.js';
import { type PartialCall, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

const CALL_BEGIN = '<｜tool▁call▁begin｜>';
const HEADER = /^[^<]*<｜tool▁sep｜>([^\n<]*)\n```json\n/;

export class DeepSeekV3Format implements ToolFormat {
  readonly botToken = '<｜tool▁calls▁begin｜>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const normalText = text.slice(0, idx).trim();
    const calls = [];
    for (const m of text.matchAll(/<｜tool▁call▁begin｜>([\s\S]*?)<｜tool▁call▁end｜>/g)) {
      const d = /^([\s\S]*?)<｜tool▁sep｜>([\s\S]*?)\n```json\n([\s\S]*)\n```$/.exec(m[1]!);
      if (!d) continue;
      try {
        calls.push(...parseBaseJson({ name: d[2]!.trim(), arguments: JSON.parse(d[3]!) }, tools));
      } catch {
        /* skipped */
      }
    }
    return { normalText, calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    return headedJsonCalls(section, CALL_BEGIN, tools, (from) => {
      const h = HEADER.exec(section.slice(from));
      return h && { name: h[1]!.trim(), argsFrom: from + h[0].length };
    });
  }
}

/**
 * deepseekv3: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{ARGS}\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`.
 * Streaming: the name once its "```json" line is complete, then the canonical arguments as they grow.
 */
import { jsonArgsCall } from './json-calls.js';
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
    const out: PartialCall[] = [];
    for (let i = section.indexOf(CALL_BEGIN); i >= 0; i = section.indexOf(CALL_BEGIN, i + 1)) {
      const from = i + CALL_BEGIN.length;
      const h = HEADER.exec(section.slice(from));
      if (!h) continue;
      const r = jsonArgsCall(h[1]!.trim(), section, from + h[0].length, tools);
      if (r.call) out.push(r.call);
    }
    return out;
  }
}

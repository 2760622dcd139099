/**
 * deepseekv3: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{ARGS}\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`.
 */
import { type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

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
}

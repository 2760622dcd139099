/**
 * deepseekv31 (DeepSeek-V3.1): `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{ARGS}<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`
 * (no "function" type and no ```json fence, unlike deepseekv3).
 *
 * Invariants (SGLang DeepSeekV31Detector): normal text is the text before the section, trimmed;
 * a call whose arguments are not valid JSON makes the whole output normal text with no calls.
 * Streaming: the name once `<｜tool▁sep｜>` arrives, then the canonical arguments as they grow.
 */
import { headedJsonCalls } from './json-calls.js';
import { type PartialCall, type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

const CALL_BEGIN = '<｜tool▁call▁begin｜>';
const SEP = '<｜tool▁sep｜>';

export class DeepSeekV31Format implements ToolFormat {
  readonly botToken = '<｜tool▁calls▁begin｜>';
  hasToolCall(text: string): boolean {
    return text.includes(this.botToken);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const idx = text.indexOf(this.botToken);
    if (idx < 0) return { normalText: text, calls: [] };
    const normalText = text.slice(0, idx).trim();
    const calls: ToolCallItem[] = [];
    for (const m of text.matchAll(/<｜tool▁call▁begin｜>([\s\S]*?)<｜tool▁call▁end｜>/g)) {
      const sep = m[1]!.lastIndexOf(SEP);
      if (sep < 0) return { normalText: text, calls: [] };
      try {
        const args = JSON.parse(m[1]!.slice(sep + SEP.length)) as unknown;
        calls.push(...parseBaseJson({ name: m[1]!.slice(0, sep).trim(), parameters: args }, tools));
      } catch {
        return { normalText: text, calls: [] };
      }
    }
    return { normalText, calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    return headedJsonCalls(section, CALL_BEGIN, tools, (from) => {
      const sep = section.indexOf(SEP, from);
      if (sep < 0 || section.slice(from, sep).includes('<')) return null;
      return { name: section.slice(from, sep).trim(), argsFrom: sep + SEP.length };
    });
  }
}

/**
 * step3: `<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="NAME">
 * <steptml:parameter name="K">V</steptml:parameter>...</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>`.
 * Normal text is the text before plus after the section; an unclosed section is all normal text.
 */
import { type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult, argType, parseLooseValue, pyJson, toolIndexOf } from './types.js';

const BOT = '<｜tool_calls_begin｜>';
const EOT = '<｜tool_calls_end｜>';

export class Step3Format implements ToolFormat {
  readonly botToken = BOT;
  hasToolCall(text: string): boolean {
    return text.includes(BOT);
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const i = text.indexOf(BOT);
    if (i < 0) return { normalText: text, calls: [] };
    const rest = text.slice(i + BOT.length);
    const j = rest.indexOf(EOT);
    if (j < 0) return { normalText: text, calls: [] };
    const section = rest.slice(0, j);
    const calls: ToolCallItem[] = [];
    for (const m of section.matchAll(/<｜tool_call_begin｜>([\s\S]*?)<｜tool_call_end｜>/g)) {
      const sep = m[1]!.indexOf('<｜tool_sep｜>');
      if (sep < 0 || m[1]!.slice(0, sep).trim() !== 'function') continue;
      const inv = /<steptml:invoke name="([^"]+)">([\s\S]+?)<\/steptml:invoke>/.exec(m[1]!.slice(sep));
      if (!inv) continue;
      const name = inv[1]!;
      const ti = toolIndexOf(name, tools);
      if (ti < 0) continue;
      const args: Record<string, unknown> = {};
      for (const p of inv[2]!.matchAll(/<steptml:parameter name="([^"]+)">([\s\S]*?)<\/steptml:parameter>/g)) {
        const v = p[2]!.trim();
        const t = argType(tools, name, p[1]!);
        args[p[1]!] = t && t !== 'string' ? parseLooseValue(v) : v;
      }
      calls.push({ toolIndex: ti, name, parameters: pyJson(args) });
    }
    return { normalText: text.slice(0, i) + rest.slice(j + EOT.length), calls };
  }
}

/**
 * step3: `<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="NAME">
 * <steptml:parameter name="K">V</steptml:parameter>...</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>`.
 * Normal text is the text before plus after the section; an unclosed section is all normal text.
 *
 * Streaming (as SGLang's Step3Detector): the name once its invoke tag is complete, then each
 * parameter once its closing tag arrives, and `}` once `<｜tool_call_end｜>` arrives.
 */
import {
  type PartialCall, type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult,
  argType, paramsPrefix, parseLooseValue, pyJson, toolIndexOf,
} from './types.js';

const BOT = '<｜tool_calls_begin｜>';
const EOT = '<｜tool_calls_end｜>';
const CALL_BEGIN = '<｜tool_call_begin｜>';
const CALL_END = '<｜tool_call_end｜>';
const SEP = '<｜tool_sep｜>';
const INVOKE = /<steptml:invoke name="([^"]+)">/;

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
      const sep = m[1]!.indexOf(SEP);
      if (sep < 0 || m[1]!.slice(0, sep).trim() !== 'function') continue;
      const inv = /<steptml:invoke name="([^"]+)">([\s\S]+?)<\/steptml:invoke>/.exec(m[1]!.slice(sep));
      if (!inv) continue;
      const name = inv[1]!;
      const ti = toolIndexOf(name, tools);
      if (ti < 0) continue;
      calls.push({ toolIndex: ti, name, parameters: pyJson(parseParams(inv[2]!, name, tools)) });
    }
    return { normalText: text.slice(0, i) + rest.slice(j + EOT.length), calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const out: PartialCall[] = [];
    for (let i = section.indexOf(CALL_BEGIN); i >= 0; i = section.indexOf(CALL_BEGIN, i + 1)) {
      const callEnd = section.indexOf(CALL_END, i);
      const call = section.slice(i + CALL_BEGIN.length, callEnd < 0 ? section.length : callEnd);
      const sep = call.indexOf(SEP);
      if (sep < 0 || call.slice(0, sep).trim() !== 'function') continue;
      const inv = INVOKE.exec(call.slice(sep));
      if (!inv) continue;
      const toolIndex = toolIndexOf(inv[1]!, tools);
      if (toolIndex < 0) continue;
      const done = callEnd >= 0;
      const body = call.slice(sep + inv.index + inv[0].length);
      out.push({ toolIndex, name: inv[1]!, args: paramsPrefix(parseParams(body, inv[1]!, tools), done), done });
    }
    return out;
  }
}

/** The complete parameter blocks of an invoke body, converted by schema type. */
function parseParams(body: string, fn: string, tools: readonly ToolDef[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const p of body.matchAll(/<steptml:parameter name="([^"]+)">([\s\S]*?)<\/steptml:parameter>/g)) {
    const v = p[2]!.trim();
    const t = argType(tools, fn, p[1]!);
    args[p[1]!] = t && t !== 'string' ? parseLooseValue(v) : v;
  }
  return args;
}

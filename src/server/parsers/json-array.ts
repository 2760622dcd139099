/**
 * json_array: the output of `tool_choice: "required"` or a named function, constrained by SGLang's
 * JSON schema `[{"name": ..., "parameters": {...}}, ...]`. Complete array items are calls.
 */
import { scanCallList } from './json-calls.js';
import { type PartialCall, type ToolCallItem, type ToolDef, type ToolFormat, type ToolParseResult, parseBaseJson } from './types.js';

export class JsonArrayFormat implements ToolFormat {
  readonly botToken = '[';
  hasToolCall(text: string): boolean {
    return text.trimStart().startsWith('[');
  }
  detectAndParse(text: string, tools: readonly ToolDef[]): ToolParseResult {
    const start = text.indexOf('[');
    if (start < 0) return { normalText: text, calls: [] };
    const calls: ToolCallItem[] = [];
    for (const item of completeItems(text, start + 1)) {
      try {
        calls.push(...parseBaseJson(JSON.parse(item), tools));
      } catch {
        /* skipped */
      }
    }
    return { normalText: '', calls };
  }
  partialCalls(section: string, tools: readonly ToolDef[]): PartialCall[] {
    const start = section.indexOf('[');
    return start < 0 ? [] : scanCallList(section, start + 1, ',', tools);
  }
}

/** Top-level `{...}` items of a (possibly unfinished) JSON array body starting at `from`. */
function completeItems(s: string, from: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let inStr = false;
  let start = -1;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      if (depth === 0) break;
      depth--;
      if (depth === 0 && start >= 0) out.push(s.slice(start, i + 1));
    }
  }
  return out;
}

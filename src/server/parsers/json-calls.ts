/**
 * Partial calls of the JSON-object tool formats: `{"name": NAME, "arguments"|"parameters": ARGS}`
 * objects (llama3, qwen25, mistral, json_array), and bare JSON arguments after a header that
 * already named the function (deepseekv3/v31, gpt-oss).
 *
 * Invariants: a call is reported once its name is complete and declared; its `args` is the
 * stable canonical prefix of the arguments value (`stableJsonPrefix`), and once the object (or
 * value) is complete, exactly the `parameters` string `parseBaseJson` gives for it.
 */
import { stableJsonPrefix } from './json-prefix.js';
import { type PartialCall, type ToolDef, parseBaseJson, pyJson, toolIndexOf } from './types.js';

export interface ScannedCall {
  /** Null while the name is unknown, or when it names an undeclared tool. */
  call: PartialCall | null;
  /** Index just after the object when complete, else null. */
  end: number | null;
}

const skipWs = (s: string, i: number): number => {
  while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  return i;
};

/** Reads the call object starting at `from` (after optional whitespace). */
export function scanCallObject(s: string, from: number, tools: readonly ToolDef[]): ScannedCall {
  const start = skipWs(s, from);
  if (s[start] !== '{') return { call: null, end: null };
  let pos = start + 1;
  let name: string | null = null;
  const args: Record<string, string> = {};
  let complete = false;
  for (;;) {
    pos = skipWs(s, pos);
    if (s[pos] === '}') {
      complete = true;
      break;
    }
    const key = stableJsonPrefix(s, pos);
    if (key.end === null) break;
    pos = skipWs(s, key.end);
    if (s[pos] !== ':') break;
    const val = stableJsonPrefix(s, pos + 1);
    const k = JSON.parse(key.text) as unknown;
    if (k === 'parameters' || k === 'arguments') args[k] = val.text;
    if (val.end === null) break;
    if (k === 'name') name = JSON.parse(val.text) as string;
    pos = skipWs(s, val.end);
    if (s[pos] === ',') pos++;
    else if (s[pos] !== '}') break;
  }
  const end = complete ? pos + 1 : null;
  if (typeof name !== 'string' || toolIndexOf(name, tools) < 0) return { call: null, end };
  if (end !== null) {
    const whole = parseBaseJson(JSON.parse(s.slice(start, end)), tools)[0]!;
    return { call: { toolIndex: whole.toolIndex, name, args: whole.parameters, done: true }, end };
  }
  const prefix = args['parameters'] ?? args['arguments'] ?? '';
  return { call: { toolIndex: toolIndexOf(name, tools), name, args: prefix, done: false }, end };
}

/** Call objects from `from` on, separated by `sep` (", " in arrays, ";" for llama3). */
export function scanCallList(s: string, from: number, sep: string, tools: readonly ToolDef[]): PartialCall[] {
  const out: PartialCall[] = [];
  let pos = from;
  for (;;) {
    const r = scanCallObject(s, pos, tools);
    if (r.call) out.push(r.call);
    if (r.end === null) return out;
    pos = skipWs(s, r.end);
    if (s[pos] !== sep) return out;
    pos++;
  }
}

/** Arguments that are a bare JSON value at `from`, for a call already named by its header. */
function jsonArgsCall(name: string, s: string, from: number, tools: readonly ToolDef[]): PartialCall | null {
  const toolIndex = toolIndexOf(name, tools);
  if (toolIndex < 0) return null;
  const v = stableJsonPrefix(s, from);
  if (v.end === null) return { toolIndex, name, args: v.text, done: false };
  return { toolIndex, name, args: pyJson(JSON.parse(s.slice(from, v.end))), done: true };
}

/**
 * One call after each `marker` in `section` whose header is complete: `header(from)` reads it
 * from just after the marker and gives the call's name and where its bare JSON arguments start,
 * or null while it is incomplete (deepseekv3/v31, gpt-oss).
 */
export function headedJsonCalls(
  section: string, marker: string, tools: readonly ToolDef[],
  header: (from: number) => { name: string; argsFrom: number } | null,
): PartialCall[] {
  const out: PartialCall[] = [];
  for (let i = section.indexOf(marker); i >= 0; i = section.indexOf(marker, i + 1)) {
    const h = header(i + marker.length);
    const call = h && jsonArgsCall(h.name, section, h.argsFrom, tools);
    if (call) out.push(call);
  }
  return out;
}

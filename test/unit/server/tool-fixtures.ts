/**
 * Tool-call fixtures shared by the parser tests: declared tools, calls, and builders that write
 * those calls in each parser family's format, plus seeded chunkings of a text.
 */
import type { ToolDef } from '../../../src/server/parsers/index.js';

export const TOOLS: ToolDef[] = [
  { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } },
  { name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } } },
  {
    name: 'write_file',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' }, content: { type: 'string' }, mode: { type: 'integer' }, overwrite: { type: 'boolean' },
        tags: { type: 'array' }, meta: { type: 'object' },
      },
    },
  },
];

export interface Call {
  name: string;
  args: Record<string, unknown>;
}

export const W: Call = { name: 'get_weather', args: { city: 'Tokyo', days: 3 } };
export const A: Call = { name: 'add', args: { a: 5, b: 7 } };
/** Long arguments: escapes, non-ASCII (with a surrogate pair), nesting, negative float, null. */
export const F: Call = {
  name: 'write_file',
  args: {
    path: '/tmp/über.txt', content: 'line1\nline "2"\ttab é 😀 end', mode: 420, overwrite: true,
    tags: ['a', 'b c'], meta: { size: -1.5, nested: { x: null } },
  },
};

const j = (v: unknown) => JSON.stringify(v);
const raw = (v: unknown) => (typeof v === 'string' ? v : j(v));
const DS = { bot: '<｜tool▁calls▁begin｜>', eot: '<｜tool▁calls▁end｜>', begin: '<｜tool▁call▁begin｜>', end: '<｜tool▁call▁end｜>', sep: '<｜tool▁sep｜>' };

/** Writes calls in a parser's format, after `prefix` normal text where the format allows it. */
export const BUILDERS: Record<string, (calls: Call[], prefix: string) => string> = {
  qwen25: (cs, p) => p + cs.map((c) => `<tool_call>\n${j({ name: c.name, arguments: c.args })}\n</tool_call>`).join('\n'),
  llama3: (cs, p) => `${p}<|python_tag|>${cs.map((c) => j({ name: c.name, parameters: c.args })).join(';')}`,
  mistral: (cs, p) => `${p}[TOOL_CALLS] [${cs.map((c) => j({ name: c.name, arguments: c.args })).join(', ')}]`,
  json_array: (cs) => `[${cs.map((c) => j({ name: c.name, parameters: c.args })).join(', ')}]`,
  deepseekv3: (cs, p) => p + DS.bot + cs.map((c) => `${DS.begin}function${DS.sep}${c.name}\n\`\`\`json\n${j(c.args)}\n\`\`\`${DS.end}`).join('\n') + DS.eot,
  deepseekv31: (cs, p) => p + DS.bot + cs.map((c) => `${DS.begin}${c.name}${DS.sep}${j(c.args)}${DS.end}`).join('') + DS.eot,
  kimi_k2: (cs, p) =>
    `${p}<|tool_calls_section_begin|>${cs.map((c, i) => `<|tool_call_begin|>functions.${c.name}:${i}<|tool_call_argument_begin|>${j(c.args)}<|tool_call_end|>`).join('')}<|tool_calls_section_end|>`,
  pythonic: (cs, p) => `${p}[${cs.map((c) => `${c.name}(${Object.entries(c.args).map(([k, v]) => `${k}=${j(v)}`).join(', ')})`).join(', ')}]`,
  qwen3_coder: (cs, p) =>
    p + cs.map((c) => `<tool_call>\n<function=${c.name}>\n${Object.entries(c.args).map(([k, v]) => `<parameter=${k}>\n${raw(v)}\n</parameter>\n`).join('')}</function>\n</tool_call>`).join('\n'),
  glm45: (cs, p) =>
    p + cs.map((c) => `<tool_call>${c.name}\n${Object.entries(c.args).map(([k, v]) => `<arg_key>${k}</arg_key>\n<arg_value>${raw(v)}</arg_value>\n`).join('')}</tool_call>`).join(''),
  step3: (cs, p) =>
    `${p}<｜tool_calls_begin｜>${cs.map((c) => `<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="${c.name}">${Object.entries(c.args).map(([k, v]) => `<steptml:parameter name="${k}">${raw(v)}</steptml:parameter>`).join('')}</steptml:invoke><｜tool_call_end｜>`).join('')}<｜tool_calls_end｜> after`,
};

BUILDERS['gpt-oss'] = (cs, p) =>
  p + cs.map((c) => `<|start|>assistant<|channel|>commentary to=functions.${c.name} <|constrain|>json<|message|>${j(c.args)}<|call|>`).join('');

/** Chunks of 1..maxLen characters from a seeded LCG. */
export function chunks(text: string, seed: number, maxLen = 7): string[] {
  let x = (seed * 2654435761) >>> 0;
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % maxLen);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** One character at a time, random sizes (seeds 1..20), and whole. */
export function chunkings(text: string): { label: string; parts: string[] }[] {
  const out = [{ label: 'chars', parts: text.split('') }, { label: 'whole', parts: [text] }];
  for (let seed = 1; seed <= 20; seed++) out.push({ label: `seed ${seed}`, parts: chunks(text, seed, seed % 2 ? 7 : 23) });
  return out;
}

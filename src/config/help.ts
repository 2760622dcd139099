/**
 * `--help` text, generated from an argument table: one section per group, in table order,
 * each flag with its spellings, value name or choices, help, type/default and tsgl support.
 *
 * Invariants:
 * - Every flag spelling of the table and every group name appears in the output.
 * - Pure: the text depends only on the table and `prog` (stable for snapshot tests).
 */

import { allFlags, fieldName, type ArgSpec, type ArgTable } from './arg-spec.js';
import { SERVER_ARGS } from './server-args.js';

const WIDTH = 100;
const INDENT = '        ';

function wrap(text: string, indent: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

function showValue(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  return String(v);
}

function typeName(spec: ArgSpec<any>): string {
  switch (spec.kind) {
    case 'list':
      return `list of ${spec.itemKind === 'string' ? 'str' : spec.itemKind}`;
    case 'string':
    case 'enum':
      return 'str';
    case 'json':
      return 'JSON str';
    default:
      return spec.kind;
  }
}

/** The value part after the flag: `{a,b}`, `PORT`, `N [N ...]`, `[X]`, or '' for booleans. */
function valueSyntax(key: string, spec: ArgSpec<any>): string {
  if (spec.kind === 'bool') return '';
  const name = spec.metavar ?? fieldName(key, spec).toUpperCase();
  const one = spec.choices ? `{${spec.choices.join(',')}}` : name;
  if (spec.kind === 'list') return spec.nargs === '*' ? `[${one} ...]` : `${one} [${one} ...]`;
  if (spec.constValue !== undefined) return `[${one}]`;
  return one;
}

function supportNote(spec: ArgSpec<any>): string {
  if (spec.supportedValues && spec.support !== 'supported') {
    const what = spec.support === 'gpu-only' ? 'other values are GPU-only and ignored' : 'other values are not built yet';
    return `[tsgl: ${spec.supportedValues.map(showValue).join(', ')}; ${what}]`;
  }
  if (spec.support === 'gpu-only') return '[GPU-only: accepted and ignored by tsgl]';
  if (spec.support === 'no-op') return `[accepted, no effect in tsgl: ${spec.noEffect ?? ''}]`;
  if (spec.support === 'unsupported') return '[not built yet in tsgl: only the default is accepted]';
  return '';
}

function formatEntry(key: string, spec: ArgSpec<any>): string[] {
  const value = valueSyntax(key, spec);
  const head = '  ' + allFlags(key, spec).join(', ') + (value ? ' ' + value : '');
  const facts = [`type: ${typeName(spec)}`, spec.required ? 'required' : `default: ${showValue(spec.default)}`];
  if (spec.min !== undefined) facts.push(`min: ${spec.min}`);
  if (spec.max !== undefined) facts.push(`max: ${spec.max}`);
  if (spec.constValue !== undefined) facts.push(`bare flag: ${showValue(spec.constValue)}`);
  const text = [spec.help, `(${facts.join(', ')})`, supportNote(spec)].filter(Boolean).join(' ');
  return [head, ...wrap(text, INDENT)];
}

export interface HelpOptions {
  prog?: string;
}

/** The full `--help` text of a table (SGLang's server arguments by default). */
export function formatHelp(table: ArgTable = SERVER_ARGS, opts: HelpOptions = {}): string {
  const prog = opts.prog ?? 'tsgl';
  const required = Object.entries(table)
    .filter(([, s]) => s.required)
    .map(([k, s]) => `${allFlags(k, s)[0]} ${valueSyntax(k, s)}`);
  const out: string[] = [
    `usage: ${prog} ${[...required, '[options]'].join(' ')}`,
    '',
    'Launch the tsgl server. Flags, defaults and choices follow SGLang 0.5.2 launch_server;',
    'flags marked GPU-only are accepted and ignored with a warning, and flags marked',
    '"not built yet" fail at startup when set to anything but their default.',
    '',
    'options:',
    '  -h, --help',
    INDENT + 'Show this help message and exit.',
  ];
  let group: string | null = null;
  for (const [key, spec] of Object.entries(table)) {
    if (spec.group !== group) {
      group = spec.group;
      out.push('', `${group || 'Other'}:`);
    }
    out.push(...formatEntry(key, spec));
  }
  return out.join('\n') + '\n';
}

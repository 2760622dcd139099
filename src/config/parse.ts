/**
 * Command-line parsing driven by an argument table, with argparse's rules and wording, so
 * that an SGLang 0.5.2 `launch_server` command line parses the same way here.
 *
 * Invariants:
 * - Tokens are read left to right, as argparse does: `--flag value`, `--flag=value`,
 *   store_true flags (an explicit `=value` on one is an error), nargs '+'/'*' lists that take
 *   every following token up to the next option, nargs '?' with a const. A repeated flag keeps
 *   its last value. A token such as `-1` or `-0.5` is a value, not an option.
 * - Long options may be abbreviated to any unique prefix (argparse's allow_abbrev), which is
 *   how SGLang's documented `--tp 2` and `--dp 2` reach `--tp-size` / `--dp-size`.
 * - Every failure throws `ConfigError` with argparse's message text; `-h/--help` yields help.
 *   Nothing here exits the process or reads anything but its arguments.
 * - The result holds every key of the table (defaults filled in) and is frozen.
 */

import { allFlags, type ArgSpec, type ArgTable, type InferArgs } from './arg-spec.js';
import { ConfigError, HelpRequested } from './errors.js';
import { formatHelp } from './help.js';
import { SERVER_ARGS, type ServerArgs } from './server-args.js';

export type ParseResult<T> = { readonly help: true } | { readonly help: false; readonly args: Readonly<T> };

/** Python's `repr()` of a str, as argparse prints values in its messages. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return quote + out + quote;
}

const NEGATIVE_NUMBER = /^-\d+$|^-\d*\.\d+$/;

interface OptionIndex {
  /** every option string -> table key */
  byFlag: Map<string, string>;
  flags: string[];
}

const indexCache = new WeakMap<ArgTable, OptionIndex>();

function indexOf(table: ArgTable): OptionIndex {
  let idx = indexCache.get(table);
  if (idx) return idx;
  const byFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    for (const flag of allFlags(key, spec)) {
      if (byFlag.has(flag)) throw new Error(`argument table: flag ${flag} is declared twice`);
      byFlag.set(flag, key);
    }
  }
  idx = { byFlag, flags: [...byFlag.keys()] };
  indexCache.set(table, idx);
  return idx;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest known flag to `flag`, or null when nothing is reasonably close. */
export function suggestFlag(flag: string, table: ArgTable = SERVER_ARGS): string | null {
  const name = flag.split('=')[0]!.replace(/_/g, '-').toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const cand of [...indexOf(table).flags, '--help']) {
    const d = editDistance(name, cand);
    if (d < bestD) {
      bestD = d;
      best = cand;
    }
  }
  const limit = Math.max(2, Math.floor(name.length * 0.4));
  return best !== null && bestD <= limit ? best : null;
}

function isInt(s: string): boolean {
  return /^\s*[-+]?\d+(_\d+)*\s*$/.test(s);
}

/** Python `float()` syntax: decimals, exponents, underscores between digits, inf/nan. */
function parsePyFloat(s: string): number | null {
  const t = s.trim();
  if (/^[-+]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[-+]?nan$/i.test(t)) return NaN;
  const digits = '\\d+(_\\d+)*';
  const re = new RegExp(`^[-+]?((${digits})(\\.(${digits})?)?|\\.(${digits}))([eE][-+]?${digits})?$`);
  if (!re.test(t)) return null;
  return Number(t.replace(/_/g, ''));
}

function parseScalar(kind: 'string' | 'int' | 'float', flag: string, raw: string): string | number {
  if (kind === 'int') {
    if (!isInt(raw)) throw new ConfigError(`argument ${flag}: invalid int value: ${pyRepr(raw)}`);
    return Number(raw.replace(/_/g, '').trim());
  }
  if (kind === 'float') {
    const v = parsePyFloat(raw);
    if (v === null) throw new ConfigError(`argument ${flag}: invalid float value: ${pyRepr(raw)}`);
    return v;
  }
  return raw;
}

function showChoice(v: string | number): string {
  return typeof v === 'string' ? pyRepr(v) : String(v);
}

function checkChoice(spec: ArgSpec<any>, flag: string, v: string | number): void {
  if (spec.choices && !spec.choices.includes(v)) {
    throw new ConfigError(
      `argument ${flag}: invalid choice: ${showChoice(v)} (choose from ${spec.choices.map(showChoice).join(', ')})`,
    );
  }
}

function checkRange(spec: ArgSpec<any>, flag: string, v: number): void {
  if (spec.min !== undefined && !(v >= spec.min)) {
    throw new ConfigError(`argument ${flag}: must be >= ${spec.min}, got ${v}`);
  }
  if (spec.max !== undefined && !(v <= spec.max)) {
    throw new ConfigError(`argument ${flag}: must be <= ${spec.max}, got ${v}`);
  }
}

/** Converts one raw token to the value of a scalar spec (int, float, string, enum, json). */
function convert(spec: ArgSpec<any>, flag: string, raw: string): unknown {
  switch (spec.kind) {
    case 'int':
    case 'float': {
      const v = parseScalar(spec.kind, flag, raw) as number;
      checkChoice(spec, flag, v);
      checkRange(spec, flag, v);
      return v;
    }
    case 'enum':
      checkChoice(spec, flag, raw);
      return raw;
    case 'json':
      try {
        JSON.parse(raw);
      } catch {
        throw new ConfigError(`argument ${flag}: invalid JSON value: ${pyRepr(raw)}`);
      }
      return raw;
    case 'string':
      if (spec.nullable && (raw === '' || raw === 'None')) return null;
      return raw;
    default:
      throw new Error(`convert: not a scalar kind: ${spec.kind}`);
  }
}

function convertItem(spec: ArgSpec<any>, flag: string, raw: string): string | number {
  const v = parseScalar(spec.itemKind ?? 'string', flag, raw);
  checkChoice(spec, flag, v);
  if (typeof v === 'number') checkRange(spec, flag, v);
  return v;
}

/** argparse's test for "this token is an option string, not a value". */
function looksLikeOption(tok: string): boolean {
  if (!tok.startsWith('-') || tok === '-') return false;
  if (NEGATIVE_NUMBER.test(tok)) return false;
  if (tok.includes(' ')) {
    const eq = tok.indexOf('=');
    return eq > 0 && !tok.slice(0, eq).includes(' ');
  }
  return true;
}

/** Resolves an option string (exact, then unique prefix) to its table key. */
function resolveOption(idx: OptionIndex, table: ArgTable, name: string): { key: string; flag: string } {
  const exact = idx.byFlag.get(name);
  if (exact !== undefined) return { key: exact, flag: name };
  if (name.startsWith('--') && name.length > 2) {
    const matches = idx.flags.filter((f) => f.startsWith(name));
    if (matches.length === 1) return { key: idx.byFlag.get(matches[0]!)!, flag: matches[0]! };
    if (matches.length > 1) {
      throw new ConfigError(`ambiguous option: ${name} could match ${matches.join(', ')}`);
    }
  }
  const hint = suggestFlag(name, table);
  throw new ConfigError(`unrecognized arguments: ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
}

/** Parses argv against any table. Returns `{ help: true }` when -h/--help is met. */
export function parseArgv<T extends ArgTable>(table: T, argv: readonly string[]): ParseResult<InferArgs<T>> {
  const idx = indexOf(table);
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) out[key] = spec.default;
  const seen = new Set<string>();
  const positional: string[] = [];

  let i = 0;
  let onlyPositional = false;
  while (i < argv.length) {
    const tok = argv[i++]!;
    if (onlyPositional || !looksLikeOption(tok)) {
      positional.push(tok);
      continue;
    }
    if (tok === '--') {
      onlyPositional = true;
      continue;
    }
    const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
    const name = eq >= 0 ? tok.slice(0, eq) : tok;
    const explicit = eq >= 0 ? tok.slice(eq + 1) : undefined;
    if (name === '-h' || name === '--help' || (name.length > 3 && '--help'.startsWith(name) && !idx.flags.some((f) => f.startsWith(name)))) {
      return { help: true };
    }
    const { key, flag } = resolveOption(idx, table, name);
    const spec = table[key]!;
    seen.add(key);

    if (spec.kind === 'bool') {
      if (explicit !== undefined) throw new ConfigError(`argument ${flag}: ignored explicit argument ${pyRepr(explicit)}`);
      out[key] = true;
      continue;
    }
    if (spec.kind === 'list') {
      const raws: string[] = [];
      if (explicit !== undefined) raws.push(explicit);
      else while (i < argv.length && !looksLikeOption(argv[i]!)) raws.push(argv[i++]!);
      if (raws.length === 0 && spec.nargs === '+') {
        throw new ConfigError(`argument ${flag}: expected at least one argument`);
      }
      out[key] = raws.map((r) => convertItem(spec, flag, r));
      continue;
    }
    if (spec.constValue !== undefined) {
      if (explicit !== undefined) out[key] = convert(spec, flag, explicit);
      else if (i < argv.length && !looksLikeOption(argv[i]!)) out[key] = convert(spec, flag, argv[i++]!);
      else out[key] = spec.constValue;
      continue;
    }
    let raw = explicit;
    if (raw === undefined) {
      if (i >= argv.length || looksLikeOption(argv[i]!)) throw new ConfigError(`argument ${flag}: expected one argument`);
      raw = argv[i++]!;
    }
    out[key] = convert(spec, flag, raw);
  }

  if (positional.length > 0) {
    throw new ConfigError(`unrecognized arguments: ${positional.join(' ')}`);
  }
  const missing = Object.entries(table)
    .filter(([key, spec]) => spec.required && !seen.has(key))
    .map(([key, spec]) => allFlags(key, spec).join('/'));
  if (missing.length > 0) {
    throw new ConfigError(`the following arguments are required: ${missing.join(', ')}`);
  }
  return { help: false, args: Object.freeze(out) as Readonly<InferArgs<T>> };
}

/**
 * Parses an SGLang `launch_server` command line (without the program name).
 * Throws `ConfigError` on bad input and `HelpRequested` (with the text) on -h/--help.
 */
export function parseServerArgs(argv: readonly string[]): ServerArgs {
  const r = parseArgv(SERVER_ARGS, argv);
  if (r.help) throw new HelpRequested(formatHelp());
  return r.args;
}

/** Builds server args from defaults plus overrides, without argv (tests, embedding). The
 *  overrides are not range-checked; run `validateServerArgs` on the result. */
export function makeServerArgs(overrides: Partial<ServerArgs> & { modelPath: string }): ServerArgs {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SERVER_ARGS)) out[key] = spec.default;
  for (const [key, v] of Object.entries(overrides)) {
    if (!(key in SERVER_ARGS)) throw new ConfigError(`unknown server argument: ${key}`);
    if (v !== undefined) out[key] = v;
  }
  return Object.freeze(out) as unknown as ServerArgs;
}

/**
 * The argv that reproduces `values` (keys left out, null values and false booleans are
 * skipped): the inverse of `parseArgv` for every value the parser can produce.
 */
export function toArgv<T extends ArgTable>(table: T, values: Partial<Record<keyof T, unknown>>): string[] {
  const argv: string[] = [];
  for (const [key, v] of Object.entries(values)) {
    const spec = table[key];
    if (!spec) throw new ConfigError(`unknown argument key: ${key}`);
    if (v === null || v === undefined || v === false) continue;
    const flag = allFlags(key, spec)[0]!;
    if (spec.kind === 'bool') argv.push(flag);
    else if (Array.isArray(v)) argv.push(flag, ...v.map(String));
    else argv.push(`${flag}=${String(v)}`);
  }
  return argv;
}

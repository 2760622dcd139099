/**
 * The argument DSL: one `ArgSpec` per command-line flag, built with `arg.*`, gathered into a
 * table (`server-args.ts`). Parsing, `--help`, support checks, `/get_server_info` and the
 * TypeScript type of the parsed arguments are all derived from that table.
 *
 * Invariants:
 * - A spec is plain frozen data; nothing here reads argv or the environment.
 * - The table key is the camelCase form of SGLang's snake_case field name; `fieldName()` turns
 *   one into the other (an explicit `field` overrides it), and the default flag is
 *   `--` + the field name in kebab-case (an explicit `flag` overrides it).
 * - The TypeScript value type of a spec is carried in the phantom `__type` member, so that
 *   `InferArgs<typeof TABLE>` is exact: `number | null` for an int without default, the
 *   literal union of the choices for an enum, `boolean` for a store_true flag, and so on.
 * - Support levels describe what tsgl does with a value that differs from the default:
 *   'supported' = implemented; 'gpu-only' = no meaning on the CPU backend, accepted with one
 *   warning line; 'no-op' = no meaning in tsgl for another reason (given in `noEffect`), accepted
 *   with one warning line saying it; 'unsupported' = not built yet, rejected at startup. `supportedValues` lists
 *   non-default values that are fine even though the level for other values is stricter.
 */

export type SupportLevel = 'supported' | 'gpu-only' | 'no-op' | 'unsupported';

export type ArgKind = 'string' | 'int' | 'float' | 'bool' | 'enum' | 'list' | 'json';

export type ListItemKind = 'string' | 'int' | 'float';

/** One flag. `T` is the type of the parsed value. */
export interface ArgSpec<T = unknown> {
  readonly kind: ArgKind;
  readonly default: T;
  /** argparse `required=True`: the parser fails when the flag is absent. */
  readonly required: boolean;
  readonly help: string;
  /** Set by `group()`; '' until then. */
  readonly group: string;
  readonly support: SupportLevel;
  /** Non-default values accepted whatever `support` says (e.g. `--device cpu`). */
  readonly supportedValues?: readonly unknown[];
  /** 'no-op' flags: why setting it changes nothing in tsgl (shown in the warning and --help). */
  readonly noEffect?: string;
  /** Primary flag, when it is not `--` + kebab(field). */
  readonly flag?: string;
  /** Other flag spellings, e.g. `--tp-size` for `--tensor-parallel-size`. */
  readonly aliases: readonly string[];
  /** SGLang's snake_case field name, when it is not snake(key). */
  readonly field?: string;
  /** Allowed values (enum, and int/list with choices). */
  readonly choices?: readonly (string | number)[];
  /** Inclusive bounds checked at parse time (int/float, and each list item). */
  readonly min?: number;
  readonly max?: number;
  /** list: the type of each item, and argparse's nargs. */
  readonly itemKind?: ListItemKind;
  readonly nargs?: '+' | '*';
  /** argparse nargs='?': value used when the flag is given without a value. */
  readonly constValue?: T;
  /** string: argparse `nullable_str` (an empty string or 'None' becomes null). */
  readonly nullable?: boolean;
  /** Name of the value in `--help` (argparse metavar). */
  readonly metavar?: string;
  /** Phantom: carries T for `InferArgs`; never set at run time. */
  readonly __type?: T;
}

/** Options every builder takes. */
export interface CommonOptions {
  help: string;
  support?: SupportLevel;
  supportedValues?: readonly unknown[];
  /** With support 'no-op': why the flag changes nothing in tsgl. */
  noEffect?: string;
  flag?: string;
  aliases?: readonly string[];
  field?: string;
  metavar?: string;
}

export interface NumberOptions extends CommonOptions {
  min?: number;
  max?: number;
  choices?: readonly number[];
}

export type ArgTable = Readonly<Record<string, ArgSpec<any>>>;

/** The parsed-arguments type of a table. */
export type InferArgs<T extends ArgTable> = {
  -readonly [K in keyof T]: T[K] extends ArgSpec<infer V> ? V : never;
};

type ItemType<I extends ListItemKind> = I extends 'string' ? string : number;

function make<T>(kind: ArgKind, o: CommonOptions, extra: Partial<ArgSpec<T>> & { default: T }): ArgSpec<T> {
  const spec: ArgSpec<T> = {
    kind,
    required: false,
    group: '',
    support: o.support ?? 'supported',
    aliases: o.aliases ?? [],
    help: o.help,
    ...(o.supportedValues !== undefined ? { supportedValues: o.supportedValues } : {}),
    ...(o.noEffect !== undefined ? { noEffect: o.noEffect } : {}),
    ...(o.flag !== undefined ? { flag: o.flag } : {}),
    ...(o.field !== undefined ? { field: o.field } : {}),
    ...(o.metavar !== undefined ? { metavar: o.metavar } : {}),
    ...extra,
  };
  return Object.freeze(spec);
}

// The builders use overloads rather than defaulted generics: the table is contextually typed
// as ArgSpec<any>, and return-type inference would otherwise widen T to `any`.

function stringArg(o: CommonOptions & { required: true }): ArgSpec<string>;
function stringArg(o: CommonOptions & { default: string; nullable?: boolean }): ArgSpec<string>;
function stringArg(o: CommonOptions & { default: false }): ArgSpec<string | false>;
function stringArg(o: CommonOptions & { default?: null; nullable?: boolean }): ArgSpec<string | null>;
function stringArg(
  o: CommonOptions & { default?: unknown; required?: boolean; nullable?: boolean },
): ArgSpec<unknown> {
  return make('string', o, {
    default: o.default ?? null,
    required: o.required ?? false,
    ...(o.nullable ? { nullable: true } : {}),
  });
}

function intArg(o: NumberOptions & { default: number }): ArgSpec<number>;
function intArg(o: NumberOptions & { default?: null }): ArgSpec<number | null>;
function intArg(o: NumberOptions & { default?: number | null }): ArgSpec<number | null> {
  return make<number | null>('int', o, {
    default: o.default ?? null,
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
    ...(o.choices !== undefined ? { choices: o.choices } : {}),
  });
}

type FloatOptions = NumberOptions & { constValue?: number };
function floatArg(o: FloatOptions & { default: number }): ArgSpec<number>;
function floatArg(o: FloatOptions & { default?: null }): ArgSpec<number | null>;
function floatArg(o: FloatOptions & { default?: number | null }): ArgSpec<number | null> {
  return make<number | null>('float', o, {
    default: o.default ?? null,
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
    ...(o.constValue !== undefined ? { constValue: o.constValue } : {}),
  });
}

function boolArg(o: CommonOptions & { default: null }): ArgSpec<boolean | null>;
function boolArg(o: CommonOptions & { default?: false }): ArgSpec<boolean>;
function boolArg(o: CommonOptions & { default?: false | null }): ArgSpec<boolean | null> {
  return make<boolean | null>('bool', o, { default: o.default === undefined ? false : o.default });
}

function enumArg<const C extends readonly string[]>(
  choices: C,
  o: CommonOptions & { default: C[number] },
): ArgSpec<C[number]>;
function enumArg<const C extends readonly string[]>(
  choices: C,
  o: CommonOptions & { default?: null },
): ArgSpec<C[number] | null>;
function enumArg(choices: readonly string[], o: CommonOptions & { default?: string | null }): ArgSpec<string | null> {
  return make<string | null>('enum', o, { default: o.default ?? null, choices });
}

function listArg<const I extends ListItemKind>(
  itemKind: I,
  o: CommonOptions & { nargs?: '+' | '*'; choices?: readonly (string | number)[]; min?: number },
): ArgSpec<ItemType<I>[] | null> {
  return make<ItemType<I>[] | null>('list', o, {
    default: null,
    itemKind,
    nargs: o.nargs ?? '+',
    ...(o.choices !== undefined ? { choices: o.choices } : {}),
    ...(o.min !== undefined ? { min: o.min } : {}),
  });
}

function jsonArg(o: CommonOptions & { default: string }): ArgSpec<string>;
function jsonArg(o: CommonOptions & { default?: null }): ArgSpec<string | null>;
function jsonArg(o: CommonOptions & { default?: string | null }): ArgSpec<string | null> {
  return make<string | null>('json', o, { default: o.default ?? null });
}

/** The DSL. Each builder returns a frozen spec; `group()` stamps the group name. */
export const arg = {
  /** A string (argparse `type=str`); without a default the value is `string | null`. */
  string: stringArg,
  /** An integer (argparse `type=int`), optionally restricted to `choices`. */
  int: intArg,
  /** A float (argparse `type=float`); `constValue` gives argparse's nargs='?' + const. */
  float: floatArg,
  /** A store_true flag. SGLang has a few with default None (`--enable-lora`). */
  bool: boolArg,
  /** A string restricted to `choices`. */
  enum: enumArg,
  /** argparse nargs='+' (at least one) or '*' (zero or more); the default is always None. */
  list: listArg,
  /** A string that must hold JSON; the value stays the raw string, as in SGLang. */
  json: jsonArg,
};

/** Stamps a group name on each spec of a banner section; spread the results into one table. */
export function group<const G extends Record<string, ArgSpec<any>>>(name: string, specs: G): G {
  const out: Record<string, ArgSpec<any>> = {};
  for (const [key, spec] of Object.entries(specs)) out[key] = Object.freeze({ ...spec, group: name });
  return out as G;
}

/** camelCase table key -> SGLang snake_case field name. */
export function fieldName(key: string, spec: ArgSpec<any>): string {
  return spec.field ?? key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/** The primary flag of a spec, e.g. `--max-running-requests`. */
export function primaryFlag(key: string, spec: ArgSpec<any>): string {
  return spec.flag ?? '--' + fieldName(key, spec).replace(/_/g, '-');
}

/** Every spelling of a flag, primary first. */
export function allFlags(key: string, spec: ArgSpec<any>): string[] {
  return [primaryFlag(key, spec), ...spec.aliases];
}

/** Deep equality on the values a spec can hold (scalars and flat arrays). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  return Object.is(a, b) || (a === b);
}

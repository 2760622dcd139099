/**
 * Grammar keys: which constraint a request carries, in SGLang's priority order
 * (json_schema > regex > ebnf > structural_tag), and SGLang's messages for grammar failures.
 *
 * Invariants: `keyString` is a stable cache key; the messages reproduce SGLang 0.5.2's
 * f-strings (`{req.grammar_key=}` prints the Python tuple repr).
 */
import type { SamplingParams } from '../engine/types.js';

export type GrammarKind = 'json' | 'regex' | 'ebnf' | 'structural_tag';

export interface GrammarKey {
  kind: GrammarKind;
  value: string;
}

export function grammarKeyOf(p: SamplingParams): GrammarKey | null {
  if (p.jsonSchema !== null) return { kind: 'json', value: p.jsonSchema };
  if (p.regex !== null) return { kind: 'regex', value: p.regex };
  if (p.ebnf !== null) return { kind: 'ebnf', value: p.ebnf };
  if (p.structuralTag !== null) return { kind: 'structural_tag', value: p.structuralTag };
  return null;
}

export function keyString(k: GrammarKey): string {
  return `${k.kind}\u0000${k.value}`;
}

/** Python repr() of a str. */
export function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

export function keyRepr(k: GrammarKey): string {
  return `(${pyStrRepr(k.kind)}, ${pyStrRepr(k.value)})`;
}

export const invalidGrammarMessage = (k: GrammarKey) => `Invalid grammar request: req.grammar_key=${keyRepr(k)}`;
export const invalidCachedGrammarMessage = (k: GrammarKey) => `Invalid grammar request with cache hit: key=${keyRepr(k)}`;
export const GRAMMAR_DISABLED_MESSAGE =
  'Grammar-based generation (json_schema, regex, ebnf, structural_tag) is not supported when the server is launched with --grammar-backend none';
export const GRAMMAR_ABORT_MESSAGE = 'Aborted by AbortReq.';

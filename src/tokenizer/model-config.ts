/**
 * Reads the few model-folder JSON files the tokenizer layer needs (tokenizer_config.json,
 * config.json, generation_config.json) and merges eos ids.
 *
 * Invariants: a missing optional file gives {}; a corrupt one throws an Error naming the file;
 * eos ids keep first-seen order and contain no duplicates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

export function readJsonFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('top-level value is not an object');
    return v as Json;
  } catch (e) {
    throw new Error(`corrupt JSON in ${path}: ${(e as Error).message}`);
  }
}

export function readOptionalJson(dir: string, name: string): Json {
  const p = join(dir, name);
  return existsSync(p) ? readJsonFile(p) : {};
}

/** An int or a list of ints (config eos_token_id) as a list. */
export function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

export function dedupe(ids: Iterable<number>): number[] {
  return [...new Set(ids)];
}

/** tokenizer eos first, then config.json and generation_config.json eos ids. */
export function mergeEosIds(tokenizerEos: number | null, dir: string | null): number[] {
  const ids: number[] = tokenizerEos !== null ? [tokenizerEos] : [];
  if (dir !== null) {
    ids.push(...idList(readOptionalJson(dir, 'config.json').eos_token_id));
    ids.push(...idList(readOptionalJson(dir, 'generation_config.json').eos_token_id));
  }
  return dedupe(ids);
}

/** A tokenizer_config special token value: a string or an AddedToken-like {content}. */
export function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

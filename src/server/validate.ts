/**
 * Small type checks for JSON request bodies, raising pydantic-style validation errors
 * (400 "Bad Request" envelope) with the field location.
 *
 * Invariants: every helper either returns a value of the checked type or throws
 * RequestValidationError; `undefined` and `null` mean "absent" and yield the default.
 */
import { invalid } from './errors.js';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isInt);
}

export function requireObject(v: unknown, loc: (string | number)[] = []): Json {
  if (!isObject(v)) throw invalid(loc, 'Input should be a valid dictionary', 'dict_type');
  return v;
}

export function optBool(body: Json, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v == null) return dflt;
  if (typeof v !== 'boolean') throw invalid([key], 'Input should be a valid boolean', 'bool_type');
  return v;
}

export function optInt(body: Json, key: string, dflt: number): number;
export function optInt(body: Json, key: string, dflt: null): number | null;
export function optInt(body: Json, key: string, dflt: number | null): number | null {
  const v = body[key];
  if (v == null) return dflt;
  if (!isInt(v)) throw invalid([key], 'Input should be a valid integer', 'int_type');
  return v;
}

export function optNumber(body: Json, key: string, dflt: number): number;
export function optNumber(body: Json, key: string, dflt: null): number | null;
export function optNumber(body: Json, key: string, dflt: number | null): number | null {
  const v = body[key];
  if (v == null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid([key], 'Input should be a valid number', 'float_type');
  return v;
}

export function optString(body: Json, key: string): string | null {
  const v = body[key];
  if (v == null) return null;
  if (typeof v !== 'string') throw invalid([key], 'Input should be a valid string', 'string_type');
  return v;
}

export function optStringOrList(body: Json, key: string): string | string[] | null {
  const v = body[key];
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw invalid([key], 'Input should be a valid string or a list of strings', 'string_type');
}

export function optIntList(body: Json, key: string): number[] | null {
  const v = body[key];
  if (v == null) return null;
  if (!isIntList(v)) throw invalid([key], 'Input should be a valid list of integers', 'list_type');
  return v;
}

export function optDict(body: Json, key: string): Json | null {
  const v = body[key];
  if (v == null) return null;
  if (!isObject(v)) throw invalid([key], 'Input should be a valid dictionary', 'dict_type');
  return v;
}

/**
 * The configuration layer's public surface: the flag table, the parser, `--help`, support
 * checks, resolution and `/get_server_info` data. Import from here, not from the files.
 *
 * Invariants: re-exports only; no state.
 */

export { arg, group, fieldName, primaryFlag, allFlags } from './arg-spec.js';
export type { ArgSpec, ArgTable, ArgKind, InferArgs, SupportLevel } from './arg-spec.js';
export { ConfigError, HelpRequested } from './errors.js';
export { formatHelp } from './help.js';
export { parseArgv, parseServerArgs, makeServerArgs, toArgv, suggestFlag, pyRepr } from './parse.js';
export type { ParseResult } from './parse.js';
export {
  checkSupport,
  toServerInfo,
  resolveServerArgs,
  validateServerArgs,
  prepareServerArgs,
  isGgufFile,
  isRemoteUrl,
} from './resolve.js';
export type { ResolvedServerArgs, ResolveOptions, Resolved, SupportReport } from './resolve.js';
export {
  SERVER_ARGS,
  SERVER_ARG_FIELDS,
  TSGL_ONLY_ARGS,
  PY_SYS_MAXSIZE,
  LOAD_FORMAT_CHOICES,
  QUANTIZATION_CHOICES,
  ATTENTION_BACKEND_CHOICES,
  GRAMMAR_BACKEND_CHOICES,
  REASONING_PARSER_CHOICES,
  TOOL_CALL_PARSER_CHOICES,
} from './server-args.js';
export type { ServerArgs, ServerArgKey } from './server-args.js';

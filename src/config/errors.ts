/**
 * Errors of the configuration layer. The library never exits the process: the CLI catches
 * these and decides (argparse convention: usage errors exit 2, help exits 0).
 *
 * Invariants:
 * - `ConfigError.message` is the complete, user-facing text (argparse-style wording for
 *   parse errors, e.g. "argument --port: invalid int value: 'abc'").
 * - `HelpRequested` is not a failure: it carries the help text to print.
 */

export class ConfigError extends Error {
  /** Exit status a CLI should use (argparse uses 2 for usage errors). */
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Thrown by `parseServerArgs` when argv holds `-h`/`--help`. */
export class HelpRequested extends Error {
  readonly exitCode = 0;
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

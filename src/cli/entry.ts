/**
 * Runs the CLI from the TypeScript sources (`node --import tsx src/cli/entry.ts ...`), for tests
 * and development; the installed `tsgl` command runs the compiled dist/ instead.
 */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));

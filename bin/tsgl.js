#!/usr/bin/env node
// The `tsgl` command: runs the compiled CLI (npm ci builds dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('tsgl is not built yet: run `npm ci` (or `npm run build`) in the package folder first.\n');
  process.exit(1);
}
const { runCli } = await import(main);
process.exitCode = await runCli(process.argv.slice(2));

/**
 * Loads the compiled addon `build/Release/tsgl_native.node`.
 *
 * Invariants:
 * - The path is resolved from this file's location by walking up to the folder that holds
 *   package.json, so it works from `src/native/` (tsx) and from `dist/native/` (tsc output).
 * - `TSGL_NATIVE_PATH` overrides the path (tests of other builds).
 * - A missing build fails with a message that says how to build it.
 * - Only `ops.ts` (and the kernel tests) import this module.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NativeBinding } from './binding.js';

/** The nearest folder at or above `start` that holds a package.json. */
export function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`tsgl: no package.json found above ${start}`);
    dir = parent;
  }
}

/** Absolute path of the addon this process would load. */
export function nativeAddonPath(): string {
  const override = process.env['TSGL_NATIVE_PATH'];
  if (override) return override;
  const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, 'build', 'Release', 'tsgl_native.node');
}

/** Loads the addon (Node caches it: every call returns the same module). */
export function loadNativeBinding(): NativeBinding {
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new Error(`tsgl: native addon not found at ${path}; run "npm run build:native" first`);
  }
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeBinding;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`tsgl: cannot load native addon ${path}: ${msg} (rebuild with "npm run build:native")`);
  }
}

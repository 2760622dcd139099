/**
 * Loads @mlc-ai/web-xgrammar, whose `lib/index.js` is a UMD bundle inside a `"type":"module"`
 * package (Node would parse it as ESM and fail). We copy it, byte for byte plus one injected line,
 * into a temp `.cjs` file and `require` that. The injected line exposes the emscripten binding so
 * callers can use the synchronous handle methods (the package wraps them in needless Promises).
 *
 * Invariants: nothing is downloaded; package.json is untouched; the temp file name carries a hash
 * of the source, so concurrent processes write identical content (write-then-rename, atomic).
 * `loadXgrammar()` memoizes one module instance per thread (each worker gets its own WASM heap).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The subset of the web-xgrammar module (and its raw embind binding) we use. */
export interface XgrammarModule {
  TokenizerInfo: { createTokenizerInfo(vocab: string[], vocabType: string, prependSpace: boolean, vocabSize: number, stopIds: number[]): Promise<XHandleBox> };
  GrammarCompiler: { createGrammarCompiler(ti: XHandleBox, cacheEnabled?: boolean): Promise<XCompiler> };
  Grammar: { fromEBNF(ebnf: string, root?: string): Promise<XHandleBox & { toString(): string }> };
  Testings: { _jsonSchemaToEBNF(schema: string, anyWhitespace?: boolean, indent?: number, separators?: [string, string], strict?: boolean): Promise<string> };
  /** Injected accessor for the initialized embind module (null before the first async call). */
  __binding(): XBinding | null;
}
export interface XHandleBox { handle: any; dispose(): void }
export interface XCompiler extends XHandleBox {}
export interface XBinding {
  GrammarMatcher: new (compiled: any, stopIds: any, terminateWithoutStop: boolean, maxRollback: number) => any;
  vecIntToView(v: any): Int32Array;
  vecIntFromJSArray(a: number[]): any;
  Grammar: any;
}

const ANCHOR = 'var index = { Grammar, GrammarCompiler,';
let cached: Promise<XgrammarModule> | null = null;

export function loadXgrammar(): Promise<XgrammarModule> {
  cached ??= (async () => {
    const req = createRequire(import.meta.url);
    const src = readFileSync(req.resolve('@mlc-ai/web-xgrammar'), 'utf8');
    if (!src.includes(ANCHOR)) throw new Error('unexpected @mlc-ai/web-xgrammar bundle layout (expected 0.1.27)');
    const patched = src.replace(ANCHOR, `exports.__binding = () => binding;\n  ${ANCHOR}`);
    const hash = createHash('sha256').update(patched).digest('hex').slice(0, 16);
    const file = join(tmpdir(), `tsgl-web-xgrammar-${hash}.cjs`);
    if (!existsSync(file)) {
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      writeFileSync(tmp, patched);
      renameSync(tmp, file);
    }
    const mod = req(file) as XgrammarModule;
    // Initialize the WASM binding (any async entry point does it).
    await mod.Testings._jsonSchemaToEBNF('{"type":"integer"}');
    return mod;
  })();
  return cached;
}

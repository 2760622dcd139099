/**
 * The xgrammar grammar backend (SGLang's XGrammarGrammarBackend) over web-xgrammar's WASM build:
 * compiles json_schema / regex / ebnf / structural_tag keys into compiled grammars and creates
 * per-request matchers from them.
 *
 * Invariants:
 * - `init()` is async (WASM instantiation + tokenizer info, ~0.5-1 s for a 152k vocab); after it,
 *   `compile()` and every matcher call are synchronous (we call the embind handles directly).
 * - A failed compile throws `GrammarCompileError`; the WASM module aborts on such errors, which
 *   leaves a compiler with caching enabled deadlocked on the failed key, so the compiler runs with
 *   its cache off (we cache compiled grammars ourselves) and is re-created after each failure.
 * - JSON schemas are checked with JSON.parse first (cheap, and avoids most WASM aborts).
 * - regex compiles through a structural tag `{format:{type:'regex'}}` (web-xgrammar has no
 *   compile_regex); SGLang's legacy structural tag {structures:[{begin,schema,end}], triggers}
 *   becomes `triggered_tags` exactly as xgrammar's own legacy conversion does.
 */
import type { GrammarKey } from './grammar-key.js';
import { GrammarMatcherHandle } from './matcher.js';
import type { XgTokenizerInfo } from './tokenizer-info.js';
import { loadXgrammar, type XBinding, type XgrammarModule, type XHandleBox } from './xgrammar-loader.js';

export class GrammarCompileError extends Error {}

/** A compiled grammar (raw embind handle); `delete()` frees it (matchers keep their own ref). */
export interface CompiledGrammar {
  delete(): void;
}

export interface XgrammarBackendOptions {
  /** JSON: allow any whitespace between elements (SGLang's default; false = compact one-line JSON). */
  anyWhitespace: boolean;
  /** With anyWhitespace: the most whitespace characters allowed in one gap (unset = unbounded). */
  maxWhitespaceCnt?: number;
}

export class XgrammarBackend {
  private xg: XgrammarModule | null = null;
  private binding: XBinding | null = null;
  private ti: XHandleBox | null = null;
  private compiler: XHandleBox | null = null;
  private initPromise: Promise<void> | null = null;
  initError: Error | null = null;

  readonly vocabSize: number;

  constructor(
    private readonly info: XgTokenizerInfo,
    private readonly opts: XgrammarBackendOptions,
  ) {
    this.vocabSize = info.vocabSize;
  }

  get ready(): boolean {
    return this.compiler !== null;
  }

  init(): Promise<void> {
    this.initPromise ??= (async () => {
      try {
        const xg = await loadXgrammar();
        const info = this.info;
        this.ti = await xg.TokenizerInfo.createTokenizerInfo(info.vocab, info.vocabType, false, info.vocabSize, info.stopIds);
        this.xg = xg;
        this.binding = xg.__binding();
        this.compiler = await xg.GrammarCompiler.createGrammarCompiler(this.ti, false);
      } catch (e) {
        this.initError = e instanceof Error ? e : new Error(String(e));
      }
    })();
    return this.initPromise;
  }

  /** Compiles synchronously (init() must have resolved). Throws GrammarCompileError. */
  compile(key: GrammarKey): CompiledGrammar {
    const c = this.compiler;
    if (!c || !this.xg) throw new Error('xgrammar backend used before init()');
    try {
      switch (key.kind) {
        case 'json': {
          JSON.parse(key.value);
          return c.handle.CompileJSONSchema(key.value, this.opts.anyWhitespace, undefined, undefined, true, this.opts.maxWhitespaceCnt);
        }
        case 'regex':
          return c.handle.CompileStructuralTag(JSON.stringify({ type: 'structural_tag', format: { type: 'regex', pattern: key.value } }));
        case 'ebnf': {
          const g = new this.binding!.Grammar.FromEBNF(key.value, 'root');
          try {
            return c.handle.CompileGrammar(g);
          } finally {
            g.delete();
          }
        }
        case 'structural_tag':
          return c.handle.CompileStructuralTag(structuralTagJson(key.value));
      }
    } catch (e) {
      this.recreateCompiler();
      throw new GrammarCompileError(e instanceof Error ? e.message : String(e));
    }
  }

  createMatcher(compiled: CompiledGrammar): GrammarMatcherHandle {
    const b = this.binding!;
    return new GrammarMatcherHandle(b, new b.GrammarMatcher(compiled, undefined, false, -1), this.vocabSize);
  }

  private recreateCompiler(): void {
    try {
      this.compiler?.dispose();
    } catch {
      /* the aborted module may refuse; leak it */
    }
    const B = this.binding as any;
    this.compiler = { handle: new B.GrammarCompiler(this.ti!.handle, 1, false), dispose() { this.handle.delete(); } };
  }
}

/** SGLang's structural_tag JSON → xgrammar's structural tag JSON. */
function structuralTagJson(value: string): string {
  const st = JSON.parse(value) as Record<string, unknown>;
  if (st['format'] !== undefined) return JSON.stringify({ type: 'structural_tag', format: st['format'] });
  const structures = st['structures'];
  const triggers = st['triggers'];
  if (!Array.isArray(structures) || !Array.isArray(triggers)) throw new Error('structural_tag needs structures and triggers');
  return JSON.stringify({
    type: 'structural_tag',
    format: {
      type: 'triggered_tags',
      triggers,
      tags: structures.map((s: Record<string, unknown>) => ({
        type: 'tag', begin: s['begin'], end: s['end'], content: { type: 'json_schema', json_schema: s['schema'] ?? {} },
      })),
    },
  });
}

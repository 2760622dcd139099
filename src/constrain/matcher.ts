/**
 * One request's grammar matcher (xgrammar GrammarMatcher embind handle), synchronous:
 * `fillMask` writes the allowed-token bitmask into a caller row, `accept` advances on the sampled
 * token, `isTerminated` says whether the grammar has accepted a stop token.
 *
 * Invariants: mask rows are Uint32Array [ceil(vocabSize/32)], bit (id & 31) of word (id >> 5) is
 * 1 when the id is allowed; `dispose()` must be called exactly once (WASM heap).
 */
import { maskWords } from './grammar-protocol.js';
import type { XBinding } from './xgrammar-loader.js';

export class GrammarMatcherHandle {
  private disposed = false;
  readonly words: number;

  constructor(
    private readonly binding: XBinding,
    private readonly handle: any,
    private readonly vocabSize: number,
  ) {
    this.words = maskWords(vocabSize);
  }

  fillMask(dst: Uint32Array): void {
    const vec = this.handle.GetNextTokenBitmask(this.vocabSize);
    try {
      const view = this.binding.vecIntToView(vec);
      dst.set(new Uint32Array(view.buffer, view.byteOffset, this.words));
    } finally {
      vec.delete();
    }
  }

  accept(tokenId: number): boolean {
    return this.handle.AcceptToken(tokenId, false) as boolean;
  }

  isTerminated(): boolean {
    return this.handle.IsTerminated() as boolean;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.handle.delete();
  }
}

/**
 * The tokenizer half of EngineClient (encode, decode, chat templates), shared by the in-process
 * Engine and the WorkerEngine; fails clearly when the tokenizer was skipped.
 */
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ChatMessage, ChatTemplateOptions } from './client.js';

export class TokenizerFront {
  constructor(private readonly tokenizer: Tokenizer | null) {}

  private require(): Tokenizer {
    if (!this.tokenizer) throw new Error('the tokenizer is not loaded (--skip-tokenizer-init); send input_ids');
    return this.tokenizer;
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.require().encode(text, { addSpecialTokens });
  }

  decode(ids: number[], skipSpecialTokens: boolean): string {
    return this.require().decode(ids, { skipSpecialTokens });
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions): string {
    return this.require().applyChatTemplate(messages, options);
  }
}

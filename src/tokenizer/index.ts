/**
 * Public surface of the tokenizer layer: the Tokenizer interface and loader, the incremental
 * detokenizer, and the concrete classes for callers that need kind-specific members.
 */
export { loadTokenizer } from './tokenizer.js';
export type { Tokenizer, TokenizerKind, EncodeOptions, DecodeOptions, ChatTemplateOptions, LoadTokenizerOptions } from './tokenizer.js';
export { IncrementalDetokenizer, INIT_SURROUND_TOKENS, findPrintableText, type DetokenizerOptions } from './detokenizer.js';
export { HfTokenizer, loadHfTokenizer } from './hf-tokenizer.js';
export { GgufTokenizer, TokenType, loadGgufTokenizer, vocabFromGguf, type VocabData } from './gguf-vocab.js';
export { loadLlama2cTokenizer, readLlama2cVocab } from './llama2c-vocab.js';
export { ChatTemplate, selectTemplate } from './chat-template.js';

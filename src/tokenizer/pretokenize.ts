/**
 * Pre-tokenizer regexes for byte-level BPE vocabularies, chosen by GGUF `tokenizer.ggml.pre`
 * (the same splits the models' tokenizer.json files describe). A pre-tokenizer is a list of
 * regexes applied in turn; each one splits every current piece into its matches and the gaps
 * between them (HF "Isolated" split), so no character is ever dropped.
 *
 * `\s` is Oniguruma's Unicode whitespace (Zs/Zl/Zp + \t\n\v\f\r + U+0085), not JS's (which also
 * counts U+FEFF), to match the HF tokenizers these vocabularies come from.
 */

const WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const S = `[${WS}]`;
const NS = `[^${WS}]`;

const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${S}+(?!${NS})|${S}+`;
const CONTRACTIONS_CI = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const LLAMA3 =
  `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NS})|${S}+`;
const QWEN2 =
  `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NS})|${S}+`;
// DeepSeek LLM's letter class and CJK ranges, as in its tokenizer.json pre_tokenizer.
const DEEPSEEK_LETTERS =
  'A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚ' +
  // Greek Extended and Letterlike Symbols escaped: several are canonical singletons (e.g. U+212A
  // KELVIN SIGN, U+1FBE) that editors and NFC would silently replace.
  '\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}' +
  'ↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃';
const DEEPSEEK_LLM = [
  '[\\r\\n]',
  `${S}?[${DEEPSEEK_LETTERS}]+`,
  `${S}?[!-/:-~！-／：-～‘-‟　-。]+`,
  `${S}+$`,
  '[一-龥ࠀ-一가-퟿]+',
  '\\p{N}+',
];

export type PreTokenizerName = 'default' | 'gpt2' | 'llama3' | 'qwen2' | 'deepseek-llm' | 'starcoder';

const PATTERNS: Record<PreTokenizerName, string[]> = {
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  gpt2: [GPT2],
  llama3: [LLAMA3],
  qwen2: [QWEN2],
  'deepseek-llm': DEEPSEEK_LLM,
  starcoder: ['\\p{N}', GPT2],
};

/** Maps a GGUF `tokenizer.ggml.pre` value to a pre-tokenizer (unknown names → 'default', as llama.cpp). */
export function preTokenizerFor(pre: string | undefined): PreTokenizerName {
  switch (pre) {
    case 'gpt-2': case 'phi-2': case 'mpt': case 'olmo': case 'jina-es': case 'jina-de': case 'gigachat':
      return 'gpt2';
    case 'llama3': case 'llama-v3': case 'llama-bpe': case 'falcon3': case 'pixtral': case 'dbrx': case 'smaug-bpe':
    case 'chatglm-bpe': case 'glm4':
      return 'llama3';
    case 'qwen2': case 'deepseek-r1-qwen': case 'stablelm2': case 'megrez':
      return 'qwen2';
    case 'deepseek-llm':
      return 'deepseek-llm';
    case 'starcoder': case 'refact': case 'command-r': case 'smollm': case 'codeshell': case 'exaone': case 'minerva-7b':
      return 'starcoder';
    default:
      return 'default';
  }
}

/** Whether llama.cpp enables ignore_merges (a word that is itself a token skips merging). */
export function ignoresMerges(pre: string | undefined): boolean {
  return preTokenizerFor(pre) === 'llama3' && pre !== 'chatglm-bpe' && pre !== 'glm4' && pre !== 'dbrx' && pre !== 'smaug-bpe';
}

const compiled = new Map<PreTokenizerName, RegExp[]>();

/** Splits text into pre-tokens; the pieces concatenate back to `text`. */
export function preTokenize(text: string, name: PreTokenizerName): string[] {
  let regexes = compiled.get(name);
  if (!regexes) {
    regexes = PATTERNS[name].map((p) => new RegExp(p, 'gu'));
    compiled.set(name, regexes);
  }
  let pieces = [text];
  for (const re of regexes) {
    const next: string[] = [];
    for (const piece of pieces) splitIsolated(piece, re, next);
    pieces = next;
  }
  return pieces;
}

function splitIsolated(piece: string, re: RegExp, out: string[]): void {
  let last = 0;
  re.lastIndex = 0;
  for (const m of piece.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > last) out.push(piece.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < piece.length) out.push(piece.slice(last));
}

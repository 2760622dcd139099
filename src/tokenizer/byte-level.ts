/**
 * GPT-2 byte-level mapping (bytes_to_unicode): every byte 0..255 maps to one printable code point,
 * so byte-level BPE vocabularies store arbitrary bytes as ordinary strings.
 *
 * Invariants: the mapping is a bijection between bytes and 256 code points; `unicodeToBytes` of a
 * string made only of mapped code points returns the original bytes; an unmapped code point is
 * returned as its UTF-8 bytes (never throws), which matches how added tokens are stored verbatim.
 */

const BYTE_TO_CHAR: string[] = buildByteToChar();
const CHAR_TO_BYTE: Map<number, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c.codePointAt(0)!, b]));

function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out: string[] = new Array(256);
  const kept = new Set(keep);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = kept.has(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  }
  return out;
}

const utf8 = new TextEncoder();

/** Maps raw bytes to the byte-level alphabet (one code point per byte). */
export function bytesToUnicode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/** Maps UTF-8 text to its byte-level representation. */
export function textToByteLevel(text: string): string {
  return bytesToUnicode(utf8.encode(text));
}

/** Inverse of bytesToUnicode; code points outside the alphabet contribute their UTF-8 bytes. */
export function unicodeToBytes(piece: string): Uint8Array {
  const out: number[] = [];
  for (const ch of piece) {
    const b = CHAR_TO_BYTE.get(ch.codePointAt(0)!);
    if (b !== undefined) out.push(b);
    else for (const x of utf8.encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}

/** `<0xNN>` byte-fallback piece → byte value, else null. */
export function parseByteToken(piece: string): number | null {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  return m ? parseInt(m[1]!, 16) : null;
}

/** SentencePiece piece → bytes: `<0xNN>` is that byte, `▁` is a space, the rest is UTF-8. */
export function spmPieceBytes(piece: string): Uint8Array {
  const b = parseByteToken(piece);
  if (b !== null) return Uint8Array.of(b);
  return utf8.encode(piece.replaceAll('\u2581', ' '));
}

/** Decodes bytes as UTF-8 with U+FFFD for invalid/incomplete sequences (like from_utf8_lossy). */
export function utf8Lossy(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
}

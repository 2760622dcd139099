/**
 * GGUF v3 writer: metadata key/values and tensors, streamed to a file.
 *
 * Invariants: tensor data starts at an offset aligned to `general.alignment` (32) and each
 * tensor is padded to the alignment; value types follow the JS type given in `GgufKv`
 * (explicit so that u32 vs f32 vs string arrays are written as llama.cpp expects).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type GgufKv =
  | { key: string; type: 'u32'; value: number }
  | { key: string; type: 'i32'; value: number }
  | { key: string; type: 'f32'; value: number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'string[]'; value: string[] }
  | { key: string; type: 'f32[]'; value: ArrayLike<number> }
  | { key: string; type: 'i32[]'; value: ArrayLike<number> };

export interface GgufTensorOut {
  name: string;
  dims: number[]; // ne0 first
  type: number; // GGML type id
  data: Uint8Array;
}

const ALIGN = 32;

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  concat(): Buffer { return Buffer.concat(this.chunks); }
}

const TYPE_ID = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

function writeKv(s: ByteSink, kv: GgufKv): void {
  s.str(kv.key);
  switch (kv.type) {
    case 'u32': s.u32(TYPE_ID.u32); s.u32(kv.value); break;
    case 'i32': s.u32(TYPE_ID.i32); s.i32(kv.value); break;
    case 'f32': s.u32(TYPE_ID.f32); s.f32(kv.value); break;
    case 'bool': s.u32(TYPE_ID.bool); s.push(Buffer.from([kv.value ? 1 : 0])); break;
    case 'string': s.u32(TYPE_ID.string); s.str(kv.value); break;
    case 'string[]':
      s.u32(TYPE_ID.array); s.u32(TYPE_ID.string); s.u64(kv.value.length);
      for (const v of kv.value) s.str(v);
      break;
    case 'f32[]': {
      s.u32(TYPE_ID.array); s.u32(TYPE_ID.f32); s.u64(kv.value.length);
      const b = Buffer.alloc(4 * kv.value.length);
      for (let i = 0; i < kv.value.length; i++) b.writeFloatLE(kv.value[i]!, 4 * i);
      s.push(b);
      break;
    }
    case 'i32[]': {
      s.u32(TYPE_ID.array); s.u32(TYPE_ID.i32); s.u64(kv.value.length);
      const b = Buffer.alloc(4 * kv.value.length);
      for (let i = 0; i < kv.value.length; i++) b.writeInt32LE(kv.value[i]!, 4 * i);
      s.push(b);
      break;
    }
  }
}

const pad = (n: number): number => (ALIGN - (n % ALIGN)) % ALIGN;

/** Writes a complete GGUF file; `tensors` are written in order. */
export function writeGguf(path: string, kvs: GgufKv[], tensors: GgufTensorOut[]): void {
  const head = new ByteSink();
  head.u32(0x46554747);
  head.u32(3);
  head.u64(tensors.length);
  head.u64(kvs.length + 1);
  writeKv(head, { key: 'general.alignment', type: 'u32', value: ALIGN });
  for (const kv of kvs) writeKv(head, kv);
  let offset = 0;
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    offset += t.data.byteLength + pad(t.data.byteLength);
  }
  const headBuf = head.concat();
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, headBuf);
    writeSync(fd, Buffer.alloc(pad(headBuf.length)));
    for (const t of tensors) {
      writeSync(fd, t.data);
      writeSync(fd, Buffer.alloc(pad(t.data.byteLength)));
    }
  } finally {
    closeSync(fd);
  }
}

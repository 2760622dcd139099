/**
 * GGUF reader (header only): metadata key/values and tensor infos. Tensor data is not read;
 * callers map the file and slice `[offset, offset + nbytes)` for each tensor.
 *
 * Invariants:
 * - Supports GGUF v2 and v3, little endian. 64-bit counts and offsets must fit in a JS number.
 * - `GgufTensorInfo.offset` is absolute (file position), already including the aligned data start.
 * - Arrays of strings come back as string[], numeric arrays as number[] (u64/i64 elements as
 *   number when safe, bigint otherwise).
 * - Any malformed input throws a GgufError naming the file and what is wrong.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  dims: number[]; // ne0 first (ne0 = contiguous row length)
  type: number; // GGML type id
  offset: number; // absolute file offset of the first byte
  nbytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  fileBytes: number;
}

export class GgufError extends Error {}

/** GGML type id → [elements per block, bytes per block]. */
export const GGML_BLOCK: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 30: [1, 2],
};

export const GGML_TYPE_NAME: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K',
  11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 24: 'I8', 25: 'I16', 26: 'I32',
  27: 'I64', 28: 'F64', 30: 'BF16',
};

const CHUNK_BYTES = 1 << 20;

/** Buffered sequential reader over a file descriptor. */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0; // file position of buf[0]
  pos = 0;
  constructor(private readonly fd: number, private readonly fileBytes: number, private readonly path: string) {}

  private ensure(n: number): void {
    if (this.pos + n <= this.bufStart + this.buf.length) return;
    if (this.pos + n > this.fileBytes) {
      throw new GgufError(`${this.path}: truncated GGUF header (needs byte ${this.pos + n}, file has ${this.fileBytes})`);
    }
    const want = Math.max(n, CHUNK_BYTES);
    const next = Buffer.alloc(Math.min(want, this.fileBytes - this.pos));
    readSync(this.fd, next, 0, next.length, this.pos);
    this.buf = next;
    this.bufStart = this.pos;
  }
  /** Advances by n bytes; returns the buffer offset of the first (read `this.buf` only after calling). */
  private at(n: number): number {
    this.ensure(n);
    const off = this.pos - this.bufStart;
    this.pos += n;
    return off;
  }
  u8(): number { const o = this.at(1); return this.buf.readUInt8(o); }
  i8(): number { const o = this.at(1); return this.buf.readInt8(o); }
  u16(): number { const o = this.at(2); return this.buf.readUInt16LE(o); }
  i16(): number { const o = this.at(2); return this.buf.readInt16LE(o); }
  u32(): number { const o = this.at(4); return this.buf.readUInt32LE(o); }
  i32(): number { const o = this.at(4); return this.buf.readInt32LE(o); }
  f32(): number { const o = this.at(4); return this.buf.readFloatLE(o); }
  f64(): number { const o = this.at(8); return this.buf.readDoubleLE(o); }
  u64(): number | bigint { const o = this.at(8); return small(this.buf.readBigUInt64LE(o)); }
  i64(): number | bigint { const o = this.at(8); return small(this.buf.readBigInt64LE(o)); }
  count(what: string): number {
    const v = this.u64();
    if (typeof v !== 'number' || v > 0x7fffffff) throw new GgufError(`${this.path}: implausible ${what} ${v}`);
    return v;
  }
  str(): string {
    const n = this.count('string length');
    const off = this.at(n);
    return this.buf.toString('utf8', off, off + n);
  }
}

function small(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(r: HeaderReader, type: number, path: string): GgufValue {
  switch (type) {
    case 0: return r.u8();
    case 1: return r.i8();
    case 2: return r.u16();
    case 3: return r.i16();
    case 4: return r.u32();
    case 5: return r.i32();
    case 6: return r.f32();
    case 7: return r.u8() !== 0;
    case 8: return r.str();
    case 9: {
      const elemType = r.u32();
      const n = r.count('array length');
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r, elemType, path);
      return out;
    }
    case 10: return r.u64();
    case 11: return r.i64();
    case 12: return r.f64();
    default: throw new GgufError(`${path}: unknown GGUF value type ${type}`);
  }
}

/** Bytes a tensor of `dims` in GGML `type` takes. */
export function ggmlTensorBytes(type: number, dims: readonly number[]): number {
  const block = GGML_BLOCK[type];
  if (!block) throw new GgufError(`unsupported GGML tensor type ${type}`);
  const numElements = dims.reduce((a, b) => a * b, 1);
  if (dims[0]! % block[0] !== 0) throw new GgufError(`row length ${dims[0]} is not a multiple of block size ${block[0]}`);
  return (numElements / block[0]) * block[1];
}

export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GgufError(`cannot open GGUF file ${path}: ${(e as Error).message}`);
  }
  try {
    const fileBytes = fstatSync(fd).size;
    const r = new HeaderReader(fd, fileBytes, path);
    if (fileBytes < 24) throw new GgufError(`${path}: not a GGUF file (only ${fileBytes} bytes)`);
    const magic = r.u32();
    if (magic !== 0x46554747) throw new GgufError(`${path}: not a GGUF file (bad magic 0x${magic.toString(16)})`);
    const version = r.u32();
    if (version !== 2 && version !== 3) throw new GgufError(`${path}: unsupported GGUF version ${version} (need 2 or 3)`);
    const numTensors = r.count('tensor count');
    const numKv = r.count('metadata count');
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < numKv; i++) {
      const key = r.str();
      metadata.set(key, readValue(r, r.u32(), path));
    }
    const raw: { name: string; dims: number[]; type: number; rel: number }[] = [];
    for (let i = 0; i < numTensors; i++) {
      const name = r.str();
      const nDims = r.u32();
      if (nDims > 4) throw new GgufError(`${path}: tensor ${name} has ${nDims} dims`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.count(`dim of ${name}`));
      const type = r.u32();
      const rel = r.u64();
      if (typeof rel !== 'number') throw new GgufError(`${path}: tensor ${name} offset too large`);
      raw.push({ name, dims, type, rel });
    }
    const alignment = Number(metadata.get('general.alignment') ?? 32);
    const dataOffset = Math.ceil(r.pos / alignment) * alignment;
    const tensors = raw.map((t) => {
      const nbytes = ggmlTensorBytes(t.type, t.dims);
      const offset = dataOffset + t.rel;
      if (offset + nbytes > fileBytes) {
        throw new GgufError(`${path}: tensor ${t.name} [${offset}, ${offset + nbytes}) lies beyond the end of the file (${fileBytes} bytes); the file is truncated or corrupt`);
      }
      return { name: t.name, dims: t.dims, type: t.type, offset, nbytes };
    });
    return { path, version, metadata, tensors, dataOffset, fileBytes };
  } finally {
    closeSync(fd);
  }
}

export function ggufString(f: GgufFile, key: string): string | undefined {
  const v = f.metadata.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function ggufNumber(f: GgufFile, key: string): number | undefined {
  const v = f.metadata.get(key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function ggufBool(f: GgufFile, key: string): boolean | undefined {
  const v = f.metadata.get(key);
  return typeof v === 'boolean' ? v : undefined;
}

export function ggufArray(f: GgufFile, key: string): GgufValue[] | undefined {
  const v = f.metadata.get(key);
  return Array.isArray(v) ? v : undefined;
}

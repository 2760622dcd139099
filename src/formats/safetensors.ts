/**
 * safetensors reader (header only) and the Hugging Face shard index.
 *
 * Invariants:
 * - `SafetensorsInfo.offset` is absolute (8-byte length + header + data_offsets[0]).
 * - Every tensor's byte range is checked against the file size and its dtype × shape.
 * - Errors name the file and what is wrong.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

export interface SafetensorsInfo {
  name: string;
  dtype: string; // F32, F16, BF16, I64, ...
  shape: number[];
  offset: number;
  nbytes: number;
}

export interface SafetensorsFile {
  path: string;
  tensors: Map<string, SafetensorsInfo>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function readSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SafetensorsError(`cannot open safetensors file ${path}: ${(e as Error).message}`);
  }
  try {
    const fileBytes = fstatSync(fd).size;
    if (fileBytes < 8) throw new SafetensorsError(`${path}: not a safetensors file (${fileBytes} bytes)`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerBytes = Number(lenBuf.readBigUInt64LE(0));
    if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > fileBytes) {
      throw new SafetensorsError(`${path}: corrupt safetensors header length ${headerBytes} (file has ${fileBytes} bytes)`);
    }
    const headerBuf = Buffer.alloc(headerBytes);
    readSync(fd, headerBuf, 0, headerBytes, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new SafetensorsError(`${path}: corrupt safetensors header (invalid JSON: ${(e as Error).message})`);
    }
    const dataStart = 8 + headerBytes;
    const tensors = new Map<string, SafetensorsInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = (entry ?? {}) as Record<string, string>;
        continue;
      }
      tensors.set(name, parseEntry(path, name, entry, dataStart, fileBytes));
    }
    return { path, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function parseEntry(path: string, name: string, entry: unknown, dataStart: number, fileBytes: number): SafetensorsInfo {
  const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
  if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
    throw new SafetensorsError(`${path}: tensor ${name} has a malformed header entry`);
  }
  const elemBytes = DTYPE_BYTES[e.dtype];
  if (elemBytes === undefined) throw new SafetensorsError(`${path}: tensor ${name} has unknown dtype ${e.dtype}`);
  const [begin, end] = e.data_offsets;
  const numElements = e.shape.reduce((a, b) => a * b, 1);
  if (end - begin !== numElements * elemBytes) {
    throw new SafetensorsError(`${path}: tensor ${name} spans ${end - begin} bytes but ${e.dtype}${JSON.stringify(e.shape)} needs ${numElements * elemBytes}`);
  }
  if (dataStart + end > fileBytes) {
    throw new SafetensorsError(`${path}: tensor ${name} ends at byte ${dataStart + end} beyond the file end (${fileBytes}); the file is truncated`);
  }
  return { name, dtype: e.dtype, shape: e.shape, offset: dataStart + begin, nbytes: end - begin };
}

/**
 * The safetensors files of a Hugging Face folder: `model.safetensors.index.json`'s shards if the
 * index exists, else `model.safetensors`. Throws naming what is missing.
 */
export function listSafetensorsFiles(dir: string): string[] {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as typeof index;
    } catch (e) {
      throw new SafetensorsError(`${indexPath}: invalid JSON (${(e as Error).message})`);
    }
    if (!index.weight_map) throw new SafetensorsError(`${indexPath}: no weight_map`);
    const files = [...new Set(Object.values(index.weight_map))].sort();
    for (const f of files) {
      if (!existsSync(join(dir, f))) throw new SafetensorsError(`${indexPath} lists shard ${f}, which is missing from ${dir}`);
    }
    return files.map((f) => join(dir, f));
  }
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  throw new SafetensorsError(`${dir}: no model.safetensors or model.safetensors.index.json found`);
}

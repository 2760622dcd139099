/**
 * Sizing of the KV pool and the request table (SGLang `ModelRunner.profile_max_num_token`,
 * `init_memory_pool`, `TpModelWorker`), for a CPU host.
 *
 *   cellBytes         = kvHeads * headDim * numLayers * 2 (K and V) * dtypeBytes
 *   maxTotalNumTokens = floor((available - total * (1 - memFractionStatic)) / cellBytes),
 *                       capped at floor(available * memFractionStatic / cellBytes) (CPU: never more
 *                       than that fraction of what is free), capped by --max-total-tokens,
 *                       rounded down to a multiple of pageSize
 *   maxNumReqs        = maxRunningRequests ?? min(max(floor(maxTotal / contextLen * 512), 2048), 4096),
 *                       capped so the req-to-token table stays under maxTableBytes (256 MiB default)
 *   maxRunningRequests = min(maxRunningRequests ?? floor(maxTotal / 2), maxNumReqs)
 *   maxReqLen         = min(contextLen - 1, maxTotal - 1);  maxReqInputLen = maxReqLen - 5
 *   maxContextLen     = contextLen + 4 (table row width)
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MemoryPlanInput {
  numKvHeads: number;
  headDim: number;
  numLayers: number;
  /** Bytes per KV element (4 f32, 2 bf16/f16, 1 for 8-bit KV). */
  kvDtypeBytes: number;
  memFractionStatic: number;
  /** --max-total-tokens (null = from memory). */
  maxTotalTokens: number | null;
  pageSize: number;
  contextLength: number;
  /** --max-running-requests (null = derived). */
  maxRunningRequests: number | null;
  /** Defaults to `detectMemory()`. */
  availableBytes?: number;
  totalBytes?: number;
  maxTableBytes?: number;
}

export interface MemoryPlan {
  cellBytes: number;
  maxTotalNumTokens: number;
  maxNumReqs: number;
  maxContextLen: number;
  maxRunningRequests: number;
  maxReqLen: number;
  maxReqInputLen: number;
  kvPoolBytes: number;
}

export function computeMemoryPlan(input: MemoryPlanInput): MemoryPlan {
  const cellBytes = input.numKvHeads * input.headDim * input.numLayers * 2 * input.kvDtypeBytes;
  if (!(cellBytes > 0)) throw new Error(`computeMemoryPlan: bad KV cell size ${cellBytes}`);
  const mem = input.availableBytes !== undefined && input.totalBytes !== undefined
    ? { availableBytes: input.availableBytes, totalBytes: input.totalBytes }
    : detectMemory();
  const rest = mem.availableBytes - mem.totalBytes * (1 - input.memFractionStatic);
  const fromFormula = Math.floor(rest / cellBytes);
  const cpuCap = Math.floor((mem.availableBytes * input.memFractionStatic) / cellBytes);
  let maxTotal = Math.min(fromFormula, cpuCap);
  if (input.maxTotalTokens !== null) maxTotal = input.maxTotalTokens;
  maxTotal = Math.floor(maxTotal / input.pageSize) * input.pageSize;
  if (maxTotal <= 0) {
    throw new Error(
      `Not enough memory for the KV cache: ${(mem.availableBytes / 2 ** 30).toFixed(2)} GiB available of ` +
        `${(mem.totalBytes / 2 ** 30).toFixed(2)} GiB with --mem-fraction-static ${input.memFractionStatic}; ` +
        'raise --mem-fraction-static or set --max-total-tokens.',
    );
  }
  const maxContextLen = input.contextLength + 4;
  let maxNumReqs = input.maxRunningRequests ?? Math.min(Math.max(Math.floor((maxTotal / input.contextLength) * 512), 2048), 4096);
  const maxTableBytes = input.maxTableBytes ?? 256 * 2 ** 20;
  maxNumReqs = Math.max(1, Math.min(maxNumReqs, Math.floor(maxTableBytes / (maxContextLen * 4))));
  const maxRunningRequests = Math.max(1, Math.min(input.maxRunningRequests ?? Math.floor(maxTotal / 2), maxNumReqs));
  const maxReqLen = Math.min(input.contextLength - 1, maxTotal - 1);
  return {
    cellBytes,
    maxTotalNumTokens: maxTotal,
    maxNumReqs,
    maxContextLen,
    maxRunningRequests,
    maxReqLen,
    maxReqInputLen: maxReqLen - 5,
    kvPoolBytes: (maxTotal + input.pageSize) * cellBytes,
  };
}

/** Free and total memory of this host, the cgroup (v2 or v1) limit applied when there is one. */
export function detectMemory(): { availableBytes: number; totalBytes: number } {
  let totalBytes = os.totalmem();
  let availableBytes = os.freemem();
  const meminfo = tryRead('/proc/meminfo');
  const m = meminfo ? /MemAvailable:\s+(\d+) kB/.exec(meminfo) : null;
  if (m) availableBytes = Number(m[1]) * 1024;
  const limit = Number(tryRead('/sys/fs/cgroup/memory.max') ?? tryRead('/sys/fs/cgroup/memory/memory.limit_in_bytes') ?? NaN);
  const usage = Number(tryRead('/sys/fs/cgroup/memory.current') ?? tryRead('/sys/fs/cgroup/memory/memory.usage_in_bytes') ?? NaN);
  if (Number.isFinite(limit) && limit > 0 && limit < totalBytes) {
    totalBytes = limit;
    if (Number.isFinite(usage)) availableBytes = Math.min(availableBytes, Math.max(0, limit - usage));
  }
  return { availableBytes, totalBytes };
}

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

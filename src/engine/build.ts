/**
 * buildEngineCore: everything from resolved server args to a ready EngineCore — threads, weights,
 * tokenizer, memory plan, KV pool, scheduler, sampler — plus the facts the banner prints.
 *
 * Invariants: reads only the slice of config in `EngineArgs`; the KV pool holds exactly the
 * allocator's slot capacity; the run state holds the largest batch the scheduler can build.
 */
import { BatchLogger } from './batch-log.js';
import type { ResolvedServerArgs } from '../config/resolve.js';
import { DType } from '../native/binding.js';
import * as ops from '../native/ops.js';
import { kvDtypeFor, loadModel } from '../model/loader.js';
import { dtypeName } from '../model/weights.js';
import { DecoderModelRunner } from '../model/model-runner.js';
import type { LoadFormat } from '../model/weight-source.js';
import { GrammarQueue } from '../constrain/grammar-queue.js';
import { Sampler } from '../sampling/sampler.js';
import { computeMemoryPlan, type MemoryPlan } from '../scheduler/memory-plan.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { EngineCore } from './engine-core.js';
import type { ModelInfo } from './types.js';

export type EngineArgs = Pick<
  ResolvedServerArgs,
  | 'modelPath' | 'tokenizerPath' | 'loadFormat' | 'dtype' | 'quantization' | 'contextLength'
  | 'memFractionStatic' | 'maxTotalTokens' | 'pageSize' | 'chunkedPrefillSize' | 'maxPrefillTokens'
  | 'maxRunningRequests' | 'maxQueuedRequests' | 'schedulePolicy' | 'scheduleConservativeness'
  | 'disableRadixCache' | 'enableMixedChunk' | 'allowAutoTruncate' | 'streamInterval' | 'randomSeed'
  | 'threads' | 'chatTemplate' | 'skipTokenizerInit' | 'servedModelName'
  | 'grammarBackend' | 'constrainedJsonWhitespacePattern' | 'kvCacheDtype' | 'logLevel' | 'decodeLogInterval'
>;

export interface BuiltEngine {
  core: EngineCore;
  tokenizer: Tokenizer | null;
  modelInfo: ModelInfo;
  plan: MemoryPlan;
  facts: {
    architecture: string; dtype: string; bf16Dot: boolean; kvDtype: string; threads: number; isa: string; weightBytes: number; packedBytes: number; loadMs: number;
    /** KV slots backed with memory at start-up (the first the allocator hands out). */
    kvCommittedTokens: number;
  };
}

/**
 * KV memory committed at start-up, in MiB (env TSGL_KV_COMMIT_MIB, default 512; 0 = none). The
 * pool is as large as --mem-fraction-static allows but mapped lazily; committing its first
 * slots (those the allocator hands out first) keeps page faults out of the first requests'
 * forward passes without holding all of the pool's memory from the start.
 */
function kvCommitBytes(): number {
  const env = process.env.TSGL_KV_COMMIT_MIB;
  const mib = env === undefined || env === '' ? 512 : Number(env);
  if (!Number.isFinite(mib) || mib < 0) throw new Error(`TSGL_KV_COMMIT_MIB must be a number of MiB >= 0, got ${env}`);
  return mib * 2 ** 20;
}

/** Largest queue bound JS can act on (SGLang's default is sys.maxsize). */
const UNBOUNDED_QUEUE = 2 ** 52;

export async function buildEngineCore(args: EngineArgs, opts: { progress: boolean }): Promise<BuiltEngine> {
  const info = ops.cpuInfo();
  ops.setNumThreads(args.threads ?? info.physicalCores);
  const tokenizerPromise = args.skipTokenizerInit
    ? Promise.resolve(null)
    : loadTokenizer(args.tokenizerPath, { chatTemplatePath: args.chatTemplate ?? undefined });
  const model = loadModel({
    modelPath: args.modelPath, loadFormat: args.loadFormat as LoadFormat, dtype: args.dtype,
    quantization: args.quantization === 'gguf' ? null : args.quantization, progress: opts.progress,
  });
  const tokenizer = await tokenizerPromise;
  const c = model.config;
  const contextLength = args.contextLength ?? c.maxPositionEmbeddings;
  const kvDtype = kvDtypeFor(args.kvCacheDtype ?? 'auto', args.dtype, c.torchDtype);
  const plan = computeMemoryPlan({
    numKvHeads: c.numKvHeads, headDim: c.headDim, numLayers: c.numLayers, kvDtypeBytes: kvDtype === DType.F32 ? 4 : 2,
    memFractionStatic: args.memFractionStatic, maxTotalTokens: args.maxTotalTokens, pageSize: args.pageSize,
    contextLength, maxRunningRequests: args.maxRunningRequests,
  });
  const chunk = args.chunkedPrefillSize > 0 ? args.chunkedPrefillSize : null;
  const scheduler = new Scheduler({
    ...plan, pageSize: args.pageSize, chunkedPrefillSize: chunk, maxPrefillTokens: args.maxPrefillTokens,
    schedulePolicy: args.schedulePolicy, disableRadixCache: args.disableRadixCache, enableMixedChunk: args.enableMixedChunk,
    scheduleConservativeness: args.scheduleConservativeness,
    maxQueuedRequests: args.maxQueuedRequests >= UNBOUNDED_QUEUE ? null : args.maxQueuedRequests,
    allowAutoTruncate: args.allowAutoTruncate,
    // SGLang's idle self-check: tests grep the log for "leak".
    onLeak: (report) => process.stderr.write(`tsgl: KV memory leak detected when idle: ${report}\n`),
  });
  const kvPool = ops.createKvPool(c.numLayers, scheduler.allocator.slotCapacity, c.numKvHeads, c.headDim, kvDtype);
  const kvCommittedTokens = Math.min(scheduler.allocator.slotCapacity, Math.floor(kvCommitBytes() / plan.cellBytes));
  ops.commitKvPool(kvPool, kvCommittedTokens);
  const maxTokens = (chunk ?? Math.max(args.maxPrefillTokens, plan.maxReqInputLen)) + plan.maxRunningRequests;
  const runner = new DecoderModelRunner(c, model.weights, kvPool, maxTokens, Math.min(64, plan.maxRunningRequests));
  const eosTokenIds = [...new Set([...c.eosTokenIds, ...(tokenizer?.eosTokenIds ?? [])])];
  const sampler = new Sampler({ vocabSize: c.vocabSize, eosTokenIds, randomSeed: args.randomSeed, argmaxRows: ops.argmaxRows });
  const grammars = new GrammarQueue({
    backend: args.grammarBackend ?? 'xgrammar', tokenizer, vocabSize: c.vocabSize, eosTokenIds, maxRows: plan.maxRunningRequests,
    constrainedJsonWhitespacePattern: args.constrainedJsonWhitespacePattern ?? null,
  });
  const core = new EngineCore(runner, scheduler, sampler, tokenizer, {
    streamInterval: args.streamInterval, eosTokenIds, grammars, applyTokenBitmask: ops.applyTokenBitmask,
    batchLog: BatchLogger.enabled(args.logLevel) ? new BatchLogger({ decodeLogInterval: args.decodeLogInterval }) : null,
  });
  return {
    core, tokenizer, plan,
    modelInfo: {
      modelPath: args.modelPath, tokenizerPath: args.tokenizerPath, servedModelName: args.servedModelName,
      architecture: c.hfArchitecture, contextLength, vocabSize: c.vocabSize, dtype: model.weights.matrixDtype, isGeneration: true,
    },
    facts: {
      architecture: c.hfArchitecture, dtype: model.weights.matrixDtype, bf16Dot: model.weights.bf16DotMatrices > 0, kvDtype: dtypeName(kvDtype), threads: ops.getNumThreads(), isa: ops.getIsa(),
      weightBytes: model.weights.bytes, packedBytes: model.weights.packedBytes ?? 0, loadMs: model.loadMs,
      kvCommittedTokens,
    },
  };
}

/**
 * The server-argument table: every flag of SGLang 0.5.2's `launch_server` (its `ServerArgs`
 * dataclass, `python/sglang/srt/server_args.py` at v0.5.2, 210 flags), with SGLang's flag
 * names, aliases, defaults and choices, plus tsgl's own additions at the end (`--threads`).
 *
 * Invariants:
 * - This file is data: one entry per flag, grouped by `// --- group ---` banners that match
 *   the groups of SGLang's server-arguments documentation. Parsing (`parse.ts`), `--help`
 *   (`help.ts`), support checks and `/get_server_info` (`resolve.ts`) all read this table.
 * - The key of an entry is the camelCase form of SGLang's snake_case field name
 *   (`fieldName()`); `SERVER_ARG_FIELDS` gives the mapping. The four parallel sizes keep
 *   SGLang's long primary flags (`--tensor-parallel-size`, with `--tp-size` as alias).
 * - Defaults are SGLang's *parse-time* defaults: `null` where SGLang has None and derives the
 *   value in `__post_init__` (mem_fraction_static, chunked_prefill_size, page_size,
 *   grammar_backend, ...). `resolveServerArgs()` derives those for the CPU backend.
 * - Help strings are tsgl's own words.
 * - Support levels: see `arg-spec.ts`. Anything not marked is 'supported'.
 */

import { arg, fieldName, group, type ArgTable, type InferArgs } from './arg-spec.js';

/** Python's sys.maxsize (2**63 - 1), SGLang's default of --max-queued-requests. A JS number
 *  rounds it to 2**63; it only ever means "no limit". */
export const PY_SYS_MAXSIZE = 9223372036854775807;

export const LOAD_FORMAT_CHOICES = [
  'auto', 'pt', 'safetensors', 'npcache', 'dummy', 'sharded_state', 'gguf', 'bitsandbytes', 'layered', 'remote',
] as const;

export const QUANTIZATION_CHOICES = [
  'awq', 'fp8', 'gptq', 'marlin', 'gptq_marlin', 'awq_marlin', 'bitsandbytes', 'gguf', 'modelopt', 'modelopt_fp4',
  'petit_nvfp4', 'w8a8_int8', 'w8a8_fp8', 'moe_wna16', 'qoq', 'w4afp8', 'mxfp4',
] as const;

export const ATTENTION_BACKEND_CHOICES = [
  'triton', 'torch_native', 'cutlass_mla', 'fa3', 'flashinfer', 'flashmla', 'trtllm_mla', 'trtllm_mha',
  'dual_chunk_flash_attn', 'hybrid_linear_attn', 'aiter', 'wave', 'intel_amx', 'ascend',
] as const;

export const DISAGG_TRANSFER_BACKEND_CHOICES = ['mooncake', 'nixl', 'ascend', 'fake'] as const;

export const GRAMMAR_BACKEND_CHOICES = ['xgrammar', 'outlines', 'llguidance', 'none'] as const;

/** SGLang 0.5.2 `ReasoningParser.DetectorMap` keys. */
export const REASONING_PARSER_CHOICES = [
  'deepseek-r1', 'deepseek-v3', 'glm45', 'gpt-oss', 'kimi', 'qwen3', 'qwen3-thinking', 'step3',
] as const;

/** SGLang 0.5.2 `FunctionCallParser.ToolCallParserEnum` keys. */
export const TOOL_CALL_PARSER_CHOICES = [
  'llama3', 'qwen25', 'mistral', 'deepseekv3', 'deepseekv31', 'pythonic', 'kimi_k2', 'qwen3_coder', 'glm45', 'step3',
  'gpt-oss',
] as const;

/** SGLang's SUPPORTED_LORA_TARGET_MODULES plus 'all'. */
export const LORA_TARGET_MODULE_CHOICES = [
  'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'qkv_proj', 'gate_up_proj', 'all',
] as const;

export const SERVER_ARGS = {
  // --- Model and tokenizer ---
  ...group('Model and tokenizer', {
    modelPath: arg.string({ aliases: ['--model'], required: true, help: 'Model weights: a local folder, a GGUF file or a Hugging Face repo id.' }),
    tokenizerPath: arg.string({ help: 'Tokenizer location; defaults to --model-path.' }),
    tokenizerMode: arg.enum(['auto', 'slow'], { default: 'auto', help: "'auto' uses the fast tokenizer when one exists, 'slow' always the slow one." }),
    tokenizerWorkerNum: arg.int({ default: 1, min: 1, support: 'unsupported', help: 'Number of tokenizer worker processes (>1 enables multi-tokenizer mode).' }),
    skipTokenizerInit: arg.bool({ help: 'Do not load a tokenizer: requests must send input_ids and get output_ids back.' }),
    loadFormat: arg.enum(LOAD_FORMAT_CHOICES, { default: 'auto', support: 'unsupported', supportedValues: ['auto', 'safetensors', 'gguf', 'dummy'], help: "Weight format to load; 'auto' prefers safetensors, a .gguf path selects gguf, 'dummy' makes random weights." }),
    modelLoaderExtraConfig: arg.json({ default: '{}', support: 'unsupported', help: 'JSON object handed to the model loader of the chosen load format.' }),
    trustRemoteCode: arg.bool({ support: 'no-op', noEffect: 'it never runs model code shipped with a checkpoint', help: 'Allow model code shipped with a Hub repo (no-op in tsgl, which never runs Python).' }),
    contextLength: arg.int({ min: 1, help: "Maximum context length; defaults to the value in the model's config.json." }),
    isEmbedding: arg.bool({ support: 'unsupported', help: 'Serve a causal LM as an embedding model.' }),
    enableMultimodal: arg.bool({ default: null, support: 'unsupported', help: 'Turn on multimodal inputs for a model that has them.' }),
    revision: arg.string({ help: 'Branch, tag or commit of the model to use; defaults to the latest.' }),
    modelImpl: arg.string({ default: 'auto', support: 'unsupported', supportedValues: ['sglang'], help: "Model implementation: 'auto', 'sglang' or 'transformers'." }),
  }),

  // --- HTTP server ---
  ...group('HTTP server', {
    host: arg.string({ default: '127.0.0.1', help: 'Address the HTTP server binds.' }),
    port: arg.int({ default: 30000, min: 0, max: 65535, help: 'Port of the HTTP server.' }),
    skipServerWarmup: arg.bool({ help: 'Do not send the warmup request at startup.' }),
    warmups: arg.string({ support: 'unsupported', help: 'Comma-separated names of custom warmup functions to run before serving.' }),
    ncclPort: arg.int({ min: 0, max: 65535, support: 'gpu-only', help: 'Port used to set up NCCL; random when unset.' }),
  }),

  // --- Quantization and data type ---
  ...group('Quantization and data type', {
    dtype: arg.enum(['auto', 'half', 'float16', 'bfloat16', 'float', 'float32'], { default: 'auto', help: "Weight and activation dtype; 'auto' keeps fp16/bf16 checkpoints as they are and runs fp32 ones in fp16." }),
    quantization: arg.enum(QUANTIZATION_CHOICES, { support: 'unsupported', supportedValues: ['w8a8_int8', 'gguf'], help: 'Quantization method of the weights.' }),
    quantizationParamPath: arg.string({ nullable: true, support: 'unsupported', help: 'JSON file with KV-cache scaling factors (for fp8 KV caches).' }),
    kvCacheDtype: arg.enum(['auto', 'fp8_e5m2', 'fp8_e4m3'], { default: 'auto', support: 'unsupported', help: "KV cache element type; 'auto' uses the model dtype." }),
  }),

  // --- Memory and scheduling ---
  ...group('Memory and scheduling', {
    memFractionStatic: arg.float({ help: 'Fraction of memory for weights plus the KV pool; derived when unset (0.88 without a GPU).' }),
    maxRunningRequests: arg.int({ min: 1, help: 'Upper bound on requests decoding at once; derived from the KV pool when unset.' }),
    maxQueuedRequests: arg.int({ default: PY_SYS_MAXSIZE, min: 1, help: 'Upper bound on waiting requests; further requests are rejected.' }),
    maxTotalTokens: arg.int({ min: 1, help: 'Cap on the KV pool size in tokens; derived from memory when unset.' }),
    chunkedPrefillSize: arg.int({ help: 'Most tokens of one prefill chunk; -1 turns chunking off; derived when unset (4096 without a GPU).' }),
    maxPrefillTokens: arg.int({ default: 16384, min: 1, help: 'Token budget of one prefill batch (a single prompt longer than this still runs).' }),
    schedulePolicy: arg.enum(['lpm', 'random', 'fcfs', 'dfs-weight', 'lof'], { default: 'fcfs', help: 'Order in which waiting requests are admitted.' }),
    scheduleConservativeness: arg.float({ default: 1.0, min: 0, help: 'Larger values reserve more room for decoding and retract less.' }),
    pageSize: arg.int({ min: 1, help: 'Tokens per KV cache page.' }),
    hybridKvcacheRatio: arg.float({ constValue: 0.5, support: 'unsupported', help: 'Mix between uniform (0) and hybrid (1) KV buffers for sliding-window models; bare flag means 0.5.' }),
    swaFullTokensRatio: arg.float({ default: 0.8, support: 'unsupported', help: 'Ratio of sliding-window KV tokens to full-attention KV tokens, in (0, 1].' }),
    disableHybridSwaMemory: arg.bool({ support: 'no-op', noEffect: 'no hybrid sliding-window memory pool', help: 'Use one uniform KV pool for sliding-window models.' }),
  }),

  // --- Runtime options ---
  ...group('Runtime options', {
    device: arg.string({ support: 'unsupported', supportedValues: ['cpu'], help: 'Device type: cuda, xpu, hpu, npu or cpu; auto-detected when unset.' }),
    tpSize: arg.int({ flag: '--tensor-parallel-size', aliases: ['--tp-size'], default: 1, min: 1, support: 'unsupported', help: 'Tensor parallel degree.' }),
    ppSize: arg.int({ flag: '--pipeline-parallel-size', aliases: ['--pp-size'], default: 1, min: 1, support: 'unsupported', help: 'Pipeline parallel degree.' }),
    maxMicroBatchSize: arg.int({ support: 'unsupported', help: 'Largest micro batch under pipeline parallelism.' }),
    streamInterval: arg.int({ default: 1, min: 1, help: 'Stream a chunk every N generated tokens.' }),
    streamOutput: arg.bool({ help: 'Stream disjoint output segments instead of cumulative ones.' }),
    randomSeed: arg.int({ help: "Seed of the server's random generator; random when unset." }),
    constrainedJsonWhitespacePattern: arg.string({ help: 'Regex of whitespace allowed inside JSON-constrained output (outlines backend).' }),
    watchdogTimeout: arg.float({ default: 300.0, help: 'Seconds one forward batch may take before the server aborts itself.' }),
    distTimeout: arg.int({ support: 'gpu-only', help: 'Timeout of torch.distributed initialization, in seconds.' }),
    downloadDir: arg.string({ help: 'Folder for model downloads from the Hub.' }),
    baseGpuId: arg.int({ default: 0, min: 0, support: 'gpu-only', help: 'First GPU id to allocate.' }),
    gpuIdStep: arg.int({ default: 1, min: 1, support: 'gpu-only', help: 'Stride between the GPU ids used.' }),
    sleepOnIdle: arg.bool({ support: 'no-op', noEffect: 'the thread pool always sleeps while no request is in flight', help: 'Use less CPU while no request is in flight.' }),
  }),

  // --- Logging ---
  ...group('Logging', {
    logLevel: arg.string({ default: 'info', help: 'Log level of every logger.' }),
    logLevelHttp: arg.string({ support: 'no-op', noEffect: 'the HTTP server writes no access log', help: 'Log level of the HTTP server; defaults to --log-level.' }),
    logRequests: arg.bool({ support: 'unsupported', help: "Log each request's metadata, inputs and outputs." }),
    logRequestsLevel: arg.int({ support: 'no-op', noEffect: 'request logging (--log-requests) is not built', default: 2, choices: [0, 1, 2, 3], help: 'Detail of --log-requests: 0 metadata, 1 + sampling params, 2 + partial text, 3 + full text.' }),
    crashDumpFolder: arg.string({ support: 'unsupported', help: 'Folder where the requests of the last minutes are dumped after a crash.' }),
    showTimeCost: arg.bool({ support: 'unsupported', help: 'Log the time of custom timing marks.' }),
    enableMetrics: arg.bool({ help: 'Expose Prometheus metrics on /metrics.' }),
    enableMetricsForAllSchedulers: arg.bool({ support: 'no-op', noEffect: 'one scheduler serves every request', help: 'Record request metrics on every TP rank, not only rank 0.' }),
    bucketTimeToFirstToken: arg.list('float', { help: 'Histogram buckets of time to first token, in seconds.' }),
    bucketInterTokenLatency: arg.list('float', { help: 'Histogram buckets of inter-token latency, in seconds.' }),
    bucketE2eRequestLatency: arg.list('float', { help: 'Histogram buckets of end-to-end request latency, in seconds.' }),
    collectTokensHistogram: arg.bool({ support: 'unsupported', help: 'Record histograms of prompt and generation token counts.' }),
    promptTokensBuckets: arg.list('string', { help: "Bucket rule of the prompt-token histogram: 'default', 'tse MIDDLE BASE COUNT' or 'customer V1 V2 ...'." }),
    generationTokensBuckets: arg.list('string', { help: 'Bucket rule of the generation-token histogram, same forms as --prompt-tokens-buckets.' }),
    gcWarningThresholdSecs: arg.float({ default: 0.0, support: 'gpu-only', help: 'Warn when one garbage collection takes longer than this; 0 turns it off.' }),
    decodeLogInterval: arg.int({ default: 40, min: 1, help: 'Log decode statistics every N decode batches.' }),
    enableRequestTimeStatsLogging: arg.bool({ support: 'unsupported', help: 'Log per-request timing statistics.' }),
    kvEventsConfig: arg.string({ support: 'unsupported', help: 'JSON config for publishing KV cache events (NVIDIA Dynamo).' }),
  }),

  // --- API related ---
  ...group('API related', {
    apiKey: arg.string({ help: 'API key required from clients (Authorization: Bearer) by every route.' }),
    servedModelName: arg.string({ help: 'Model name reported by /v1/models and in responses; defaults to --model-path.' }),
    weightVersion: arg.string({ default: 'default', help: 'Label of the loaded weights, reported by the server.' }),
    chatTemplate: arg.string({ help: 'Built-in chat template name or path of a template file (OpenAI routes).' }),
    completionTemplate: arg.string({ support: 'unsupported', help: 'Built-in completion template name or file (code completion, OpenAI routes).' }),
    fileStoragePath: arg.string({ default: 'sglang_storage', support: 'unsupported', help: 'Folder that backs the files API.' }),
    enableCacheReport: arg.bool({ help: 'Report cached prompt tokens in usage.prompt_tokens_details.' }),
    reasoningParser: arg.enum(REASONING_PARSER_CHOICES, { help: 'Parser that separates reasoning text from the answer.' }),
    toolCallParser: arg.enum(TOOL_CALL_PARSER_CHOICES, { help: 'Parser that extracts tool calls from model output.' }),
    toolServer: arg.string({ support: 'unsupported', help: "'demo' or comma-separated tool server URLs." }),
  }),

  // --- Data parallelism ---
  ...group('Data parallelism', {
    dpSize: arg.int({ flag: '--data-parallel-size', aliases: ['--dp-size'], default: 1, min: 1, support: 'unsupported', help: 'Data parallel degree (number of model replicas).' }),
    loadBalanceMethod: arg.enum(['round_robin', 'shortest_queue', 'minimum_tokens'], { default: 'round_robin', support: 'unsupported', help: 'How the data parallel controller spreads requests.' }),
    prefillRoundRobinBalance: arg.bool({ support: 'unsupported', help: 'Prefill server balances DP ranks round robin (for PD disaggregation).' }),
  }),

  // --- Multi-node distributed serving ---
  ...group('Multi-node distributed serving', {
    distInitAddr: arg.string({ aliases: ['--nccl-init-addr'], support: 'unsupported', help: 'host:port used to initialize the distributed backend across nodes.' }),
    nnodes: arg.int({ default: 1, min: 1, support: 'unsupported', help: 'Number of nodes.' }),
    nodeRank: arg.int({ default: 0, min: 0, support: 'unsupported', help: 'Rank of this node.' }),
  }),

  // --- Model override args in JSON ---
  ...group('Model override args in JSON', {
    jsonModelOverrideArgs: arg.json({ support: 'unsupported', default: '{}', help: 'JSON object whose keys override fields of the model config.' }),
    preferredSamplingParams: arg.json({ help: 'JSON sampling settings reported by /get_model_info.' }),
  }),

  // --- LoRA ---
  ...group('LoRA', {
    enableLora: arg.bool({ default: null, support: 'unsupported', help: 'Enable LoRA adapters; implied by --lora-paths.' }),
    maxLoraRank: arg.int({ support: 'unsupported', help: 'Largest LoRA rank to reserve for; inferred from --lora-paths when unset.' }),
    loraTargetModules: arg.list('string', { nargs: '*', choices: LORA_TARGET_MODULE_CHOICES, support: 'unsupported', help: "Modules LoRA may apply to, or 'all'; inferred from --lora-paths when unset." }),
    loraPaths: arg.list('string', { nargs: '*', support: 'unsupported', help: 'Adapters to load: PATH, NAME=PATH or JSON {lora_name, lora_path, pinned}.' }),
    maxLorasPerBatch: arg.int({ default: 8, min: 1, support: 'unsupported', help: 'Most adapters in one running batch, base-only requests included.' }),
    maxLoadedLoras: arg.int({ support: 'unsupported', help: 'Most adapters held in CPU memory at once (>= --max-loras-per-batch).' }),
    loraBackend: arg.string({ default: 'triton', support: 'unsupported', help: 'Kernel backend for multi-LoRA batches.' }),
  }),

  // --- Kernel backend ---
  ...group('Kernel backend', {
    attentionBackend: arg.enum(ATTENTION_BACKEND_CHOICES, { support: 'gpu-only', help: 'Attention kernels.' }),
    prefillAttentionBackend: arg.enum(ATTENTION_BACKEND_CHOICES, { support: 'gpu-only', help: 'Attention kernels for prefill; takes precedence over --attention-backend.' }),
    decodeAttentionBackend: arg.enum(ATTENTION_BACKEND_CHOICES, { support: 'gpu-only', help: 'Attention kernels for decode; takes precedence over --attention-backend.' }),
    samplingBackend: arg.enum(['flashinfer', 'pytorch'], { support: 'gpu-only', supportedValues: ['pytorch'], help: "Sampling kernels; tsgl samples with its own CPU code (SGLang's CPU default is pytorch)." }),
    grammarBackend: arg.enum(GRAMMAR_BACKEND_CHOICES, { support: 'unsupported', supportedValues: ['xgrammar', 'none'], help: 'Backend for constrained decoding (JSON schema, regex, EBNF); defaults to xgrammar.' }),
    mmAttentionBackend: arg.enum(['sdpa', 'fa3', 'triton_attn'], { support: 'gpu-only', help: 'Attention kernels of multimodal encoders.' }),
  }),

  // --- Speculative decoding ---
  ...group('Speculative decoding', {
    speculativeAlgorithm: arg.enum(['EAGLE', 'EAGLE3', 'NEXTN', 'STANDALONE'], { support: 'unsupported', help: 'Speculative decoding algorithm (NEXTN is an alias of EAGLE).' }),
    speculativeDraftModelPath: arg.string({ aliases: ['--speculative-draft-model'], support: 'unsupported', help: 'Draft model weights: local folder or Hub repo id.' }),
    speculativeDraftModelRevision: arg.string({ support: 'unsupported', help: 'Branch, tag or commit of the draft model.' }),
    speculativeNumSteps: arg.int({ support: 'unsupported', help: 'Draft steps per verification; chosen automatically when unset.' }),
    speculativeEagleTopk: arg.int({ support: 'unsupported', help: 'Tokens drafted per step in EAGLE; chosen automatically when unset.' }),
    speculativeNumDraftTokens: arg.int({ support: 'unsupported', help: 'Draft tokens verified per step; chosen automatically when unset.' }),
    speculativeAcceptThresholdSingle: arg.float({ default: 1.0, support: 'unsupported', help: 'Accept a draft token when the target probability exceeds this.' }),
    speculativeAcceptThresholdAcc: arg.float({ default: 1.0, support: 'unsupported', help: "Raise a draft token's acceptance probability p to min(1, p / this)." }),
    speculativeTokenMap: arg.string({ support: 'unsupported', help: "File with the draft model's reduced vocabulary." }),
    speculativeAttentionMode: arg.enum(['prefill', 'decode'], { default: 'prefill', support: 'unsupported', help: "Attention path used by verify and draft-extend: 'prefill' or 'decode'." }),
  }),

  // --- Expert parallelism ---
  ...group('Expert parallelism', {
    epSize: arg.int({ flag: '--expert-parallel-size', aliases: ['--ep-size', '--ep'], default: 1, min: 1, support: 'unsupported', help: 'Expert parallel degree.' }),
    moeA2aBackend: arg.enum(['none', 'deepep'], { default: 'none', support: 'unsupported', help: 'All-to-all backend for MoE.' }),
    moeRunnerBackend: arg.enum(['auto', 'triton', 'triton_kernel', 'flashinfer_trtllm', 'flashinfer_cutlass', 'flashinfer_mxfp4'], { default: 'auto', support: 'gpu-only', help: 'Kernel runner for MoE layers.' }),
    flashinferMxfp4MoePrecision: arg.enum(['default', 'bf16'], { default: 'default', support: 'gpu-only', help: 'Compute precision of the FlashInfer MXFP4 MoE kernels.' }),
    enableFlashinferAllreduceFusion: arg.bool({ support: 'gpu-only', help: 'Fuse all-reduce with residual RMSNorm (FlashInfer).' }),
    deepepMode: arg.enum(['normal', 'low_latency', 'auto'], { default: 'auto', support: 'gpu-only', help: "DeepEP mode; 'auto' picks low_latency for decode and normal for prefill." }),
    epNumRedundantExperts: arg.int({ default: 0, support: 'unsupported', help: 'Redundant expert replicas to allocate under expert parallelism.' }),
    epDispatchAlgorithm: arg.string({ support: 'unsupported', help: 'How ranks are chosen for redundant experts: static, dynamic or fake.' }),
    initExpertLocation: arg.string({ default: 'trivial', support: 'unsupported', help: 'Initial placement of experts.' }),
    enableEplb: arg.bool({ support: 'unsupported', help: 'Enable expert-parallel load balancing.' }),
    eplbAlgorithm: arg.string({ default: 'auto', support: 'unsupported', help: 'EPLB algorithm.' }),
    eplbRebalanceNumIterations: arg.int({ default: 1000, support: 'unsupported', help: 'Iterations between automatic EPLB rebalances.' }),
    eplbRebalanceLayersPerChunk: arg.int({ support: 'unsupported', help: 'Layers rebalanced per forward pass.' }),
    eplbMinRebalancingUtilizationThreshold: arg.float({ default: 1.0, support: 'unsupported', help: 'Rebalance only when average GPU utilization is at least this, in [0, 1].' }),
    expertDistributionRecorderMode: arg.string({ support: 'unsupported', help: 'What the expert distribution recorder records: stat, stat_approx, per_pass or per_token.' }),
    expertDistributionRecorderBufferSize: arg.int({ support: 'unsupported', help: 'Ring buffer size of the expert distribution recorder; -1 is unbounded.' }),
    enableExpertDistributionMetrics: arg.bool({ support: 'unsupported', help: 'Log metrics on expert balance.' }),
    deepepConfig: arg.string({ support: 'gpu-only', help: 'Tuned DeepEP config: a JSON string or a file path.' }),
    moeDenseTpSize: arg.int({ support: 'unsupported', help: 'Tensor parallel degree of the dense MLP layers of MoE models (1 or unset).' }),
  }),

  // --- Mamba cache ---
  ...group('Mamba cache', {
    maxMambaCacheSize: arg.int({ support: 'unsupported', help: 'Most entries in the Mamba state cache.' }),
    mambaSsmDtype: arg.enum(['float32', 'bfloat16'], { default: 'float32', support: 'unsupported', help: 'Dtype of the Mamba SSM state.' }),
  }),

  // --- Hierarchical cache ---
  ...group('Hierarchical cache', {
    enableHierarchicalCache: arg.bool({ support: 'unsupported', help: 'Back the device KV cache with a host-memory tier.' }),
    hicacheRatio: arg.float({ default: 2.0, support: 'unsupported', help: 'Host KV pool size as a multiple of the device pool.' }),
    hicacheSize: arg.int({ default: 0, support: 'unsupported', help: 'Host KV pool size in GB; overrides --hicache-ratio when set.' }),
    hicacheWritePolicy: arg.enum(['write_back', 'write_through', 'write_through_selective'], { default: 'write_through', support: 'unsupported', help: 'When KV pages are written to the host tier.' }),
    hicacheIoBackend: arg.enum(['direct', 'kernel'], { default: 'kernel', support: 'unsupported', help: 'Transfer path between device and host KV pools.' }),
    hicacheMemLayout: arg.enum(['layer_first', 'page_first'], { default: 'layer_first', support: 'unsupported', help: 'Layout of the host KV pool.' }),
    hicacheStorageBackend: arg.enum(['file', 'mooncake', 'hf3fs', 'nixl'], { support: 'unsupported', help: 'Third storage tier of the hierarchical cache.' }),
    hicacheStoragePrefetchPolicy: arg.enum(['best_effort', 'wait_complete', 'timeout'], { default: 'best_effort', support: 'unsupported', help: 'When prefetching from the storage tier stops.' }),
    hicacheStorageBackendExtraConfig: arg.string({ support: 'unsupported', help: 'JSON object of extra settings for the storage tier.' }),
  }),

  // --- LMCache ---
  ...group('LMCache', {
    enableLmcache: arg.bool({ support: 'unsupported', help: 'Use LMCache as the hierarchical cache.' }),
  }),

  // --- Double sparsity ---
  ...group('Double sparsity', {
    enableDoubleSparsity: arg.bool({ support: 'unsupported', help: 'Enable double-sparsity attention.' }),
    dsChannelConfigPath: arg.string({ support: 'unsupported', help: 'Channel config file of double sparsity.' }),
    dsHeavyChannelNum: arg.int({ default: 32, support: 'unsupported', help: 'Heavy channels kept by double sparsity.' }),
    dsHeavyTokenNum: arg.int({ default: 256, support: 'unsupported', help: 'Heavy tokens kept by double sparsity.' }),
    dsHeavyChannelType: arg.string({ default: 'qk', support: 'unsupported', help: 'Kind of heavy channels used by double sparsity.' }),
    dsSparseDecodeThreshold: arg.int({ default: 4096, support: 'unsupported', help: 'Sequence length above which decode uses double sparsity.' }),
  }),

  // --- Offloading ---
  ...group('Offloading', {
    cpuOffloadGb: arg.int({ default: 0, support: 'gpu-only', help: 'GB of host RAM used to offload GPU weights.' }),
    offloadGroupSize: arg.int({ default: -1, support: 'gpu-only', help: 'Layers per offloading group.' }),
    offloadNumInGroup: arg.int({ default: 1, support: 'gpu-only', help: 'Layers offloaded in each group.' }),
    offloadPrefetchStep: arg.int({ default: 1, support: 'gpu-only', help: 'Prefetch distance of offloaded layers.' }),
    offloadMode: arg.string({ default: 'cpu', support: 'gpu-only', help: 'Offloading mode.' }),
  }),

  // --- Optimization/debug options ---
  ...group('Optimization/debug options', {
    disableRadixCache: arg.bool({ help: 'Turn off prefix caching (the radix tree); finished requests free their KV at once.' }),
    cudaGraphMaxBs: arg.int({ support: 'gpu-only', help: 'Largest batch size captured in CUDA graphs.' }),
    cudaGraphBs: arg.list('int', { support: 'gpu-only', help: 'Batch sizes to capture in CUDA graphs.' }),
    disableCudaGraph: arg.bool({ support: 'gpu-only', help: 'Do not use CUDA graphs.' }),
    disableCudaGraphPadding: arg.bool({ support: 'gpu-only', help: 'Skip CUDA graphs when a batch would need padding.' }),
    enableProfileCudaGraph: arg.bool({ support: 'gpu-only', help: 'Profile CUDA graph capture.' }),
    enableCudagraphGc: arg.bool({ support: 'gpu-only', help: 'Let the garbage collector run during CUDA graph capture.' }),
    enableNcclNvls: arg.bool({ support: 'gpu-only', help: 'Use NCCL NVLS for prefill-heavy requests.' }),
    enableSymmMem: arg.bool({ support: 'gpu-only', help: 'Use NCCL symmetric memory for collectives.' }),
    disableFlashinferCutlassMoeFp4Allgather: arg.bool({ support: 'gpu-only', help: 'Do not quantize before all-gather in FlashInfer CUTLASS MoE.' }),
    enableTokenizerBatchEncode: arg.bool({ support: 'no-op', noEffect: 'each request is tokenized on its own, with the same result', help: 'Tokenize the texts of a batch request in one call (text-only batches).' }),
    disableOutlinesDiskCache: arg.bool({ support: 'no-op', noEffect: 'grammars use xgrammar, not outlines', help: 'Do not use the outlines disk cache.' }),
    disableCustomAllReduce: arg.bool({ support: 'gpu-only', help: 'Use NCCL instead of the custom all-reduce kernel.' }),
    enableMscclpp: arg.bool({ support: 'gpu-only', help: 'Use mscclpp for small all-reduce messages.' }),
    disableOverlapSchedule: arg.bool({ help: 'Do not overlap scheduling of the next batch with the current forward pass.' }),
    enableMixedChunk: arg.bool({ help: 'Put decode tokens and a prefill chunk in the same batch (needs chunked prefill).' }),
    enableDpAttention: arg.bool({ support: 'unsupported', help: 'Data parallel attention with tensor parallel FFN.' }),
    enableDpLmHead: arg.bool({ support: 'unsupported', help: 'Vocabulary-parallel LM head across the attention TP group (needs DP attention).' }),
    enableTwoBatchOverlap: arg.bool({ support: 'unsupported', help: 'Overlap two micro batches.' }),
    tboTokenDistributionThreshold: arg.float({ default: 0.48, support: 'unsupported', help: 'Token split threshold choosing two-batch or two-chunk overlap; 0 turns two-chunk overlap off.' }),
    enableTorchCompile: arg.bool({ support: 'gpu-only', help: 'Compile the model with torch.compile.' }),
    torchCompileMaxBs: arg.int({ default: 32, support: 'gpu-only', help: 'Largest batch size compiled with torch.compile.' }),
    torchaoConfig: arg.string({ default: '', support: 'gpu-only', help: 'torchao quantization recipe (int8dq, int8wo, int4wo-G, fp8wo, ...).' }),
    enableNanDetection: arg.bool({ support: 'unsupported', help: 'Check logits for NaN (debugging).' }),
    enableP2pCheck: arg.bool({ support: 'gpu-only', help: 'Check GPU peer-to-peer access instead of assuming it.' }),
    tritonAttentionReduceInFp32: arg.bool({ support: 'gpu-only', help: 'Reduce Triton attention partials in fp32.' }),
    tritonAttentionNumKvSplits: arg.int({ default: 8, support: 'gpu-only', help: 'KV splits of the Triton flash-decoding kernel.' }),
    numContinuousDecodeSteps: arg.int({ default: 1, min: 1, support: 'unsupported', help: 'Decode steps run per scheduling round.' }),
    deleteCkptAfterLoading: arg.bool({ support: 'unsupported', help: 'Delete the checkpoint files once the model is loaded.' }),
    enableMemorySaver: arg.bool({ support: 'gpu-only', help: 'Allow release_memory_occupation / resume_memory_occupation.' }),
    allowAutoTruncate: arg.bool({ help: 'Truncate prompts longer than the context instead of rejecting them.' }),
    enableCustomLogitProcessor: arg.bool({ support: 'unsupported', help: 'Accept user-supplied custom logit processors (off for safety).' }),
    flashinferMlaDisableRagged: arg.bool({ support: 'gpu-only', help: 'Do not use the ragged prefill wrapper of FlashInfer MLA.' }),
    disableSharedExpertsFusion: arg.bool({ support: 'gpu-only', help: 'Do not fuse shared experts (DeepSeek V3/R1).' }),
    disableChunkedPrefixCache: arg.bool({ support: 'gpu-only', help: 'Do not use the chunked prefix cache (DeepSeek).' }),
    disableFastImageProcessor: arg.bool({ support: 'gpu-only', help: 'Use the base image processor instead of the fast one.' }),
    enableReturnHiddenStates: arg.bool({ support: 'unsupported', help: 'Allow requests to ask for hidden states.' }),
    schedulerRecvInterval: arg.int({ support: 'no-op', noEffect: 'the engine takes new requests before every step', default: 1, min: 1, help: 'Poll for new requests every N scheduler iterations.' }),
    numaNode: arg.list('int', { support: 'unsupported', help: 'NUMA node of each subprocess, in order.' }),
  }),

  // --- Debug tensor dumps ---
  ...group('Debug tensor dumps', {
    debugTensorDumpOutputFolder: arg.string({ support: 'unsupported', help: 'Folder for tensor dumps.' }),
    debugTensorDumpInputFile: arg.string({ support: 'unsupported', help: 'Input file for tensor dumps.' }),
    debugTensorDumpInject: arg.string({ default: false, support: 'unsupported', help: 'Inject dumped outputs as the input of every layer.' }),
    debugTensorDumpPrefillOnly: arg.bool({ support: 'unsupported', help: 'Dump tensors of prefill batches only.' }),
  }),

  // --- PD disaggregation ---
  ...group('PD disaggregation', {
    disaggregationMode: arg.enum(['null', 'prefill', 'decode'], { default: 'null', support: 'unsupported', help: "PD disaggregation role: 'null' (none), 'prefill' or 'decode'." }),
    disaggregationTransferBackend: arg.enum(DISAGG_TRANSFER_BACKEND_CHOICES, { default: 'mooncake', support: 'unsupported', help: 'KV transfer backend between prefill and decode servers.' }),
    disaggregationBootstrapPort: arg.int({ default: 8998, min: 0, max: 65535, support: 'unsupported', help: 'Bootstrap port on the prefill server.' }),
    disaggregationDecodeTp: arg.int({ support: 'unsupported', help: 'Tensor parallel degree of the decode servers (set on the prefill server).' }),
    disaggregationDecodeDp: arg.int({ support: 'unsupported', help: 'Data parallel degree of the decode servers (set on the prefill server).' }),
    disaggregationPrefillPp: arg.int({ default: 1, support: 'unsupported', help: 'Pipeline parallel degree of the prefill servers (set on the decode server).' }),
    disaggregationIbDevice: arg.string({ support: 'unsupported', help: 'InfiniBand device(s) for KV transfer, one name or a comma-separated list.' }),
    numReservedDecodeTokens: arg.int({ default: 512, support: 'unsupported', help: 'Decode tokens of KV memory reserved for each request added to the running batch.' }),
  }),

  // --- Model weight update ---
  ...group('Model weight update', {
    customWeightLoader: arg.list('string', { nargs: '*', support: 'unsupported', help: 'Import paths of custom weight-update functions.' }),
    weightLoaderDisableMmap: arg.bool({ support: 'unsupported', help: 'Read safetensors without mmap.' }),
  }),

  // --- PD-Multiplexing ---
  ...group('PD-Multiplexing', {
    enablePdmux: arg.bool({ support: 'unsupported', help: 'Run prefill and decode multiplexed on green-context streams.' }),
    smGroupNum: arg.int({ default: 3, support: 'gpu-only', help: 'Number of SM partition groups for PD multiplexing.' }),
  }),

  // --- Deprecated ---
  ...group('Deprecated', {
    enableEpMoe: arg.bool({ support: 'unsupported', help: 'Deprecated: set --ep-size equal to --tp-size instead.' }),
    enableDeepepMoe: arg.bool({ support: 'unsupported', help: 'Deprecated: use --moe-a2a-backend deepep.' }),
    enableFlashinferCutlassMoe: arg.bool({ support: 'gpu-only', help: 'Deprecated: use --moe-runner-backend flashinfer_cutlass.' }),
    enableFlashinferTrtllmMoe: arg.bool({ support: 'gpu-only', help: 'Deprecated: use --moe-runner-backend flashinfer_trtllm.' }),
    enableTritonKernelMoe: arg.bool({ support: 'gpu-only', help: 'Deprecated: use --moe-runner-backend triton_kernel.' }),
    enableFlashinferMxfp4Moe: arg.bool({ support: 'gpu-only', help: 'Deprecated: use --moe-runner-backend flashinfer_mxfp4.' }),
  }),

  // --- tsgl (CPU backend) ---
  ...group('tsgl (CPU backend)', {
    threads: arg.int({ min: 1, help: 'Threads of the CPU kernels; defaults to the number of physical cores.' }),
  }),
} as const satisfies ArgTable;

/** The parsed server arguments; keys are camelCase SGLang field names. */
export type ServerArgs = Readonly<InferArgs<typeof SERVER_ARGS>>;

export type ServerArgKey = keyof typeof SERVER_ARGS;

/** The flags tsgl adds on top of SGLang 0.5.2's. */
export const TSGL_ONLY_ARGS: readonly ServerArgKey[] = ['threads'];

/** camelCase key -> SGLang's snake_case field name (`tpSize` -> `tp_size`). */
export const SERVER_ARG_FIELDS: Readonly<Record<ServerArgKey, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SERVER_ARGS).map(([k, s]) => [k, fieldName(k, s)])) as Record<ServerArgKey, string>,
);

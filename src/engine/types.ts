/**
 * The engine's vocabulary: what a caller submits, what it gets back, and the batch the
 * scheduler hands the model. Shared by server/, engine/, scheduler/ and model/.
 *
 * Invariants:
 * - `EngineRequest` is fully validated and normalized (SGLang rules) before it reaches the engine;
 *   the engine never sees raw JSON.
 * - `EngineOutput` carries deltas: `outputIds` and `text` hold only what is new since the last
 *   output of the same request; the last output of a request has `finished == true`.
 * - `ForwardBatch` arrays are views into buffers reused across steps: a consumer must not keep them.
 */

/** Normalized sampling parameters (SGLang `SamplingParams` after `normalize()` and `verify()`). */
export interface SamplingParams {
  /** null = unbounded (the scheduler clamps it to the context). */
  maxNewTokens: number | null;
  minNewTokens: number;
  /** Already rewritten: temperature < 1e-6 becomes temperature 1 with topK 1 (greedy). */
  temperature: number;
  topP: number;
  /** 1 << 30 means "all". */
  topK: number;
  minP: number;
  frequencyPenalty: number;
  presencePenalty: number;
  /** Validated, no effect (as SGLang 0.5.2). */
  repetitionPenalty: number;
  stop: string[];
  stopTokenIds: number[];
  ignoreEos: boolean;
  skipSpecialTokens: boolean;
  spacesBetweenSpecialTokens: boolean;
  noStopTrim: boolean;
  /** token id -> bias added to its logit. */
  logitBias: Map<number, number> | null;
  /** null = draw from the server's generator. */
  seed: number | null;
  /** Per-request override of --stream-interval. */
  streamInterval: number | null;
  jsonSchema: string | null;
  regex: string | null;
  ebnf: string | null;
  structuralTag: string | null;
}

/** SGLang's finish_reason shapes, serialized as they are. */
export type FinishReason =
  | { type: 'stop'; matched: number | string | null }
  | { type: 'length'; length: number }
  | { type: 'abort'; message: string; status_code?: number | null; err_type?: string | null };

/** One generation request as the engine receives it (one prompt, one output sequence). */
export interface EngineRequest {
  rid: string;
  inputIds: number[];
  sampling: SamplingParams;
  stream: boolean;
  returnLogprob: boolean;
  /** -1 = output tokens only; otherwise the first input position whose logprob is returned. */
  logprobStartLen: number;
  topLogprobsNum: number;
  tokenIdsLogprob: number[] | null;
}

/** [logprob, tokenId]; logprob is null for the first input token. */
export type TokenLogprob = [number | null, number];

/** Logprob deltas of one output; present only when the request asked for logprobs. */
export interface LogprobDelta {
  /** Sent once, with the first output. */
  inputTokenLogprobs?: TokenLogprob[];
  inputTopLogprobs?: (TokenLogprob[] | null)[];
  inputTokenIdsLogprobs?: (TokenLogprob[] | null)[];
  outputTokenLogprobs: TokenLogprob[];
  outputTopLogprobs?: TokenLogprob[][];
  outputTokenIdsLogprobs?: TokenLogprob[][];
}

/** What the engine emits for a request: a delta since its previous output. */
export interface EngineOutput {
  rid: string;
  /** New output token ids (EOS included when it finished the request). */
  outputIds: number[];
  /** New detokenized text, stop strings trimmed unless noStopTrim. */
  text: string;
  finished: boolean;
  finishReason: FinishReason | null;
  promptTokens: number;
  /** Total output tokens so far. */
  completionTokens: number;
  cachedTokens: number;
  logprobs?: LogprobDelta;
  /** HTTP status for a failed request (400 invalid input, 503 queue full); absent when fine. */
  errorStatus?: number;
}

/** Static facts about the loaded model, for routes such as /get_model_info and /v1/models. */
export interface ModelInfo {
  modelPath: string;
  tokenizerPath: string;
  servedModelName: string;
  architecture: string;
  contextLength: number;
  vocabSize: number;
  dtype: string;
  isGeneration: true;
}

/**
 * The batch the scheduler hands the model for one forward step.
 * Token rows are grouped by request: request r owns rows qIndptr[r]..qIndptr[r+1].
 */
export interface ForwardBatch {
  numReqs: number;
  numTokens: number;
  inputIds: Int32Array; // [numTokens]
  positions: Int32Array; // [numTokens]
  outLoc: Int32Array; // [numTokens] KV slot each new token is written to
  qIndptr: Int32Array; // [numReqs + 1]
  kvIndptr: Int32Array; // [numReqs + 1]
  kvIndices: Int32Array; // [kvIndptr[numReqs]] KV slots of each request's positions 0..kvLen-1
  logitRows: Int32Array; // [numLogitRows] token rows whose logits are needed, ascending
  numLogitRows: number;
}

/** The model as the scheduler sees it. */
export interface ModelRunner {
  readonly vocabSize: number;
  /** Runs one step; returns the logits of batch.logitRows: [numLogitRows, vocabSize] (reused buffer). */
  forward(batch: ForwardBatch): Float32Array;
}

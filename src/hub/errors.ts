/**
 * HubError: every failure of hub resolution carries a message meant for the user (what went
 * wrong and what to do), so the CLI prints `message` alone. `code` lets callers and tests tell
 * the cases apart without matching text.
 */
export type HubErrorCode =
  | 'not_found' // repository (or revision, or file) does not exist
  | 'unauthorized' // gated/private repository, no or insufficient token
  | 'unreachable' // connection refused, DNS failure, timeout
  | 'offline_miss' // HF_HUB_OFFLINE=1 and the cache lacks a file
  | 'integrity' // size/sha256 mismatch that persisted after retries
  | 'http' // any other HTTP status
  | 'no_weights' // the repository has nothing tsgl can load, or an ambiguous .gguf choice
  | 'bad_id';

export class HubError extends Error {
  constructor(readonly code: HubErrorCode, message: string) {
    super(message);
    this.name = 'HubError';
  }
}

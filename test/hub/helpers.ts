/**
 * Test helpers: a temporary HF_HOME pointed at a fake hub (every hub-related environment
 * variable of the host is cleared so tests never see a real cache, token or endpoint), fixture
 * paths, and capture of stdout/stderr around a CLI call.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import type { FakeHub } from './fake-hub.js';

import { fileURLToPath } from 'node:url';

export const MODELS = fileURLToPath(new URL('../../../shared/models', import.meta.url));

const HUB_VARS = [
  'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'XDG_CACHE_HOME', 'HF_ENDPOINT', 'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE',
];

export interface HubEnv {
  home: string;
  cache: string;
  restore(): void;
}

/** Sets a fresh temporary HF_HOME (cache = HF_HOME/hub) and HF_ENDPOINT; restore() undoes it all. */
export function useHubEnv(endpoint: string, extra: Record<string, string> = {}): HubEnv {
  const saved = new Map(HUB_VARS.map((k) => [k, process.env[k]]));
  for (const k of HUB_VARS) delete process.env[k];
  const home = mkdtempSync(join(tmpdir(), 'tsgl-hub-'));
  process.env.HF_HOME = home;
  process.env.HF_ENDPOINT = endpoint;
  Object.assign(process.env, extra);
  return {
    home,
    cache: join(home, 'hub'),
    restore() {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * The hooks of a test file served by `hub`: the hub runs for the whole file; each test gets a
 * fresh HF_HOME pointed at it (`fake.env`) and a hub with no recorded requests, faults or
 * redirects; the environment is restored after each test.
 */
export function useFakeHub(hub: FakeHub): { readonly env: HubEnv } {
  let env: HubEnv | null = null;
  before(async () => void (await hub.start()));
  after(async () => hub.close());
  beforeEach(() => {
    env = useHubEnv(hub.url);
    hub.reset();
    hub.clearFaults();
  });
  afterEach(() => env?.restore());
  return {
    get env(): HubEnv {
      if (!env) throw new Error('fake hub environment used outside a test');
      return env;
    },
  };
}

export function sameBytes(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

export async function captureOutput(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

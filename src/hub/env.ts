/**
 * Hub settings from the environment, read on every call (tests and long-lived processes may
 * change them), with the same names, precedence and defaults as the `huggingface_hub` library:
 *   cache:    HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > $HF_HOME/hub > $XDG_CACHE_HOME/huggingface/hub
 *             > ~/.cache/huggingface/hub
 *   endpoint: HF_ENDPOINT (default https://huggingface.co, no trailing slash)
 *   token:    HF_TOKEN > HUGGING_FACE_HUB_TOKEN > the file $HF_TOKEN_PATH or $HF_HOME/token
 *   offline:  HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1/true/yes/on
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function nonEmpty(name: string): string | undefined {
  const v = process.env[name];
  return v !== undefined && v !== '' ? v : undefined;
}

export function hfHome(): string {
  const home = nonEmpty('HF_HOME');
  if (home) return expandHome(home);
  const xdg = nonEmpty('XDG_CACHE_HOME');
  return join(xdg ? expandHome(xdg) : join(homedir(), '.cache'), 'huggingface');
}

export function hubCacheDir(): string {
  const explicit = nonEmpty('HF_HUB_CACHE') ?? nonEmpty('HUGGINGFACE_HUB_CACHE');
  return explicit ? expandHome(explicit) : join(hfHome(), 'hub');
}

export function hubEndpoint(): string {
  return (nonEmpty('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
}

export function hubToken(): string | undefined {
  const fromEnv = nonEmpty('HF_TOKEN') ?? nonEmpty('HUGGING_FACE_HUB_TOKEN');
  if (fromEnv) return fromEnv.trim();
  const file = nonEmpty('HF_TOKEN_PATH') ? expandHome(process.env.HF_TOKEN_PATH!) : join(hfHome(), 'token');
  try {
    const t = readFileSync(file, 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

export function hubOffline(): boolean {
  return isTrue(process.env.HF_HUB_OFFLINE) || isTrue(process.env.TRANSFORMERS_OFFLINE);
}

/**
 * Launches the real server (`tsgl launch_server`, from the sources) on a free port and talks to
 * it with raw HTTP. Every launched server is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

export interface Server {
  url: string;
  proc: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function launchServer(args: string[], env: Record<string, string> = {}): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'launch_server', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${log}`)), 120_000);
    const check = (): void => {
      const m = /listening on\s+(http:\/\/\S+)/.exec(log);
      if (m && log.includes('ready to roll')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stderr!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before it was ready:\n${log}`));
    });
  });
  return {
    url, proc,
    log: () => log,
    stop: (signal = 'SIGTERM') => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => { live.delete(proc); resolve(code); });
      proc.kill(signal);
    }),
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

/** Parses an SSE body into its data payloads (without the final [DONE]). */
export async function postStream(url: string, body: unknown): Promise<any[]> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  if (events.at(-1) !== '[DONE]') throw new Error(`stream did not end with [DONE]: ${text.slice(-200)}`);
  return events.slice(0, -1).map((e) => JSON.parse(e));
}

/** Waits until the server is idle (no running or queued requests). */
export async function waitIdle(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await (await fetch(`${url}/get_load`, { headers })).json() as { load?: number } | { load: number }[];
    const load = Array.isArray(info) ? info[0]!.load : info.load;
    if (load === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not become idle');
}

/** The idle self-check logs "leak" when free + cached + used != total. */
export function assertNoLeak(server: Server): void {
  if (/KV memory leak/.test(server.log())) throw new Error(`KV leak reported:\n${server.log()}`);
}

/**
 * `tsgl bench_compare`: tsgl against llama.cpp on the same GGUF, in the same run, alternating
 * the two engines, `--runs` times; prints each figure's median and the ratio tsgl / llama.cpp
 * (for latencies, llama.cpp / tsgl, so > 1 always means tsgl is better), and writes all raw
 * figures as JSON to bench/results/.
 *
 * Workloads (offline ones use `tsgl bench_one_batch` vs `llama-bench`; serving ones launch each
 * server and run bench_serving against it):
 *   decode-1       one stream, 128 new tokens: tsgl decode tok/s vs llama-bench -p 0 -n 128
 *   prefill-512    512-token prompt: tsgl prefill tok/s vs llama-bench -p 512 -n 0
 *   serve-32       32 requests at once, input 256, output 128 (random-ids): output tok/s,
 *                  TTFT, p99 ITL; llama-server once per --parallel value, best one counts
 *   shared-prefix  generated-shared-prefix, 2048-token system prompt, 16 questions per group:
 *                  TTFT of a group's first request vs the later ones, throughput
 * llama.cpp binaries: --llama-bin DIR, else $LLAMA_CPP_BIN, else the output of
 * ../shared/tools/build-llama-cpp.sh (builds on first use, ~15 minutes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getStatus } from './backends.js';
import { parseServingArgs, runServingBenchmark, type ServingResult } from './serving.js';
import { median } from './stats.js';

const HELP = `Usage: tsgl bench_compare --model X.gguf [--model Y.gguf] [--workload decode-1,prefill-512,serve-32,shared-prefix]
                         [--runs 3] [--threads 2] [--parallel N,M] [--llama-bin DIR] [--out DIR] [--quick]

Runs each named workload on tsgl and on llama.cpp with the same GGUF file, alternating the two
engines --runs times, and prints medians and ratios (> 1 means tsgl is better).

  --workload W       comma list or repeated: decode-1, prefill-512, serve-32, shared-prefix, all
  --model F          GGUF file (repeatable); every workload runs on every model
  --runs N           alternations (default 3)
  --threads N        threads for both engines (default 2)
  --parallel L       llama-server --parallel values to try for serving workloads (default: the
                     workload's concurrency, 32 for serve-32 and 8 for shared-prefix); the best
                     median is the peer's figure
  --llama-bin DIR    folder with llama-bench and llama-server
  --only E           tsgl or llama.cpp: run one engine only (no ratios)
  --gsp-groups N     shared-prefix groups (default 2); --gsp-output-len N (default 32)
  --serve-prompts N  requests of serve-32 (default 32)
  --tsgl-flags S     extra launch_server flags for tsgl's server, e.g. "--chunked-prefill-size 512"
  --out DIR          results folder (default bench/results)
  --quick            smaller workloads for a smoke test
`;

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root, from bench/ (tsx) or dist/bench/ (compiled). */
export const ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');

/** argv prefix that runs the tsgl CLI in a child process, from sources under tsx or compiled. */
export function tsglCommand(): string[] {
  if (import.meta.url.endsWith('.ts')) return [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'cli', 'entry.ts')];
  return [process.execPath, join(ROOT, 'bin', 'tsgl.js')];
}

/** A short description of the machine: CPU model, ISA flags that matter, cores, load. */
export function machineInfo(): Record<string, unknown> {
  let flags = '';
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
    const fam = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    const mod = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(info)?.[1];
    model = `${model} (${vendor} family ${fam} model ${mod})`;
  } catch {
    /* not Linux */
  }
  const have = ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_int8', 'amx_bf16'].filter((f) => flags.split(/\s+/).includes(f));
  return { cpu: model, cores: cpus().length, isa: have.join(' '), loadavg: loadavg().map((x) => Math.round(x * 100) / 100) };
}

/**
 * Memory read bandwidth (GB/s) with `threads` threads, from bench/membw.c compiled with the
 * system C compiler into the results folder; null when no compiler is available.
 */
export function measureReadBandwidth(threads: number, outDir: string): number | null {
  const exe = join(outDir, 'membw');
  if (!existsSync(exe)) {
    const r = spawnSync('cc', ['-O3', '-march=native', '-pthread', join(ROOT, 'bench', 'membw.c'), '-o', exe], { encoding: 'utf8' });
    if (r.status !== 0) return null;
  }
  const r = spawnSync(exe, [String(threads), '512'], { encoding: 'utf8', timeout: 120000 });
  const x = Number(r.stdout.trim());
  return r.status === 0 && x > 0 ? x : null;
}

function findLlamaBin(given: string | undefined): string {
  const cands = [given, process.env['LLAMA_CPP_BIN']].filter((x): x is string => !!x);
  for (const c of cands) if (existsSync(join(c, 'llama-bench'))) return c;
  const script = resolve(ROOT, '..', 'shared', 'tools', 'build-llama-cpp.sh');
  if (!existsSync(script)) throw new Error('llama.cpp not found: pass --llama-bin DIR (folder with llama-bench and llama-server)');
  process.stderr.write(`building llama.cpp with ${script} (first run takes ~15 minutes)...\n`);
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !existsSync(join(dir, 'llama-bench'))) throw new Error(`build-llama-cpp.sh failed (exit ${r.status})`);
  return dir;
}

interface GgufFacts {
  arch: string;
  hasVocab: boolean;
  vocabSize: number;
  /** bytes of weights read per decoded token (all matrices incl. the output head; one embedding row). */
  weightBytesPerToken: number;
  /** multiply-accumulates per token in the matrices (2 ops each). */
  macsPerToken: number;
}

export async function ggufFacts(path: string): Promise<GgufFacts> {
  const { readGguf, ggufString } = await import('../src/formats/gguf.js');
  const f = readGguf(path);
  const arch = ggufString(f, 'general.architecture') ?? 'llama';
  const tokModel = ggufString(f, 'tokenizer.ggml.model') ?? 'none';
  const { vocabSizeOf } = await import('./serving.js');
  const vocabSize = (await vocabSizeOf(path)) ?? 0;
  let bytes = 0;
  let macs = 0;
  const hasOutput = f.tensors.some((t) => t.name === 'output.weight');
  for (const t of f.tensors) {
    const elems = t.dims.reduce((a, b) => a * b, 1);
    if (t.name === 'token_embd.weight') {
      if (hasOutput) bytes += t.nbytes / (t.dims[1] ?? 1); // one row looked up
      else {
        bytes += t.nbytes; // tied: read in full as the output head
        macs += elems;
      }
      continue;
    }
    bytes += t.nbytes;
    if (t.dims.length === 2) macs += elems;
  }
  return { arch, hasVocab: tokModel !== 'none' && tokModel !== 'no_vocab', vocabSize, weightBytesPerToken: bytes, macsPerToken: macs };
}

function run(cmd: string[], timeoutS: number): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function lastJsonLine(s: string): Record<string, unknown> {
  const lines = s.trim().split('\n').filter((l) => l.startsWith('{') || l.startsWith('['));
  if (!lines.length) throw new Error(`no JSON in output: ${s.slice(-500)}`);
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

interface OfflineFigure {
  tokPerS: number;
}

function tsglOneBatch(model: string, threads: number, kind: 'decode' | 'prefill', n: number): OfflineFigure {
  const args =
    kind === 'decode'
      ? ['--batch-size', '1', '--input-len', '16', '--output-len', String(n)]
      : ['--batch-size', '1', '--input-len', String(n), '--output-len', '1'];
  const cmd = [...tsglCommand(), 'bench_one_batch', '--model-path', model, ...args, '--runs', '1', '--warmup', '1', '--threads', String(threads), '--json'];
  const r = run(cmd, 1800);
  if (r.code !== 0) throw new Error(`tsgl bench_one_batch failed: ${r.stderr.slice(-1000)}`);
  const j = lastJsonLine(r.stdout) as { rows: Array<{ prefillTokPerS: number; decodeTokPerS: number }> };
  const row = j.rows[0]!;
  return { tokPerS: kind === 'decode' ? row.decodeTokPerS : row.prefillTokPerS };
}

function llamaBench(bin: string, model: string, threads: number, kind: 'decode' | 'prefill', n: number): OfflineFigure {
  const pn = kind === 'decode' ? ['-p', '0', '-n', String(n)] : ['-p', String(n), '-n', '0'];
  const cmd = [join(bin, 'llama-bench'), '-m', model, ...pn, '-t', String(threads), '-r', '1', '-o', 'json'];
  const r = run(cmd, 1800);
  if (r.code !== 0) throw new Error(`llama-bench failed (${r.code}): ${r.stderr.slice(-1000)}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ avg_ts: number }>;
  return { tokPerS: j[0]!.avg_ts };
}

/** A server child process; stopped by its own pid. */
class Server {
  private constructor(
    readonly proc: ChildProcess,
    readonly baseUrl: string,
    readonly logPath: string,
  ) {}

  static async start(cmd: string[], port: number, logPath: string, readyTimeoutS = 600): Promise<Server> {
    const fd = openSync(logPath, 'w');
    const proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const s = new Server(proc, `http://127.0.0.1:${port}`, logPath);
    const t0 = Date.now();
    let exited = false;
    proc.once('exit', () => (exited = true));
    while (Date.now() - t0 < readyTimeoutS * 1000) {
      if (exited) throw new Error(`server exited early: ${cmd.join(' ')}\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
      if ((await getStatus(s.baseUrl, '/health', 2000)) === 200) return s;
      await new Promise((r) => setTimeout(r, 500));
    }
    await s.stop();
    throw new Error(`server not ready after ${readyTimeoutS}s: ${cmd.join(' ')}`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
    await gone;
    clearTimeout(t);
  }
}

interface ServeWorkload {
  argv: string[];
  ctxPerSeq: number;
}

function serveWorkload(name: string, o: Opts): ServeWorkload {
  if (name === 'serve-32') {
    const n = o.quick ? 8 : o.servePrompts;
    const [inLen, outLen] = o.quick ? [64, 16] : [256, 128];
    return {
      argv: ['--dataset-name', 'random-ids', '--num-prompts', String(n), '--random-input-len', String(inLen), '--random-output-len', String(outLen), '--random-range-ratio', '1', '--max-concurrency', '32'],
      ctxPerSeq: inLen + outLen + 16,
    };
  }
  const sys = o.quick ? 256 : 2048;
  const q = o.quick ? 16 : 128;
  const out = o.quick ? 8 : o.gspOutputLen;
  return {
    argv: [
      '--dataset-name', 'generated-shared-prefix', '--gsp-num-groups', String(o.quick ? 1 : o.gspGroups), '--gsp-prompts-per-group', String(o.quick ? 4 : 16),
      '--gsp-system-prompt-len', String(sys), '--gsp-question-len', String(q), '--gsp-output-len', String(out), '--max-concurrency', '8',
    ],
    ctxPerSeq: sys + q + out + 16,
  };
}

interface Opts {
  workloads: string[];
  models: string[];
  runs: number;
  threads: number;
  /** empty: the workload's own concurrency. */
  parallel: number[];
  llamaBin?: string;
  only?: 'tsgl' | 'llama.cpp';
  out: string;
  quick: boolean;
  gspGroups: number;
  gspOutputLen: number;
  servePrompts: number;
  basePort: number;
  /** Extra launch_server flags for tsgl's server (serving workloads). */
  tsglFlags: string[];
}

const OFFLINE = new Set(['decode-1', 'prefill-512']);
const ALL = ['decode-1', 'prefill-512', 'serve-32', 'shared-prefix'];

interface Sample {
  engine: string;
  run: number;
  loadavg: number[];
  figures: Record<string, number>;
}

/** Per engine, the median of each figure over its samples. */
function medians(samples: Sample[]): Record<string, Record<string, number>> {
  const by: Record<string, Record<string, number[]>> = {};
  for (const s of samples) {
    const e = (by[s.engine] ??= {});
    for (const [k, v] of Object.entries(s.figures)) (e[k] ??= []).push(v);
  }
  const out: Record<string, Record<string, number>> = {};
  for (const [e, figs] of Object.entries(by)) out[e] = Object.fromEntries(Object.entries(figs).map(([k, v]) => [k, median(v)]));
  return out;
}

/** Figures where smaller is better (ratio = peer / tsgl). */
const LOWER_IS_BETTER = /(_ms|latency)$/;

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function serveFigures(r: ServingResult): Record<string, number> {
  const f: Record<string, number> = {
    output_throughput: r.output_throughput,
    request_throughput: r.request_throughput,
    total_throughput: r.total_throughput,
    median_ttft_ms: r.median_ttft_ms,
    p99_ttft_ms: r.p99_ttft_ms,
    median_itl_ms: r.median_itl_ms,
    p99_itl_ms: r.p99_itl_ms,
    median_tpot_ms: r.median_tpot_ms,
    median_e2e_latency_ms: r.median_e2e_latency_ms,
  };
  if (r.shared_prefix) {
    f['gsp_first_ttft_ms'] = r.shared_prefix.first_ttft_ms;
    f['gsp_later_ttft_ms'] = r.shared_prefix.later_ttft_ms;
    f['gsp_later_over_first'] = r.shared_prefix.ratio;
  }
  if (r.failed) f['failed'] = r.failed;
  return f;
}

async function runServe(
  engine: string,
  o: Opts,
  model: string,
  facts: GgufFacts,
  w: ServeWorkload,
  bin: string | null,
  logDir: string,
  tag: string,
  requestErrors: string[],
): Promise<Record<string, number>> {
  const port = o.basePort + Math.floor(Math.random() * 500);
  let cmd: string[];
  let backend: string;
  if (engine === 'tsgl') {
    cmd = [...tsglCommand(), 'launch_server', '--model-path', model, '--port', String(port), '--threads', String(o.threads), ...(facts.hasVocab ? [] : ['--skip-tokenizer-init']), ...o.tsglFlags];
    backend = 'sglang';
  } else {
    const np = Number(engine.split('-np')[1]);
    const ctx = Math.max(4096, np * w.ctxPerSeq);
    cmd = [join(bin!, 'llama-server'), '-m', model, '--port', String(port), '-t', String(o.threads), '-np', String(np), '-c', String(ctx), '--no-webui'];
    backend = 'llama.cpp';
  }
  const log = join(logDir, `${tag}-${engine}.log`);
  let srv: Server;
  try {
    srv = await Server.start(cmd, port, log);
  } catch (e) {
    // older llama-server builds lack --no-webui
    if (engine === 'tsgl' || !String(e).includes('no-webui')) throw e;
    srv = await Server.start(cmd.filter((a) => a !== '--no-webui'), port, log);
  }
  try {
    const a = parseServingArgs(['--backend', backend, '--base-url', srv.baseUrl, '--vocab-size', String(facts.vocabSize), '--seed', '1', ...w.argv]);
    if (a === 'help') throw new Error('unreachable');
    const r = await runServingBenchmark(a, () => {});
    if (r.completed === 0) throw new Error(`${engine}: all requests failed: ${r.errors?.join('; ')}`);
    for (const e of r.errors ?? []) requestErrors.push(`${engine}: ${e}`);
    return serveFigures(r);
  } finally {
    await srv.stop();
  }
}

function parseOpts(argv: string[]): Opts | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      workload: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      'model-path': { type: 'string', multiple: true },
      runs: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      parallel: { type: 'string' },
      'llama-bin': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'gsp-groups': { type: 'string', default: '2' },
      'gsp-output-len': { type: 'string', default: '32' },
      'serve-prompts': { type: 'string', default: '32' },
      port: { type: 'string', default: '31200' },
      'tsgl-flags': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const models = [...(v.model ?? []), ...(v['model-path'] ?? [])];
  if (v.help || models.length === 0) return 'help';
  let workloads = (v.workload ?? ['all']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (workloads.includes('all')) workloads = ALL;
  for (const w of workloads) if (!ALL.includes(w)) throw new Error(`unknown workload ${w}; one of ${ALL.join(', ')}, all`);
  if (v.only && v.only !== 'tsgl' && v.only !== 'llama.cpp') throw new Error('--only: tsgl or llama.cpp');
  return {
    workloads,
    models: models.map((m) => resolve(m)),
    runs: Number(v.runs),
    threads: Number(v.threads),
    parallel: (v.parallel ?? '').split(',').map(Number).filter((x) => x > 0),
    llamaBin: v['llama-bin'],
    only: v.only as Opts['only'],
    out: resolve(v.out ?? join(ROOT, 'bench', 'results')),
    quick: v.quick!,
    gspGroups: Number(v['gsp-groups']),
    gspOutputLen: Number(v['gsp-output-len']),
    servePrompts: Number(v['serve-prompts']),
    basePort: Number(v.port),
    tsglFlags: v['tsgl-flags']!.split(/\s+/).filter(Boolean),
  };
}

/** `tsgl bench_compare` entry point. */
export async function benchCompare(argv: string[]): Promise<number> {
  const o = parseOpts(argv);
  if (o === 'help') {
    process.stdout.write(HELP);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  const bin = o.only === 'tsgl' ? null : findLlamaBin(o.llamaBin);
  mkdirSync(o.out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = join(o.out, `logs-${stamp}`);
  mkdirSync(logDir, { recursive: true });
  const machine = machineInfo();
  process.stdout.write(`machine: ${machine['cpu']}, ${machine['cores']} cores, ${machine['isa']}; load ${(machine['loadavg'] as number[]).join(' ')}\n`);
  if (bin) process.stdout.write(`llama.cpp: ${bin}\n`);
  const readBw = measureReadBandwidth(o.threads, o.out);
  machine['read_gb_per_s'] = readBw;
  if (readBw) process.stdout.write(`memory read bandwidth, ${o.threads} threads: ${readBw.toFixed(1)} GB/s (bench/membw.c, now)\n`);
  const report: Record<string, unknown>[] = [];
  let failures = 0;
  for (const model of o.models) {
    const facts = await ggufFacts(model);
    for (const wl of o.workloads) {
      const engines: string[] = [];
      if (o.only !== 'llama.cpp') engines.push('tsgl');
      if (o.only !== 'tsgl') {
        if (OFFLINE.has(wl)) engines.push('llama.cpp');
        else for (const np of o.parallel.length ? o.parallel : [wl === 'serve-32' ? 32 : 8]) engines.push(`llama.cpp-np${np}`);
      }
      const samples: Sample[] = [];
      const errors: string[] = [];
      process.stdout.write(`\n== ${wl} on ${model} (${o.runs} alternating runs: ${engines.join(', ')})\n`);
      for (let r = 0; r < o.runs; r++) {
        // alternate the order too, so neither engine always runs first after a pause
        const order = r % 2 === 0 ? engines : [...engines].reverse();
        for (const e of order) {
          const load = loadavg().map((x) => Math.round(x * 100) / 100);
          try {
            let figures: Record<string, number>;
            if (wl === 'decode-1' || wl === 'prefill-512') {
              const kind = wl === 'decode-1' ? 'decode' : 'prefill';
              const n = wl === 'decode-1' ? (o.quick ? 32 : 128) : o.quick ? 128 : 512;
              const f = e === 'tsgl' ? tsglOneBatch(model, o.threads, kind, n) : llamaBench(bin!, model, o.threads, kind, n);
              figures = { tok_per_s: f.tokPerS };
              if (kind === 'decode') figures['weight_gb_per_s'] = (f.tokPerS * facts.weightBytesPerToken) / 1e9;
            } else {
              figures = await runServe(e, o, model, facts, serveWorkload(wl, o), bin, logDir, `${wl}-r${r}`, errors);
            }
            samples.push({ engine: e, run: r, loadavg: load, figures });
            process.stdout.write(`  run ${r + 1} ${e.padEnd(16)} ${Object.entries(figures).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')}  (load ${load[0]})\n`);
          } catch (err) {
            failures++;
            const msg = (err as Error).message;
            errors.push(`${e} run ${r}: ${msg}`);
            process.stdout.write(`  run ${r + 1} ${e.padEnd(16)} FAILED: ${msg.split('\n')[0]}\n`);
          }
        }
      }
      const med = medians(samples);
      // the peer's figure: its best engine configuration by the headline figure
      const headline = OFFLINE.has(wl) ? 'tok_per_s' : 'output_throughput';
      const peers = Object.keys(med).filter((e) => e.startsWith('llama.cpp'));
      const bestPeer = peers.sort((a, b) => (med[b]![headline] ?? 0) - (med[a]![headline] ?? 0))[0];
      const ratios: Record<string, number> = {};
      if (med['tsgl'] && bestPeer) {
        for (const [k, v] of Object.entries(med['tsgl'])) {
          const p = med[bestPeer]![k];
          if (p === undefined || k.startsWith('gsp_later_over') || k === 'failed') continue;
          ratios[k] = LOWER_IS_BETTER.test(k) ? p / v : v / p;
        }
      }
      process.stdout.write(`  median ${''.padEnd(9)}${Object.keys(med).map((e) => e.padStart(18)).join('')}   ratio (tsgl vs ${bestPeer ?? '-'}; >1 = tsgl better)\n`);
      const keys = [...new Set(Object.values(med).flatMap((m) => Object.keys(m)))];
      for (const k of keys) {
        process.stdout.write(`  ${k.padEnd(24)}${Object.keys(med).map((e) => fmt(med[e]![k]).padStart(18)).join('')}   ${ratios[k] !== undefined ? fmt(ratios[k]) + 'x' : ''}\n`);
      }
      if (wl === 'decode-1') {
        const bw = (e: string) => med[e]?.['weight_gb_per_s'];
        const frac = (x: number | undefined) => (x !== undefined && readBw ? ` = ${((100 * x) / readBw).toFixed(0)}% of ${readBw.toFixed(1)} GB/s` : '');
        process.stdout.write(`  weights read per token: ${(facts.weightBytesPerToken / 1e6).toFixed(1)} MB; tsgl ${fmt(bw('tsgl'))} GB/s${frac(bw('tsgl'))}; llama.cpp ${fmt(bw('llama.cpp'))} GB/s${frac(bw('llama.cpp'))}\n`);
      }
      report.push({ workload: wl, model, facts, engines, runs: o.runs, samples, medians: med, best_peer: bestPeer ?? null, ratios, errors });
    }
  }
  const file = join(o.out, `compare-${stamp}.json`);
  const after = machineInfo();
  after['read_gb_per_s'] = measureReadBandwidth(o.threads, o.out);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, machine_after: after, threads: o.threads, llama_bin: bin, quick: o.quick, results: report }, null, 2) + '\n');
  process.stdout.write(`\nwrote ${file}\n`);
  return failures === 0 ? 0 : 1;
}

/**
 * Download progress on stderr: one cli-progress bar per file (name, bytes done / total, speed)
 * when stderr is a terminal, one summary line per finished file otherwise, nothing when disabled.
 * Never writes to stdout (the CLI prints the resulting path there).
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { FileProgress } from './fetch-blob.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export interface ProgressReporter {
  file(name: string): FileProgress;
  close(): void;
}

const LABEL_WIDTH = 32;
const SILENT: FileProgress = { start() {}, update() {}, stop() {} };

export function createProgress(enabled: boolean): ProgressReporter {
  if (!enabled) return { file: () => SILENT, close() {} };
  if (!process.stderr.isTTY) return lineProgress();
  const multi = new MultiBar({
    format: '{name} |{bar}| {percentage}% | {doneH}/{totalH} | {speed}',
    stream: process.stderr, hideCursor: false, clearOnComplete: false, barsize: 30, fps: 8,
  });
  return {
    file(name) {
      let bar: SingleBar | null = null;
      let t0 = 0;
      let from = 0;
      let total = 0;
      const label = name.length > LABEL_WIDTH ? `…${name.slice(1 - LABEL_WIDTH)}` : name.padEnd(LABEL_WIDTH);
      const payload = (done: number, final = false): Record<string, string> => {
        const secs = (performance.now() - t0) / 1000;
        return {
          name: label, doneH: formatBytes(done), totalH: formatBytes(total),
          speed: secs > 0.2 || (final && secs > 0) ? `${formatBytes(Math.round((done - from) / secs))}/s` : '-',
        };
      };
      return {
        start(t, done) {
          total = t;
          t0 = performance.now();
          from = done;
          if (!bar) bar = multi.create(Math.max(t, 1), done, payload(done));
          else bar.update(done, payload(done));
        },
        update(done) {
          bar?.update(done, payload(done));
        },
        stop() {
          bar?.update(total, payload(total, true));
          bar?.stop();
        },
      };
    },
    close() {
      multi.stop();
    },
  };
}

function lineProgress(): ProgressReporter {
  return {
    file(name) {
      let t0 = 0;
      let from = 0;
      let total = 0;
      return {
        start(t, done) {
          total = t;
          from = done;
          t0 = performance.now();
        },
        update() {},
        stop() {
          const secs = Math.max((performance.now() - t0) / 1000, 1e-3);
          process.stderr.write(`downloaded ${name} (${formatBytes(total)}) in ${secs.toFixed(1)}s, ${formatBytes((total - from) / secs)}/s\n`);
        },
      };
    },
    close() {},
  };
}

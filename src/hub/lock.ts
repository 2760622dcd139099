/**
 * One writer per blob. In this process, concurrent requests for the same blob share one
 * promise; across processes, a lock file `<cache>/.locks/models--org--name/<etag>.tsgl.lock`
 * (created with O_EXCL, holding "host:pid", its mtime refreshed while held) makes other tsgl
 * processes wait. A lock whose process is gone (same host) or whose mtime is older than
 * STALE_MS (another host) is taken over. Python's own `.lock` files (flock-based, left in place)
 * use a different name and are not touched.
 * Invariant: the caller re-checks the blob inside `fn`, since a waiter may find it finished.
 */
import { hostname } from 'node:os';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';

const STALE_MS = 120_000;
const REFRESH_MS = 30_000;
const inflight = new Map<string, Promise<void>>();

function owner(): string {
  return `${hostname()}:${process.pid}`;
}

async function isStale(lock: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(lock, 'utf8'), stat(lock)]);
  } catch {
    return false; // vanished: the next O_EXCL attempt will tell
  }
  const [host, pidText] = text.trim().split(':');
  const pid = Number(pidText);
  if (host === hostname() && Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return Date.now() - mtimeMs > STALE_MS;
}

async function acquire(lock: string, onWait?: () => void): Promise<() => Promise<void>> {
  await mkdir(dirname(lock), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(owner());
      await fh.close();
      const timer = setInterval(() => void utimes(lock, new Date(), new Date()).catch(() => {}), REFRESH_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await unlink(lock).catch(() => {});
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(lock)) {
      await unlink(lock).catch(() => {});
      continue;
    }
    if (!waited) onWait?.();
    waited = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs `fn` while holding the blob's lock; concurrent callers in this process share one run. */
export function withBlobLock(lock: string, fn: () => Promise<void>, onWait?: () => void): Promise<void> {
  const running = inflight.get(lock);
  if (running) return running;
  const p = (async () => {
    const release = await acquire(lock, onWait);
    try {
      await fn();
    } finally {
      await release();
    }
  })().finally(() => inflight.delete(lock));
  inflight.set(lock, p);
  return p;
}

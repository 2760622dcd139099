/**
 * Where a worker thread's entry module is: the compiled `.js` next to the calling module, or,
 * when tsgl runs from its TypeScript sources under tsx, a bootstrap (.mjs) that registers tsx and
 * then imports the `.ts` entry named in workerData.tsEntry.
 */
export interface WorkerEntry {
  url: URL;
  /** Pass as workerData.tsEntry (set only under tsx). */
  tsEntry?: string;
}

/** `callerUrl`: the caller's import.meta.url; `baseName`: the entry file name without extension. */
export function workerEntry(callerUrl: string, baseName: string): WorkerEntry {
  if (!callerUrl.endsWith('.ts')) return { url: new URL(`./${baseName}.js`, callerUrl) };
  return { url: new URL('./ts-worker-bootstrap.mjs', import.meta.url), tsEntry: new URL(`./${baseName}.ts`, callerUrl).href };
}

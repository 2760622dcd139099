/**
 * `tsgl models [--json]`: lists the model repositories in the Hugging Face cache (also those
 * downloaded by Python tools): repo id, revisions (ref -> short commit), size on disk, folder.
 * Reads the cache only; never opens a connection. Exit codes: 0, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { hubCacheDir } from '../hub/env.js';
import { formatBytes } from '../hub/progress.js';
import { scanCache } from '../hub/scan.js';

const HELP = `Usage: tsgl models [--json]

Lists the models in the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub).

  --json   one JSON array (repo_id, refs, snapshots, size_on_disk, path) instead of a table
`;

function revisions(refs: Record<string, string>, snapshots: string[]): string {
  const named = Object.entries(refs).map(([ref, commit]) => `${ref}=${commit.slice(0, 8)}`);
  const referenced = new Set(Object.values(refs));
  const detached = snapshots.filter((c) => !referenced.has(c)).map((c) => c.slice(0, 8));
  return [...named, ...detached].join(',') || '-';
}

export async function modelsCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    process.stderr.write(`tsgl models: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const cacheDir = hubCacheDir();
  const repos = scanCache(cacheDir);
  if (values.json) {
    const out = repos.map((r) => ({ repo_id: r.repoId, refs: r.refs, snapshots: r.snapshots, size_on_disk: r.sizeOnDisk, path: r.path }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  if (repos.length === 0) {
    process.stdout.write(`no models in ${cacheDir}\n`);
    return 0;
  }
  const rows = [['REPO ID', 'REVISIONS', 'SIZE ON DISK', 'PATH']];
  for (const r of repos) {
    const size = formatBytes(r.sizeOnDisk) + (r.incompleteBytes ? ` (${formatBytes(r.incompleteBytes)} incomplete)` : '');
    rows.push([r.repoId, revisions(r.refs, r.snapshots), size, r.path]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
  const total = repos.reduce((s, r) => s + r.sizeOnDisk, 0);
  process.stdout.write(`\n${repos.length} model(s), ${formatBytes(total)} in ${cacheDir}\n`);
  return 0;
}

/**
 * The README quickstart as written: `npx tsgl launch_server` (compiled CLI, no --model-path)
 * serves the bundled demo model; the curl example and the openai-client example return text.
 * The commands and bodies are read from README.md itself, so the README cannot drift.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import OpenAI from 'openai';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(`${ROOT}README.md`, 'utf8');

describe('README quickstart', () => {
  it('serves the bundled model and answers the curl and openai examples', async () => {
    assert.match(readme, /```sh\nnpm ci\nnpx tsgl launch_server\n```/);
    const curlBody = /-d '(\{.*\})'/.exec(readme)![1]!;
    const port = 30000 + Math.floor(Math.random() * 20000);
    const proc = spawn(process.execPath, ['bin/tsgl.js', 'launch_server', '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not ready:\n${log}`)), 60_000);
        proc.stderr.on('data', () => { if (log.includes('ready to roll')) { clearTimeout(t); resolve(); } });
        proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`exited ${c}:\n${log}`)); });
      });
      assert.match(log, /bundled demo model/);
      const res = await fetch(`http://127.0.0.1:${port}/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: curlBody });
      const body = await res.json() as { text: string };
      assert.equal(res.status, 200);
      assert.ok(body.text.length > 10, body.text);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none' });
      const r = await client.completions.create({ model: 'default', prompt: 'Once upon a time', max_tokens: 32, temperature: 0 });
      assert.ok(r.choices[0]!.text.length > 10, r.choices[0]!.text);
      assert.equal(r.choices[0]!.text, body.text);
    } finally {
      proc.kill('SIGTERM');
    }
  });
});

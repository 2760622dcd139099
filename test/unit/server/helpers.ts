/** Starts a tsgl server on a free port around a FakeEngine, and small SSE helpers. */
import type { AddressInfo } from 'node:net';
import { createServer, type ServerOptions, type TsglServer } from '../../../src/server/http-server.js';
import { FakeEngine, type FakeOptions } from './fake-engine.js';

export interface Harness {
  engine: FakeEngine;
  server: TsglServer;
  url: string;
  close(): Promise<void>;
}

export async function start(opts: ServerOptions = {}, fake: FakeOptions = {}): Promise<Harness> {
  const engine = new FakeEngine(fake);
  const server = createServer(engine, opts);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { engine, server, url: `http://127.0.0.1:${port}`, close: () => server.shutdown(1000) };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Parses an SSE body into its data payloads (JSON objects, or the string "[DONE]"). */
export function parseSse(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((f) => f.length > 0)
    .map((f) => {
      if (!f.startsWith('data: ')) throw new Error(`bad frame ${JSON.stringify(f)}`);
      const d = f.slice(6);
      return d === '[DONE]' ? d : JSON.parse(d);
    });
}

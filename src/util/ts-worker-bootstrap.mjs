// Development only: a worker entry that registers tsx, then runs the TypeScript worker named in
// workerData.tsEntry. Used when tsgl runs from its sources under `node --import tsx`.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);

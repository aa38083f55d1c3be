// A worker thread running a TypeScript module: the worker registers tsx's loader before it imports the
// module (a worker does not inherit the loader of the thread that starts it).
import { Worker } from 'node:worker_threads';

export function startTsWorker(target: URL): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target.href)}); })`,
    { eval: true },
  );
}

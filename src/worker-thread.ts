import { Worker } from 'node:worker_threads';

/**
 * A worker thread running `module` (a path relative to `from`, the caller's import.meta.url,
 * without its extension), as the caller is run: the compiled module of dist/, or, run from
 * the TypeScript sources (tsx: tests, `npm start`), the source through tsx's API (a worker
 * thread does not inherit the loader tsx registered, nor does `--import tsx` register it in
 * time for the worker's first module on Node 20).
 */
export function startWorker(module: string, from: string, workerData: unknown): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`${module}.js`, from), { workerData });
  const source = new URL(`${module}.ts`, from).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const load = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(from)}))`;
  return new Worker(load, { eval: true, workerData });
}

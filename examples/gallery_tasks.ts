/**
 * Task functions for the feature gallery's ThreadQueue and ProcessQueue
 * sections. Workers and child processes import this module by URL (through
 * `taskModule`), so it is a plain module: no osiiso imports needed.
 *
 * @module
 */

/** Blocks the calling thread for `ms` (CPU-free), like a synchronous library call. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A blocking "fetch": sleeps synchronously, then answers. */
export function blockingFetch(label: string, delay = 20): string {
  blockFor(delay);
  return `thread:${label}`;
}

/** Adds two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** Squares a number. */
export function square(n: number): number {
  return n * n;
}

/** The part of a `TaskContext` (`bind: true`) these tasks read. */
interface AttemptContext {
  readonly attempt: number;
}

/**
 * Fails its first attempt, then succeeds. It reads the attempt's number from
 * its context: a retry may run in another worker, whose module state has not
 * seen the first attempt.
 */
export function failOnce(context: AttemptContext, key: string): string {
  if (context.attempt === 1) throw new Error(`first attempt for ${key} fails`);
  return "retry-ok";
}

/** The process id of the worker's child (ProcessQueue) or of this program. */
export function pid(): number {
  return (globalThis as unknown as { process: { pid: number } }).process.pid;
}

/** Works for `ms` (a timer, so the child stays responsive), then returns `ms`. */
export async function work(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}

/** Works for `ms`, then ends this child process, as a crashing native library would. */
export async function crash(ms: number): Promise<never> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(70);
}

/** Works for `ms`, then fails on its first attempt and succeeds on the next. */
export async function flakyWork(context: AttemptContext, key: string, ms: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return failOnce(context, key);
}

/**
 * Loads our package for the benchmarks, lazily, so a missing or broken
 * `mod.ts` turns only the `osiiso` rows into "n/a" instead of stopping the run.
 *
 * @module
 */

/** The part of a run summary the benchmarks read. */
export interface RunSummaryLike {
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly results: readonly unknown[];
  readonly values: readonly unknown[];
}

/** The part of `AsyncQueue` the benchmarks use (see /mod.ts for the real type). */
export interface AsyncQueueLike {
  submit<A extends unknown[], R>(fn: (...args: A) => R, args: A): PromiseLike<Awaited<R>>;
  run(): Promise<RunSummaryLike>;
  start(): AsyncQueueLike;
  shutdown(): Promise<void>;
}

/** The exports of /mod.ts the benchmarks use. */
export interface OsiisoModule {
  readonly AsyncQueue: new (
    options?: { workers?: number; mode?: "finite" | "infinite" },
  ) => AsyncQueueLike;
}

/** Imports /mod.ts; throws an Error that says so if it cannot be imported. */
export async function loadOsiiso(): Promise<OsiisoModule> {
  // A computed specifier keeps `deno check bench/` from following mod.ts:
  // the bench is checked with --node-modules-dir=manual, where any node:
  // import in the library would make the checker look for @types/node.
  const url = new URL("../../mod.ts", import.meta.url).href;
  let loaded: Partial<OsiisoModule>;
  try {
    loaded = await import(url);
  } catch (error) {
    throw new Error(`cannot import mod.ts: ${firstLine(error)}`);
  }
  if (typeof loaded.AsyncQueue !== "function") {
    throw new Error("mod.ts does not export AsyncQueue");
  }
  return loaded as OsiisoModule;
}

/** Fails a run whose summary is not "all `expected` tasks succeeded". */
export function expectAllSucceeded(summary: RunSummaryLike, expected: number): void {
  if (summary.succeeded !== expected || summary.failed !== 0 || summary.cancelled !== 0) {
    throw new Error(
      `expected ${expected} successes, got ${summary.succeeded} succeeded, ` +
        `${summary.failed} failed, ${summary.cancelled} cancelled`,
    );
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}

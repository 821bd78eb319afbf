/**
 * Tasks of W7, imported by the `worker` command through `taskModule`.
 *
 * @module
 */

/** The trivial job: doubles `n`. */
export function double(n: number): number {
  return n * 2;
}

/** Waits `ms`. */
export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

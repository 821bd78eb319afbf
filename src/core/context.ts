/**
 * The context a task receives as its first argument with `bind: true`.
 *
 * @module
 */

/**
 * What a bound task knows about itself. The signal aborts on timeout,
 * cancel and forced shutdown; pass it on to `fetch` and friends.
 *
 * @example
 * ```ts
 * import { AsyncQueue, type TaskContext } from "@osiiso/osiiso";
 * async function download(ctx: TaskContext, url: string): Promise<number> {
 *   console.log(`attempt ${ctx.attempt} of ${ctx.name}`);
 *   const response = await fetch(url, { signal: ctx.signal });
 *   return (await response.arrayBuffer()).byteLength;
 * }
 * const q = new AsyncQueue();
 * q.submit(download, ["data:,hello"], { bind: true, timeout: 5_000 });
 * await q.run();
 * ```
 */
export interface TaskContext {
  /** The task's id. */
  readonly id: string;
  /** The task's name. */
  readonly name: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** Aborted when the engine gives up on this attempt. */
  readonly signal: AbortSignal;
}

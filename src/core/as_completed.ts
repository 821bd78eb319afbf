/**
 * Completion-order iteration over handles.
 *
 * @module
 */

import type { TaskHandle } from "./handle.ts";

/**
 * A handle that has finished, as {@linkcode asCompleted} yields it: the
 * handle itself, typed without `then` so that `for await` does not type it
 * as its value (a thenable would be unwrapped by TypeScript's `Awaited`).
 */
export type FinishedHandle<T> = Omit<TaskHandle<T>, "then" | "catch" | "finally">;

/**
 * Yields each handle as it finishes: handles already done first, in input
 * order, then the rest in completion order. Leaving the loop early stops
 * waiting; it does not cancel the tasks.
 *
 * (Handles are thenable, and an async generator would await what it yields,
 * turning each handle into its value; this iterator hands out the handles.)
 *
 * @example
 * ```ts
 * import { AsyncQueue, asCompleted } from "@osiiso/osiiso";
 * const q = new AsyncQueue().start();
 * const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * const handles = [30, 10, 20].map((ms) => q.submit(async () => { await sleep(ms); return ms; }));
 * for await (const h of asCompleted(handles)) console.log(h.value()); // 10, 20, 30
 * await q.shutdown();
 * ```
 */
export function asCompleted<T>(
  handles: Iterable<TaskHandle<T>>,
): AsyncIterableIterator<FinishedHandle<T>> {
  const list = [...handles];
  const finished: TaskHandle<T>[] = [];
  let remaining = list.length;
  let wake: (() => void) | undefined;
  let stopped = false;
  for (const handle of list) {
    handle.onDone((h) => {
      if (stopped) return;
      finished.push(h);
      const resume = wake;
      wake = undefined;
      resume?.();
    });
  }
  const iterator: AsyncIterableIterator<FinishedHandle<T>> = {
    async next(): Promise<IteratorResult<FinishedHandle<T>>> {
      if (stopped || remaining === 0) {
        stopped = true;
        return { value: undefined, done: true };
      }
      while (finished.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      remaining--;
      return { value: finished.shift() as TaskHandle<T>, done: false };
    },
    return(): Promise<IteratorResult<FinishedHandle<T>>> {
      stopped = true;
      finished.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

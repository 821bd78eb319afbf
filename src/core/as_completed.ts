/**
 * Completion-order iteration over handles.
 *
 * @module
 */

import type { TaskHandle } from "./handle.ts";
import { invalidMessage } from "./validate.ts";

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
  if (handles === null || typeof (handles as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(invalidMessage("iterate as completed", "handles", "iterable", handles));
  }
  const list = [...handles];
  list.forEach((handle, index) => {
    if (typeof (handle as TaskHandle<T> | null)?.onDone !== "function") {
      throw new TypeError(
        invalidMessage("iterate as completed", `handles[${index}]`, "a TaskHandle", handle),
      );
    }
  });
  const finished: TaskHandle<T>[] = [];
  // next() calls made before a handle finished, answered in call order.
  const waiting: ((result: IteratorResult<FinishedHandle<T>>) => void)[] = [];
  let unclaimed = list.length;
  let stopped = false;
  const done: IteratorResult<FinishedHandle<T>> = { value: undefined, done: true };
  for (const handle of list) {
    handle.onDone((h) => {
      if (stopped) return;
      const answer = waiting.shift();
      if (answer !== undefined) answer({ value: h, done: false });
      else finished.push(h);
    });
  }
  const iterator: AsyncIterableIterator<FinishedHandle<T>> = {
    next(): Promise<IteratorResult<FinishedHandle<T>>> {
      if (stopped || unclaimed === 0) {
        stopped = true;
        return Promise.resolve(done);
      }
      unclaimed--;
      const ready = finished.shift();
      if (ready !== undefined) return Promise.resolve({ value: ready, done: false });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return(): Promise<IteratorResult<FinishedHandle<T>>> {
      stopped = true;
      finished.length = 0;
      for (const answer of waiting.splice(0)) answer(done);
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

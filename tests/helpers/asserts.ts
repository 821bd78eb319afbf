/**
 * Assertion shortcuts shared by the behaviour suite and the backend tests.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Numbers sorted ascending (a copy), for comparing unordered values.
 *
 * @example
 * ```ts
 * assert.deepEqual(sortedNumbers(summary.values), [10, 20]);
 * ```
 */
export function sortedNumbers(values: readonly unknown[]): number[] {
  return [...values as number[]].sort((a, b) => a - b);
}

/**
 * Strings sorted (a copy).
 *
 * @example
 * ```ts
 * assert.deepEqual(sortedStrings(["b", "a"]), ["a", "b"]);
 * ```
 */
export function sortedStrings(values: readonly unknown[]): string[] {
  return [...values as string[]].sort();
}

/**
 * Asserts that calling `fn` fails, whether it throws synchronously or
 * returns a promise that rejects; returns the error.
 *
 * @example
 * ```ts
 * await rejectsWith(() => q.run(), { name: "ClosedError" });
 * ```
 */
export async function rejectsWith(
  fn: () => unknown,
  expected: assert.AssertPredicate,
  message?: string,
): Promise<unknown> {
  let caught: unknown;
  await assert.rejects(
    async () => {
      try {
        await fn();
      } catch (error) {
        caught = error;
        throw error;
      }
    },
    expected,
    message,
  );
  return caught;
}

let counter = 0;

/**
 * A key no other test uses (module state in task fixtures is shared within
 * a worker, a child, or the test process).
 *
 * @example
 * ```ts
 * const key = uniqueKey("flaky");
 * ```
 */
export function uniqueKey(prefix: string): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

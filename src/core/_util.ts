/**
 * Small private helpers shared across the library (not exported from
 * `mod.ts`). Runtime-neutral: workers and child processes load them too.
 *
 * @module
 */

/** Anything with a `then` method: what `await` would wait on. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** The message of an error, or the value as text, for composing error messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True for every `Error`, also one made in another realm (where `instanceof` fails). */
export function isError(value: unknown): value is Error {
  return value instanceof Error ||
    (value !== null && typeof value === "object" &&
      Object.prototype.toString.call(value) === "[object Error]");
}

/** `String(value)`, except that it never throws (a null-prototype object has no `toString`). */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

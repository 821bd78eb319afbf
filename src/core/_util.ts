/**
 * Small helpers every layer needs (the engine, the pools, the worker side),
 * kept in one place so each has one definition.
 *
 * @module
 */

/** Whether `value` can be awaited: a promise, or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** True for every Error, also one made in another realm (where `instanceof` fails). */
export function isError(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
}

/** `String(value)`, except that it never throws (a null-prototype object has no `toString`). */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An error's message, or the thrown value as text when it is not an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Errors of attempts that BullMQ retried, read back from the job: BullMQ
 * keeps only the message and the stack, whose first line names the class.
 *
 * @module
 */

import { defineOwn, rebuildError } from "../core/error_codec.ts";

/**
 * Rebuilds an error from the message and stack BullMQ stored for a failed
 * attempt: the class is the one the stack's first line names when this
 * process knows it (`TaskTimeoutError`, `TypeError` …), else `Error`.
 */
export function errorFromStack(message: string, stack: string | undefined): Error {
  const head = stack?.split("\n", 1)[0] ?? "";
  const match = /^([A-Za-z_$][\w$]*)(?::|$)/.exec(head);
  const name = match?.[1] ?? "Error";
  const error = rebuildError(name, name, message);
  if (stack !== undefined) defineOwn(error, "stack", stack);
  return error;
}

/** An `Error` to throw for a failed attempt that BullMQ should retry. */
export function throwable(error: unknown): Error {
  if (error instanceof Error) return error;
  const wrapped = new Error(String(error));
  defineOwn(wrapped, "stack", `Error: ${String(error)}`);
  return wrapped;
}

/**
 * The check every queue makes of a task when it is submitted: a function or
 * a task reference, and not a promise (a common slip: passing `work()`
 * instead of `work`).
 *
 * @module
 */

import { isThenable } from "../core/_util.ts";
import { isTaskReference } from "../core/task_reference.ts";
import { invalidMessage } from "../core/validate.ts";

/** Checks that a task is something a queue can call, and not a promise. */
export function checkCallableSource(source: unknown, action: string): void {
  if (typeof source !== "function" && !isTaskReference(source)) rejectSource(source, action);
}

/** Throws the error for a task that is neither; apart, so the check above stays small. */
function rejectSource(source: unknown, action: string): never {
  if (isThenable(source)) {
    throw new TypeError(
      `Cannot ${action} as 'task' must be a function, not a promise: a promise is already running, so pass the function that makes it`,
    );
  }
  throw new TypeError(invalidMessage(action, "task", "a function or a task reference", source));
}

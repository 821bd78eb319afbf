/**
 * Calling the user's callbacks around tasks (the queue's `onStart`,
 * `onRetry`, `onComplete`, a task's `retryOn`, a handle's `onDone`): what
 * one throws or rejects with goes to the queue's `onHookError`, never into
 * the task it was called for.
 *
 * @module
 */

import { isThenable } from "./_util.ts";
import type { ResolvedTaskOptions } from "./options.ts";
import type { HookName } from "./queue_options.ts";

/** The queue's `onHookError`. */
type HookErrorHandler = (error: unknown, hook: HookName) => void;

/** Calls `hook(...args)`; a throw or a rejection goes to `onHookError`. */
export function callHook(
  onHookError: HookErrorHandler,
  name: HookName,
  hook: (...args: never[]) => unknown,
  args: unknown[],
): void {
  try {
    const returned = (hook as (...args: unknown[]) => unknown)(...args);
    if (isThenable(returned)) {
      returned.then(undefined, (error) => reportHookError(onHookError, error, name));
    }
  } catch (error) {
    reportHookError(onHookError, error, name);
  }
}

/** Hands a hook's error to `onHookError`; an error that `onHookError` raises itself is logged. */
export function reportHookError(
  onHookError: HookErrorHandler,
  error: unknown,
  hook: HookName,
): void {
  try {
    onHookError(error, hook);
  } catch (again) {
    console.error(`osiiso: onHookError raised while reporting a ${hook} error`, again);
  }
}

/** Whether the task's `retryOn` allows a retry after `error`; a `retryOn` that throws says no. */
export function retryAllowed(
  options: ResolvedTaskOptions,
  error: unknown,
  onHookError: HookErrorHandler,
): boolean {
  if (options.retryOn === undefined) return true;
  try {
    return options.retryOn(error) === true;
  } catch (hookError) {
    reportHookError(onHookError, hookError, "retryOn");
    return false;
  }
}

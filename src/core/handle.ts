/**
 * Task handles: what `submit` returns.
 *
 * @module
 */

import { CancelledError, InvalidStateError } from "./errors.ts";
import type { TaskResult } from "./result.ts";
import { invalidMessage } from "./validate.ts";

/** Where a task is in its life. */
export type TaskState = "pending" | "running" | "retrying" | "succeeded" | "failed" | "cancelled";

/** What a handle needs from the queue that owns it. */
export interface HandleOwner {
  /** Cancels the task wherever it is; true when it was found unfinished. */
  cancelTask(handle: TaskHandle<unknown>): boolean;
  /** Reports an error thrown by an `onDone` callback. */
  reportCallbackError(error: unknown, hook: string): void;
}

/** The fixed fields of a handle. */
export interface TaskHandleInit {
  /** Unique id. */
  readonly id: string;
  /** Task name. */
  readonly name: string;
  /** Priority (lower first). */
  readonly priority?: number;
  /** Spared by fail-first aborts and `onTimeout: "complete"`. */
  readonly mustComplete?: boolean;
  /** Creation time on the queue's clock (ms). */
  readonly createdAt?: number;
  /** Group label. */
  readonly groupId?: string | null;
  /** Left out of run summaries. */
  readonly detached?: boolean;
  /** When a delayed task becomes due, on the queue's clock (ms). */
  readonly scheduledFor?: number | null;
  /** User data. */
  readonly metadata?: unknown;
}

type Waiter = (result: TaskResult) => void;

const idPrefix = crypto.randomUUID().slice(0, 18);
let idCounter = 0;

/**
 * A number for a new task id: with the per-process random prefix it makes
 * a unique id (`1b4e28ba-2fa1-11d2-42`), several times cheaper than a UUID.
 */
export function nextTaskIdNumber(): number {
  return idCounter++;
}

function taskIdFor(n: number): string {
  return idPrefix + n;
}

interface Deferred {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * A submitted task. Await it for the value (it rejects with the task's error
 * or a `CancelledError`), or call {@linkcode TaskHandle.wait} for the full
 * {@linkcode TaskResult}, which never rejects. A failed handle that nobody
 * awaits never causes an unhandled rejection.
 *
 * @example
 * ```ts
 * import { AsyncQueue } from "@osiiso/osiiso";
 * const q = new AsyncQueue();
 * const h = q.submit((a: number, b: number) => a + b, [2, 3]);
 * q.start();
 * console.log(await h);                   // 5
 * console.log((await h.wait()).status);   // "succeeded"
 * await q.shutdown();
 * ```
 */
export class TaskHandle<T = unknown> implements PromiseLike<T> {
  /**
   * The id, or the number it is made from on first use (a queued task keeps
   * a small number until someone asks: less memory while 1M tasks wait).
   * @ignore
   */
  _id: string | number;
  /** Name of the task (the function's name unless the `name` option was given). */
  readonly name: string;
  /** Priority: lower starts first. */
  readonly priority: number;
  /** Whether fail-first aborts and `onTimeout: "complete"` spare it. */
  readonly mustComplete: boolean;
  /** When it was submitted, on the queue's clock (ms). */
  readonly createdAt: number;
  /** Its group label, or `null`. */
  readonly groupId: string | null;
  /** Whether its result stays out of run summaries. */
  readonly detached: boolean;
  /** When a delayed task comes due, on the queue's clock (ms), or `null`. */
  readonly scheduledFor: number | null;
  /** User data from the `metadata` option. */
  readonly metadata: unknown;

  /** @ignore */
  _status: TaskState = "pending";
  /** @ignore */
  _attempts = 0;
  /** @ignore */
  _result: TaskResult<T> | undefined = undefined;
  /** @ignore */
  _owner: HandleOwner | undefined = undefined;
  // Plain fields rather than #private ones: a handle is built per task, and
  // JavaScriptCore initialises private fields measurably slower.
  /** @ignore */
  _waiters: Waiter[] | undefined = undefined;
  /** @ignore */
  // Typed without T so that a TaskHandle<number> is a TaskHandle<unknown>.
  _callbacks: ((handle: never) => void)[] | undefined = undefined;
  /** @ignore */
  _deferred: Deferred | undefined = undefined;

  /**
   * Queues make handles; build one yourself only with
   * {@linkcode TaskHandle.fromResult} (a finished handle).
   */
  constructor(init: TaskHandleInit) {
    this._id = init.id;
    this.name = init.name;
    this.priority = init.priority ?? 3;
    this.mustComplete = init.mustComplete ?? false;
    this.createdAt = init.createdAt ?? 0;
    this.groupId = init.groupId ?? null;
    this.detached = init.detached ?? false;
    this.scheduledFor = init.scheduledFor ?? null;
    this.metadata = init.metadata;
  }

  /**
   * A handle that is born finished with `result` (a restored checkpoint
   * entry, for example). It never enters a queue and fires no hooks.
   *
   * @example
   * ```ts
   * import { TaskHandle, TaskResult } from "@osiiso/osiiso";
   * const h = TaskHandle.fromResult(new TaskResult({ taskId: "t1", name: "cached", status: "succeeded", value: 42 }));
   * console.log(h.done(), await h); // true 42
   * ```
   */
  static fromResult<T>(result: TaskResult<T>): TaskHandle<T> {
    const handle = new TaskHandle<T>({
      id: result.taskId,
      name: result.name,
      priority: result.priority,
      mustComplete: result.mustComplete,
      createdAt: result.createdAt,
      groupId: result.groupId,
      detached: result.detached,
      scheduledFor: result.scheduledFor,
      metadata: result.metadata,
    });
    handle._attempts = result.attempts;
    handle._finish(result);
    return handle;
  }

  /** Unique id of the task. */
  get id(): string {
    const id = this._id;
    if (typeof id === "string") return id;
    const made = taskIdFor(id);
    this._id = made;
    return made;
  }

  /** Where the task is now. */
  get status(): TaskState {
    return this._status;
  }

  /** Attempts started so far (0 before the first). */
  get attempts(): number {
    return this._attempts;
  }

  /** True once the task has finished (succeeded, failed or cancelled). */
  done(): boolean {
    return this._result !== undefined;
  }

  /** True once the task has finished as cancelled. */
  cancelled(): boolean {
    return this._result !== undefined && this._result.status === "cancelled";
  }

  /** The result; throws `InvalidStateError("result not ready")` while pending. */
  result(): TaskResult<T> {
    if (this._result === undefined) throw new InvalidStateError("result not ready");
    return this._result;
  }

  /**
   * The value; throws the task's own error when it failed, a
   * `CancelledError` when it was cancelled, and `InvalidStateError` while pending.
   */
  value(): T {
    const result = this.result();
    if (result.status === "succeeded") return result.value as T;
    if (result.status === "failed") throw result.exception;
    throw new CancelledError(result.message);
  }

  /** The error of a failed task; `undefined` for a succeeded or cancelled one. */
  exception(): unknown {
    return this.result().exception;
  }

  /** Cancels the task wherever it is; false when it has already finished. */
  cancel(): boolean {
    if (this._result !== undefined || this._owner === undefined) return false;
    return this._owner.cancelTask(this as TaskHandle<unknown>);
  }

  /**
   * Calls `callback(handle)` when the task finishes; at once, synchronously,
   * when it already has. Callbacks run in the order they were added; what
   * they throw is reported (the queue's `onHookError`) and swallowed.
   */
  onDone(callback: (handle: TaskHandle<T>) => void): void {
    if (typeof callback !== "function") {
      throw new TypeError(invalidMessage("add done callback", "callback", "a function", callback));
    }
    if (this._result !== undefined) {
      this.#runCallback(callback);
      return;
    }
    (this._callbacks ??= []).push(callback);
  }

  /** Waits for the task and returns its {@linkcode TaskResult}; never rejects. */
  wait(): Promise<TaskResult<T>> {
    if (this._result !== undefined) return Promise.resolve(this._result);
    return new Promise((resolve) => (this._waiters ??= []).push(resolve as Waiter));
  }

  /** Makes `await handle` give the value (or reject with the error). */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return (this.#valuePromise() as Promise<T>).then(onFulfilled, onRejected);
  }

  /** Like `Promise.prototype.catch` for the value. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return (this.#valuePromise() as Promise<T>).catch(onRejected);
  }

  /** Like `Promise.prototype.finally` for the value. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return (this.#valuePromise() as Promise<T>).finally(onFinally);
  }

  /** `TaskHandle('name', status='running', id=1a2b3c4d)`, as the original. */
  toString(): string {
    return `TaskHandle('${this.name}', status='${this._status}', id=${this.id.slice(0, 8)})`;
  }

  /**
   * Records the outcome once; later calls are ignored and return false.
   * @ignore
   */
  _finish(result: TaskResult<T>): boolean {
    if (this._result !== undefined) return false;
    this._result = result;
    this._status = result.status;
    const waiters = this._waiters;
    if (waiters !== undefined) {
      this._waiters = undefined;
      for (const resolve of waiters) resolve(result);
    }
    const deferred = this._deferred;
    if (deferred !== undefined) settleDeferred(deferred, result);
    const callbacks = this._callbacks;
    if (callbacks !== undefined) {
      this._callbacks = undefined;
      for (const callback of callbacks) {
        this.#runCallback(callback as (handle: TaskHandle<T>) => void);
      }
    }
    return true;
  }

  #runCallback(callback: (handle: TaskHandle<T>) => void): void {
    try {
      callback(this);
    } catch (error) {
      if (this._owner !== undefined) this._owner.reportCallbackError(error, "onDone");
      else console.error("osiiso: onDone callback threw", error);
    }
  }

  #valuePromise(): Promise<unknown> {
    if (this._deferred === undefined) {
      let resolve!: (value: unknown) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this._deferred = { promise, resolve, reject };
      if (this._result !== undefined) settleDeferred(this._deferred, this._result);
    }
    return this._deferred.promise;
  }
}

function settleDeferred(deferred: Deferred, result: TaskResult): void {
  if (result.status === "succeeded") deferred.resolve(result.value);
  else if (result.status === "failed") deferred.reject(result.exception);
  else deferred.reject(new CancelledError(result.message));
}

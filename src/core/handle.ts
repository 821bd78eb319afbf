/**
 * Task handles: what `submit` returns.
 *
 * @module
 */

import { CancelledError, InvalidStateError } from "./errors.ts";
import { DEFAULT_PRIORITY } from "./options.ts";
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
  /** Someone waits for an unfinished task (the queue warns if it is not started). */
  awaited?(): void;
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

/**
 * The fixed per-task fields a handle reads through getters. A queue passes
 * its resolved task options (shared by every task submitted with them), so a
 * queued handle carries one reference instead of five fields.
 * @ignore
 */
export interface HandleSpec {
  readonly priority: number;
  readonly mustComplete: boolean;
  readonly groupId: string | null | undefined;
  readonly detached: boolean;
  readonly metadata: unknown;
}

/**
 * An init carrying this key hands the handle its spec directly (the engine's
 * path); the public constructor copies the init's fields instead.
 * @ignore
 */
export const HANDLE_SPEC: unique symbol = Symbol("osiiso.handleSpec");

const idPrefix = crypto.randomUUID().slice(0, 19);
let idCounter = 0;

/**
 * A number for a new task: its sequence number and, with the per-process
 * random prefix, its id (`1b4e28ba-2fa1-11d2-0042`).
 */
export function nextTaskIdNumber(): number {
  return idCounter++;
}

// Ids are built from a block string (prefix + n / 1000) and a three-digit
// suffix from a table: turning every number into a fresh string costs a
// runtime call per task and was a sixth of a tiny task's time on Deno.
const ID_SUFFIXES: readonly string[] = Array.from(
  { length: 1000 },
  (_, i) => String(i).padStart(3, "0"),
);
let idBlock = -1;
let idBlockText = "";

function taskIdFor(n: number): string {
  const block = Math.floor(n / 1000);
  if (block !== idBlock) {
    idBlock = block;
    idBlockText = idPrefix + block;
  }
  return idBlockText + ID_SUFFIXES[n - block * 1000];
}

/**
 * The part of an id that tells tasks apart, for display: an id this process
 * made without its shared prefix (`0042`), any other its first 8 characters.
 */
export function shortTaskId(id: string): string {
  return id.startsWith(idPrefix) ? id.slice(idPrefix.length) : id.slice(0, 8);
}

interface Deferred {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Who is waiting on a handle; allocated only when someone is. */
interface Listeners {
  waiters: Waiter[] | undefined;
  // Typed without T so that a TaskHandle<number> is a TaskHandle<unknown>.
  callbacks: ((handle: never) => void)[] | undefined;
  deferred: Deferred | undefined;
}

function specOf(init: TaskHandleInit): HandleSpec {
  const given = (init as { [HANDLE_SPEC]?: HandleSpec })[HANDLE_SPEC];
  if (given !== undefined) return given;
  return {
    priority: init.priority ?? DEFAULT_PRIORITY,
    mustComplete: init.mustComplete ?? false,
    groupId: init.groupId ?? null,
    detached: init.detached ?? false,
    metadata: init.metadata,
  };
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
  // A queue holds every handle it has not finished (1M of them, maybe), and
  // each field costs 8 bytes per task plus garbage-collector copying: the
  // fields are few, plain (not #private: JavaScriptCore initialises those
  // slower) and the per-options ones are read through `_spec`.

  /**
   * The id, or for a queued task its sequence number, from which the id is
   * made on each read.
   * @ignore
   */
  _id: string | number;
  /** Name of the task (the function's name unless the `name` option was given). */
  readonly name: string;
  /** @ignore */
  _spec: HandleSpec;
  /** When it was submitted, on the queue's clock (ms). */
  readonly createdAt: number;
  /** When a delayed task comes due, on the queue's clock (ms), or `null`. */
  readonly scheduledFor: number | null;
  /** @ignore */
  _status: TaskState = "pending";
  /** @ignore */
  _attempts = 0;
  /** @ignore */
  _result: TaskResult<T> | undefined = undefined;
  /** @ignore */
  _owner: HandleOwner | undefined = undefined;
  /** @ignore */
  _listeners: Listeners | undefined = undefined;

  /**
   * Queues make handles; build one yourself only with
   * {@linkcode TaskHandle.fromResult} (a finished handle).
   */
  constructor(init: TaskHandleInit) {
    this._id = init.id;
    this.name = init.name;
    this._spec = specOf(init);
    this.createdAt = init.createdAt ?? 0;
    this.scheduledFor = init.scheduledFor ?? null;
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
    const init: TaskHandleInit & { [HANDLE_SPEC]: HandleSpec } = {
      id: result.taskId,
      name: result.name,
      createdAt: result.createdAt,
      scheduledFor: result.scheduledFor,
      [HANDLE_SPEC]: result,
    };
    const handle = new TaskHandle<T>(init);
    handle._attempts = result.attempts;
    handle._finish(result);
    return handle;
  }

  /** Unique id of the task. */
  get id(): string {
    const id = this._id;
    return typeof id === "string" ? id : taskIdFor(id);
  }

  /** Priority: lower starts first. */
  get priority(): number {
    return this._spec.priority;
  }

  /** Whether fail-first aborts and `onTimeout: "complete"` spare it. */
  get mustComplete(): boolean {
    return this._spec.mustComplete;
  }

  /** Its group label, or `null`. */
  get groupId(): string | null {
    return this._spec.groupId ?? null;
  }

  /** Whether its result stays out of run summaries. */
  get detached(): boolean {
    return this._spec.detached;
  }

  /** User data from the `metadata` option. */
  get metadata(): unknown {
    return this._spec.metadata;
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
    (this.#listeners().callbacks ??= []).push(callback);
  }

  /** Waits for the task and returns its {@linkcode TaskResult}; never rejects. */
  wait(): Promise<TaskResult<T>> {
    if (this._result !== undefined) return Promise.resolve(this._result);
    this._owner?.awaited?.();
    return new Promise((resolve) => (this.#listeners().waiters ??= []).push(resolve as Waiter));
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

  /**
   * `TaskHandle('name', status='running', id=0042)`: the name, the state and
   * the part of the id that tells tasks apart (ids made in this process share
   * a prefix; see `shortTaskId`).
   */
  toString(): string {
    return `TaskHandle('${this.name}', status='${this._status}', id=${shortTaskId(this.id)})`;
  }

  /**
   * Records the outcome once; later calls are ignored and return false.
   * @ignore
   */
  _finish(result: TaskResult<T>): boolean {
    if (this._result !== undefined) return false;
    this._result = result;
    this._status = result.status;
    const listeners = this._listeners;
    if (listeners === undefined) return true;
    const waiters = listeners.waiters;
    if (waiters !== undefined) {
      listeners.waiters = undefined;
      for (const resolve of waiters) resolve(result);
    }
    if (listeners.deferred !== undefined) settleDeferred(listeners.deferred, result);
    const callbacks = listeners.callbacks;
    if (callbacks !== undefined) {
      listeners.callbacks = undefined;
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

  #listeners(): Listeners {
    return this._listeners ??= { waiters: undefined, callbacks: undefined, deferred: undefined };
  }

  #valuePromise(): Promise<unknown> {
    const listeners = this.#listeners();
    if (listeners.deferred === undefined) {
      let resolve!: (value: unknown) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      listeners.deferred = { promise, resolve, reject };
      if (this._result !== undefined) settleDeferred(listeners.deferred, this._result);
      else this._owner?.awaited?.();
    }
    return listeners.deferred.promise;
  }
}

function settleDeferred(deferred: Deferred, result: TaskResult): void {
  if (result.status === "succeeded") deferred.resolve(result.value);
  else if (result.status === "failed") deferred.reject(result.exception);
  else deferred.reject(new CancelledError(result.message));
}

/**
 * Makes a task that has not started yet count its attempts from `attempt`:
 * a distributed queue's worker runs attempt N of a job as a new local task,
 * whose `TaskContext.attempt` must say N. Does nothing once it has started.
 */
export function startAttemptsAt(handle: TaskHandle<unknown>, attempt: number): void {
  if (handle._status === "pending" && handle._attempts === 0) {
    handle._attempts = Math.max(0, attempt - 1);
  }
}

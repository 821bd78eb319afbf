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

/**
 * An init carrying this key builds the handle on `new init[HANDLE_PROMISE]()`:
 * a native promise made with {@linkcode captureResolve} (see `HandleBase`).
 * @ignore
 */
export const HANDLE_PROMISE: unique symbol = Symbol("osiiso.handlePromise");

// What a handle is built on: a plain object, or the native promise that an engine's class
// makes (`await` and `Promise.all` then take the handle as it is, with no thenable job).
// TaskHandle is declared to extend Object (which it stands in for; it adds no members) and is
// given this as its super constructor below, so the public declaration names no private class.
class HandleBase {
  constructor(promiseClass?: new () => object) {
    if (promiseClass !== undefined) return new promiseClass();
  }
}

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

/** Who waits on a handle other than through `then()`; allocated only when someone does. */
interface Listeners {
  waiters: Waiter[] | undefined;
  // Typed without T so that a TaskHandle<number> is a TaskHandle<unknown>.
  callbacks: ((handle: never) => void)[] | undefined;
}

// The resolve function of the promise being made: one capture function for
// every promise, instead of a closure each. (A failure settles it with a
// rejected promise, so the reject function is not kept.)
let capturedResolve: ((value: unknown) => void) | undefined;
/** @ignore */
export function captureResolve(resolve: (value: unknown) => void) {
  capturedResolve = resolve;
}

const promiseThen = Promise.prototype.then;
const ignore = () => {};

/**
 * What `_result` holds once a task has succeeded and nobody has asked for its
 * result yet: the engine builds a success's {@linkcode TaskResult} on first
 * read (see `_finishSucceeded`). Never returned to a caller.
 */
const RESULT_ON_DEMAND = Object.freeze({}) as TaskResult<never>;

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
export class TaskHandle<T = unknown> extends Object implements PromiseLike<T> {
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
  /**
   * The value of a succeeded task, so that awaiting it needs no result.
   * @ignore
   */
  _value: T | undefined = undefined;
  /** @ignore */
  _owner: HandleOwner | undefined = undefined;
  /** @ignore */
  _listeners: Listeners | undefined = undefined;
  /**
   * Settles, once the task has finished, the native promise that `await` and
   * `then()` wait on: the handle itself when it is one, else `_awaited`.
   * @ignore
   */
  _resolve: ((value: unknown) => void) | undefined = undefined;
  /**
   * The promise a handle that is not one makes at its first `then()`, for
   * every `then()` to chain on until the task has finished.
   * @ignore
   */
  _awaited: Promise<unknown> | undefined = undefined;

  /**
   * Queues make handles; build one yourself only with
   * {@linkcode TaskHandle.fromResult} (a finished handle).
   */
  constructor(init: TaskHandleInit) {
    super((init as { [HANDLE_PROMISE]?: new () => object })[HANDLE_PROMISE]);
    if (capturedResolve !== undefined) {
      this._resolve = capturedResolve;
      capturedResolve = undefined;
    }
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
    return this._status === "cancelled";
  }

  /** The result; throws `InvalidStateError("result not ready")` while pending. */
  result(): TaskResult<T> {
    let result = this._result;
    if (result === undefined) throw new InvalidStateError("result not ready");
    if (result === RESULT_ON_DEMAND) result = this._result = this._makeResult();
    return result;
  }

  /**
   * The value; throws the task's own error when it failed, a
   * `CancelledError` when it was cancelled, and `InvalidStateError` while pending.
   */
  value(): T {
    if (this._status === "succeeded") return this._value as T;
    const result = this.result();
    if (result.status === "failed") throw result.exception;
    throw new CancelledError(result.message);
  }

  /** The error of a failed task; `undefined` for a succeeded or cancelled one. */
  exception(): unknown {
    if (this._status === "succeeded") return undefined;
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
    if (this._result !== undefined) return Promise.resolve(this.result());
    this._owner?.awaited?.();
    return new Promise((resolve) => (this.#listeners().waiters ??= []).push(resolve as Waiter));
  }

  /**
   * Makes `await handle` give the value (or reject with the error). The
   * callbacks run from a microtask once the task has finished, as a
   * promise's do.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this._result !== undefined) {
      // A finished handle keeps no promise: each call makes a settled one.
      const settled = this._status === "succeeded"
        ? Promise.resolve(this._value as T)
        : Promise.reject(this.#rejection());
      return settled.then(onFulfilled, onRejected);
    }
    let awaited = this._awaited;
    if (awaited === undefined) {
      // A handle that is a native promise is its own (then() called on it explicitly).
      if (this._resolve !== undefined) {
        return promiseThen.call(this, onFulfilled, onRejected) as Promise<R1 | R2>;
      }
      // One native promise per awaited handle, settled when the task finishes: the
      // callbacks are the runtime's own promise reactions, run in then() order.
      awaited = this._awaited = new Promise<unknown>(captureResolve);
      this._resolve = capturedResolve;
      capturedResolve = undefined;
      this._owner?.awaited?.();
    }
    return promiseThen.call(awaited, onFulfilled, onRejected) as Promise<R1 | R2>;
  }

  /** Like `Promise.prototype.catch` for the value. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /** Like `Promise.prototype.finally` for the value. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /**
   * `TaskHandle('name', status='running', id=0042)`: the name, the state and
   * the part of the id that tells tasks apart (ids made in this process share
   * a prefix; see `shortTaskId`).
   */
  override toString(): string {
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
    if (result.status === "succeeded") this._value = result.value;
    this.#notify();
    return true;
  }

  /**
   * Records a success whose {@linkcode TaskResult} is made by `_makeResult`
   * when first read: most successes are only awaited or never looked at, and
   * building and keeping a 21-field result per task was the largest cost of
   * a tiny task.
   * @ignore
   */
  _finishSucceeded(value: T): void {
    this._result = RESULT_ON_DEMAND;
    this._status = "succeeded";
    this._value = value;
    this.#notify();
  }

  /**
   * Whether the result exists already (it may still be made on demand).
   * @ignore
   */
  _resultMade(): boolean {
    return this._result !== undefined && this._result !== RESULT_ON_DEMAND;
  }

  /**
   * The result of a handle finished with `_finishSucceeded`; only the
   * engine's handles are, and they override it.
   * @ignore
   */
  _makeResult(): TaskResult<T> {
    throw new InvalidStateError("result not ready");
  }

  /**
   * Settles whoever waits on the finished handle. Most handles have nobody
   * waiting yet (a queue's tasks are awaited through its run), so the
   * waiting parties are served by their own methods: an engine compiles a
   * function whole on its first call, and a program's first finished task
   * waits for that.
   */
  #notify(): void {
    const resolve = this._resolve;
    if (resolve !== undefined) {
      const isHandle = this._awaited === undefined;
      this._resolve = this._awaited = undefined;
      if (this._status === "succeeded") resolve(this._value);
      else this.#rejectPromise(resolve, isHandle);
    }
    const listeners = this._listeners;
    if (listeners !== undefined) this.#notifyListeners(listeners);
  }

  /**
   * Settles the handle (when it is the promise) or its awaited promise with its
   * failure; a failed handle that nobody awaits causes no unhandled rejection.
   */
  #rejectPromise(resolve: (value: unknown) => void, isHandle: boolean): void {
    if (isHandle) promiseThen.call(this, undefined, ignore);
    const rejected = Promise.reject(this.#rejection());
    rejected.catch(ignore);
    resolve(rejected);
  }

  /** Serves the `wait()` callers, `then()` reactions and `onDone` callbacks of a finished handle. */
  #notifyListeners(listeners: Listeners): void {
    // Dropped: a queue may keep a finished handle (its result is made from it), and the
    // promise and resolvers of an awaited one would stay alive with it.
    this._listeners = undefined;
    const waiters = listeners.waiters;
    if (waiters !== undefined) {
      listeners.waiters = undefined;
      const result = this.result();
      for (const resolve of waiters) resolve(result);
    }
    const callbacks = listeners.callbacks;
    if (callbacks !== undefined) {
      listeners.callbacks = undefined;
      for (const callback of callbacks) {
        this.#runCallback(callback as (handle: TaskHandle<T>) => void);
      }
    }
  }

  /** What awaiting a finished handle that did not succeed rejects with. */
  #rejection(): unknown {
    const result = this.result();
    return result.status === "failed" ? result.exception : new CancelledError(result.message);
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
    return this._listeners ??= { waiters: undefined, callbacks: undefined };
  }
}

Object.setPrototypeOf(TaskHandle, HandleBase);

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

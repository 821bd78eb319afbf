/**
 * Worker-side submission, the submitting end: `connectQueue(port)` turns a
 * port made by `queue.connect()` into a {@linkcode RemoteQueue} whose
 * `submit`, `map`, `starmap` and `group` return ordinary handles and groups
 * here, while the tasks run in the queue over there.
 *
 * @module
 */

import { InvalidStateError, TaskSerializationError } from "../core/errors.ts";
import { TaskGroup } from "../core/group.ts";
import { DEFAULT_PRIORITY, type TaskOptions } from "../core/options.ts";
import { HANDLE_SPEC, type HandleSpec, TaskHandle } from "../core/handle.ts";
import type { PortReply, PortRequest, PortSource } from "../core/queue_port.ts";
import type { GroupEntry, Task } from "../core/queue_types.ts";
import { TaskResult } from "../core/result.ts";
import { isTaskReference, sourceName } from "../core/task_reference.ts";
import { checkArray, checkOptionsObject, invalidMessage } from "../core/validate.ts";
import { deserializeThrown } from "../core/error_codec.ts";
import { functionSource } from "./function_source.ts";
import { iterableToArray } from "../core/submission.ts";

/**
 * A queue reached through a port from `queue.connect()`: the submit methods
 * of a queue, for code in another thread. Tasks and arguments must be able
 * to cross (a `taskModule` reference or a self-contained function, clonable
 * arguments and options); the handles settle when the queue's side reports.
 *
 * @example
 * ```ts
 * import { AsyncQueue, connectQueue } from "@osiiso/osiiso";
 * const q = new AsyncQueue().start();
 * const remote = connectQueue(q.connect()); // normally inside a worker
 * const h = remote.submit((a: number, b: number) => a + b, [2, 3]);
 * console.log(await h); // 5
 * remote.close();
 * await q.shutdown();
 * ```
 */
export interface RemoteQueue {
  /** Submits `task(...args)` to the queue; the handle settles with its result. */
  submit<A extends unknown[], R>(
    task: Task<A, R>,
    args?: A,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>;
  /** Submits `task(item)` for each item; the handles in input order. */
  map<T, R>(
    task: Task<[T], R>,
    items: Iterable<T>,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>[];
  /** Submits `task(...args)` for each argument list. */
  starmap<A extends unknown[], R>(
    task: Task<A, R>,
    argLists: Iterable<A>,
    options?: TaskOptions,
  ): TaskHandle<Awaited<R>>[];
  /** A homogeneous group: `task(item)` for each item. */
  group<T, R>(task: Task<[T], R>, items: Iterable<T>, options?: TaskOptions): TaskGroup<Awaited<R>>;
  /** A heterogeneous group: `[[task, ...args], …]`. */
  group(entries: Iterable<GroupEntry>, options?: TaskOptions): TaskGroup<unknown>;
  /**
   * Releases the port (both ends). Tasks already submitted still run, but
   * their handles here no longer hear of them.
   */
  close(): void;
  /** Whether {@linkcode RemoteQueue.close} has been called. */
  readonly closed: boolean;
}

/** A task as it crosses: its module reference, or its checked source text. */
function portSource(task: unknown, action: string): PortSource {
  if (isTaskReference(task)) return { kind: "ref", url: task.url, exportName: task.exportName };
  if (typeof task !== "function") {
    throw new TypeError(invalidMessage(action, "task", "a function or a task reference", task));
  }
  return { kind: "inline", code: functionSource(task as (...args: never[]) => unknown) };
}

/** What a handle shows before its queue has answered: the options' fields. */
function specOf(options: TaskOptions | undefined): HandleSpec {
  return {
    priority: options?.priority ?? DEFAULT_PRIORITY,
    mustComplete: options?.mustComplete ?? false,
    groupId: options?.groupId ?? null,
    detached: options?.detached ?? false,
    metadata: options?.metadata,
  };
}

/** One request's handles, waiting for the queue's answers. */
interface Pending {
  readonly handles: TaskHandle<unknown>[];
  readonly group: TaskGroup<unknown> | undefined;
}

/**
 * Connects to a queue through `port` (made by `queue.connect()` and posted
 * here). Works in any Web Worker and in a ThreadQueue task that was handed
 * the port; errors raised on the queue's side (closed, full, a bad option)
 * reject the handles here with the same class and message.
 *
 * @example
 * ```ts
 * import { AsyncQueue, ClosedError, connectQueue } from "@osiiso/osiiso";
 * const q = new AsyncQueue().start();
 * const remote = connectQueue(q.connect());
 * const doubled = remote.map((n: number) => n * 2, [1, 2, 3]);
 * console.log(await Promise.all(doubled)); // [2, 4, 6]
 * await q.shutdown();
 * const late = remote.submit(() => 1); // the port is still answered
 * console.log(await late.catch((error) => error instanceof ClosedError)); // true
 * remote.close();
 * ```
 */
export function connectQueue(port: MessagePort): RemoteQueue {
  const given = port as Partial<MessagePort> | null;
  if (typeof given !== "object" || given === null || typeof given.postMessage !== "function") {
    throw new TypeError(invalidMessage("connect to queue", "port", "a MessagePort", port));
  }
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let closed = false;

  const finish = (handle: TaskHandle<unknown>, result: TaskResult) => handle._finish(result);
  const refuse = (entry: Pending, error: unknown) => {
    for (const handle of entry.handles) {
      finish(
        handle,
        new TaskResult({
          taskId: handle.id,
          name: handle.name,
          status: "failed",
          exception: error,
          message: (error as Error)?.message ?? String(error),
          priority: handle.priority,
          groupId: handle.groupId,
          metadata: handle.metadata,
          detached: handle.detached,
          mustComplete: handle.mustComplete,
        }),
      );
    }
  };

  port.onmessage = (event: MessageEvent<PortReply>) => {
    const reply = event.data;
    const entry = pending.get(reply.id);
    if (entry === undefined) return;
    if (reply.op === "refused") {
      pending.delete(reply.id);
      refuse(entry, deserializeThrown(reply.error));
    } else if (reply.op === "accepted") {
      entry.handles.forEach((handle, index) => {
        handle._id = reply.taskIds[index];
        if (reply.groupId !== null) handle._spec = { ...handle._spec, groupId: reply.groupId };
      });
      if (entry.group !== undefined && reply.groupId !== null) {
        (entry.group as { groupId: string }).groupId = reply.groupId;
      }
    } else {
      const { exception, ...fields } = reply.result;
      const result = new TaskResult({
        ...fields,
        exception: exception === undefined ? undefined : deserializeThrown(exception),
      });
      finish(entry.handles[reply.index], result);
      if (entry.handles.every((handle) => handle.done())) pending.delete(reply.id);
    }
  };

  const owner = (id: number) => ({
    cancelTask(handle: TaskHandle<unknown>): boolean {
      const entry = pending.get(id);
      if (closed || entry === undefined) return false;
      port.postMessage({ op: "cancel", id, index: entry.handles.indexOf(handle) });
      return true;
    },
    reportCallbackError(error: unknown): void {
      console.error("osiiso: onDone callback threw", error);
    },
  });

  /** Makes the handles, then sends the request (or fails them if it cannot cross). */
  const request = (
    action: string,
    build: (id: number) => PortRequest,
    names: readonly string[],
    options: TaskOptions | undefined,
    group: boolean,
  ): Pending => {
    const id = nextId++;
    const spec = specOf(options);
    const handles = names.map((name) => {
      const init = { id: `remote-${id}`, name, [HANDLE_SPEC]: spec };
      const handle = new TaskHandle<unknown>(init);
      handle._owner = owner(id);
      return handle;
    });
    const entry: Pending = {
      handles,
      group: group ? new TaskGroup(options?.groupId ?? "", handles) : undefined,
    };
    if (closed) {
      refuse(
        entry,
        new InvalidStateError(`cannot ${action.split(" ")[0]}: the remote queue is closed`),
      );
      return entry;
    }
    const message = build(id);
    pending.set(id, entry);
    try {
      port.postMessage(message);
    } catch (error) {
      pending.delete(id);
      throw new TaskSerializationError(
        `Cannot ${action} as its arguments or options cannot be sent to the queue: ` +
          (error as Error)?.message,
        { cause: error },
      );
    }
    return entry;
  };

  const nameOf = (task: unknown, options: TaskOptions | undefined) =>
    options?.name ?? sourceName(task as Task<unknown[], unknown>);
  // A function rebuilt from its source over there may lose its name (an
  // arrow assigned to a constant): the name travels in the options.
  const named = (task: unknown, options: TaskOptions | undefined) => {
    if (options?.name !== undefined || isTaskReference(task)) return options;
    const name = sourceName(task as Task<unknown[], unknown>);
    return name === "anonymous" ? options : { ...options, name };
  };

  // map and starmap: one task over a list, one handle per element.
  const submitEach = (
    op: "map" | "starmap",
    action: string,
    listName: string,
    task: unknown,
    items: Iterable<unknown>,
    options: TaskOptions | undefined,
  ): TaskHandle<never>[] => {
    const list = iterableToArray(action, listName, items);
    checkOptionsObject(action, "options", options);
    const source = portSource(task, action);
    const name = nameOf(task, options);
    return request(
      action,
      (id) => ({ op, id, source, payload: list, options: named(task, options) }),
      list.map(() => name),
      options,
      false,
    ).handles as TaskHandle<never>[];
  };

  return {
    submit(task: unknown, args: unknown = [], options?: TaskOptions): TaskHandle<never> {
      const action = "submit task";
      const list = checkArray(action, "args", args);
      checkOptionsObject(action, "options", options);
      const source = portSource(task, action);
      const entry = request(
        action,
        (id) => ({ op: "submit", id, source, payload: list, options: named(task, options) }),
        [nameOf(task, options)],
        options,
        false,
      );
      return entry.handles[0] as TaskHandle<never>;
    },
    map(task: unknown, items: Iterable<unknown>, options?: TaskOptions): TaskHandle<never>[] {
      return submitEach("map", "map tasks", "items", task, items, options);
    },
    starmap(task: unknown, argLists: Iterable<unknown>, options?: TaskOptions) {
      return submitEach("starmap", "starmap tasks", "argLists", task, argLists, options);
    },
    group(first: unknown, second?: unknown, third?: unknown): TaskGroup<never> {
      const action = "submit group";
      const homogeneous = typeof first === "function" || isTaskReference(first);
      const options = (homogeneous ? third : second) as TaskOptions | undefined;
      checkOptionsObject(action, "options", options);
      let source: PortSource | undefined;
      let payload: unknown[];
      let names: string[];
      if (homogeneous) {
        source = portSource(first, action);
        payload = iterableToArray(action, "items", second as Iterable<unknown>);
        const name = nameOf(first, options);
        names = payload.map(() => name);
      } else {
        const entries = iterableToArray(action, "entries", first as Iterable<unknown>);
        names = [];
        payload = entries.map((entry, index) => {
          if (!Array.isArray(entry) || entry.length === 0) {
            throw new TypeError(
              invalidMessage(
                action,
                `entries[${index}]`,
                "a non-empty array [task, ...args]",
                entry,
              ),
            );
          }
          names.push(nameOf(entry[0], options));
          return [portSource(entry[0], action), ...entry.slice(1)];
        });
      }
      const entry = request(
        action,
        (id) => ({
          op: "group",
          id,
          source,
          payload,
          options: homogeneous ? named(first, options) : options,
        }),
        names,
        options,
        true,
      );
      return entry.group as TaskGroup<never>;
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        port.postMessage({ op: "close" });
      } finally {
        port.onmessage = null;
        port.close();
        pending.clear();
      }
    },
    get closed(): boolean {
      return closed;
    },
  } as RemoteQueue;
}

/**
 * Worker-side submission, the queue's end: `queue.connect()` gives a
 * `MessagePort` whose other end (`connectQueue(port)`, in a Web Worker or a
 * ThreadQueue task) submits into this queue. Requests are answered on the
 * queue's thread: tasks join the queue like local ones (its run, summary and
 * hooks), and each handle's result is sent back when it finishes.
 *
 * Only web-standard messaging is used (`MessageChannel`, structured clone),
 * the same on Deno and Bun.
 *
 * @module
 */

import type { TaskGroup } from "./group.ts";
import type { TaskHandle } from "./handle.ts";
import { TaskSerializationError } from "./errors.ts";
import type { TaskOptions } from "./options.ts";
import type { GroupEntry, Task } from "./queue_types.ts";
import type { TaskResult, TaskResultInit } from "./result.ts";
import { reviveFunction, taskModule } from "./task_reference.ts";
import { type SerializedThrown, serializeThrown } from "./error_codec.ts";

/** A task as it crosses a port: a module export, or a self-contained function's source. */
export type PortSource =
  | { readonly kind: "ref"; readonly url: string; readonly exportName: string }
  | { readonly kind: "inline"; readonly code: string };

/** Client → queue: one request (every submit form), a cancel, or the end. */
export type PortRequest =
  | {
    readonly op: "submit" | "map" | "starmap";
    readonly id: number;
    readonly source: PortSource;
    /** `submit`: the argument list; `map`: the items; `starmap`: the argument lists. */
    readonly payload: readonly unknown[];
    readonly options: TaskOptions | undefined;
  }
  | {
    readonly op: "group";
    readonly id: number;
    /** A homogeneous group's task; absent for a heterogeneous one. */
    readonly source: PortSource | undefined;
    /** The items, or the entries `[source, ...args]`. */
    readonly payload: readonly unknown[];
    readonly options: TaskOptions | undefined;
  }
  | { readonly op: "cancel"; readonly id: number; readonly index: number }
  | { readonly op: "close" };

/** A result as it crosses: every field, the exception in the protocol's error form. */
export type PortResult = Omit<TaskResultInit, "exception"> & {
  readonly exception: SerializedThrown | undefined;
};

/** Queue → client: a request's handles were made, it was refused, or one task finished. */
export type PortReply =
  | {
    readonly op: "accepted";
    readonly id: number;
    readonly taskIds: readonly string[];
    readonly groupId: string | null;
  }
  | { readonly op: "refused"; readonly id: number; readonly error: SerializedThrown }
  | {
    readonly op: "done";
    readonly id: number;
    readonly index: number;
    readonly result: PortResult;
  };

/** The part of a queue the port serves (every `TaskQueue`). */
export interface PortQueue {
  submit(task: Task<unknown[], unknown>, args: unknown[], options?: TaskOptions): TaskHandle;
  map(task: Task<[unknown], unknown>, items: unknown[], options?: TaskOptions): TaskHandle[];
  starmap(task: Task<unknown[], unknown>, lists: unknown[][], options?: TaskOptions): TaskHandle[];
  group(task: Task<[unknown], unknown>, items: unknown[], options?: TaskOptions): TaskGroup;
  group(entries: GroupEntry[], options?: TaskOptions): TaskGroup;
}

/** The task a {@linkcode PortSource} names, on this side. */
function sourceFrom(source: PortSource): Task<unknown[], unknown> {
  if (source.kind === "ref") {
    return taskModule<Record<string, (...args: unknown[]) => unknown>>(source.url)[
      source.exportName
    ];
  }
  // The text came from Function.prototype.toString of a function in this
  // same program (the other end of a port it made), checked there to be
  // self-contained: the same trust as a ThreadQueue worker reviving it.
  return reviveFunction(source.code);
}

/** `result` as it crosses; `undefined` fields stay out. */
function portResult(result: TaskResult): PortResult {
  const fields = { ...result } as Record<string, unknown>;
  fields.exception = result.exception === undefined ? undefined : serializeThrown(result.exception);
  return fields as unknown as PortResult;
}

/**
 * Serves `queue` on a new channel and returns the other end. The port is
 * answered until the client closes it (`remote.close()`) or, where the
 * runtime reports it, until the client's side is gone; tasks already
 * submitted run either way.
 */
export function servePort(queue: PortQueue): MessagePort {
  const { port1: port, port2: remote } = new MessageChannel();
  // Per request, its handles (for cancel).
  const requests = new Map<number, readonly TaskHandle[]>();
  let open = true;
  const release = () => {
    if (!open) return;
    open = false;
    port.onmessage = null;
    port.removeEventListener("close", release);
    port.close();
    requests.clear();
  };
  const send = (reply: PortReply) => {
    if (!open) return;
    try {
      port.postMessage(reply);
    } catch (error) {
      if (reply.op !== "done") throw error;
      // A value or metadata that cannot be cloned: the task fails over there.
      const failure = new TaskSerializationError(
        `the result of task '${reply.result.name}' cannot be sent to the connected side: ` +
          (error as Error)?.message,
      );
      port.postMessage({
        ...reply,
        result: {
          ...reply.result,
          status: "failed",
          value: undefined,
          metadata: undefined,
          message: failure.message,
          exception: serializeThrown(failure),
        },
      });
    }
  };
  const submit = (request: Exclude<PortRequest, { op: "cancel" | "close" }>) => {
    const { payload, options } = request;
    if (request.op === "submit") {
      return [queue.submit(sourceFrom(request.source), payload as unknown[], options)];
    }
    if (request.op === "map") return queue.map(sourceFrom(request.source), [...payload], options);
    if (request.op === "starmap") {
      return queue.starmap(sourceFrom(request.source), payload as unknown[][], options);
    }
    if (request.source !== undefined) {
      return queue.group(sourceFrom(request.source), [...payload], options);
    }
    const entries = payload.map((entry) => {
      const [source, ...args] = entry as [PortSource, ...unknown[]];
      return [sourceFrom(source), ...args] as unknown as GroupEntry;
    });
    return queue.group(entries, options);
  };
  port.onmessage = (event: MessageEvent<PortRequest>) => {
    const request = event.data;
    if (request.op === "close") return release();
    if (request.op === "cancel") {
      requests.get(request.id)?.[request.index]?.cancel();
      return;
    }
    let made: readonly TaskHandle[] | TaskGroup;
    try {
      made = submit(request);
    } catch (error) {
      send({ op: "refused", id: request.id, error: serializeThrown(error) });
      return;
    }
    const handles = Array.isArray(made) ? made : (made as TaskGroup).handles;
    const groupId = Array.isArray(made) ? null : (made as TaskGroup).groupId;
    requests.set(request.id, handles);
    send({ op: "accepted", id: request.id, taskIds: handles.map((h) => h.id), groupId });
    let left = handles.length;
    handles.forEach((handle, index) =>
      handle.onDone((done: TaskHandle) => {
        if (--left === 0) requests.delete(request.id);
        send({ op: "done", id: request.id, index, result: portResult(done.result()) });
      })
    );
    if (left === 0) requests.delete(request.id);
  };
  // Bun reports a closed peer (its worker ended); Deno does not, and there
  // an orphaned port keeps nothing alive.
  port.addEventListener("close", release);
  return remote;
}

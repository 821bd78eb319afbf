/**
 * The worker script of {@linkcode MinimalWorkerPool} (and of W6's bare
 * worker): one message `[id, exportName, args]` in, one `[id, ok, value]`
 * out, calling an export of `bench/tasks.ts`.
 *
 * @module
 */

import * as tasks from "../tasks.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

type TaskName = keyof typeof tasks;
const scope = globalThis as unknown as WorkerScope;

scope.addEventListener("message", (event: MessageEvent) => {
  const [id, name, args] = event.data as [number, TaskName, [number, number]];
  try {
    scope.postMessage([id, true, (tasks[name] as (...args: number[]) => number)(...args)]);
  } catch (error) {
    scope.postMessage([id, false, error]);
  }
});

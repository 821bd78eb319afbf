/**
 * The Bun child of {@linkcode MinimalProcessPool}: one IPC message
 * `[id, exportName, args]` in, one `[id, ok, value]` out; it ends when the
 * channel closes.
 *
 * @module
 */

import * as tasks from "../tasks.ts";

interface ChildProcessGlobal {
  send(message: unknown): void;
  on(event: "message", listener: (message: unknown) => void): void;
  on(event: "disconnect", listener: () => void): void;
  exit(code: number): never;
}

type TaskName = keyof typeof tasks;
const child = (globalThis as unknown as { process: ChildProcessGlobal }).process;

child.on("message", (message) => {
  const [id, name, args] = message as [number, TaskName, number[]];
  try {
    child.send([id, true, (tasks[name] as (...args: number[]) => number)(...args)]);
  } catch (error) {
    child.send([id, false, String(error)]);
  }
});
child.on("disconnect", () => child.exit(0));

/**
 * The entry script of every `ProcessQueue` child on Bun: it wires a
 * {@linkcode TaskHost} to Bun's IPC channel (`process.send` /
 * `process.on("message")`), each message a `toWire()` tree (`codec.ts`),
 * batched in arrays.
 *
 * Output needs nothing here: the parent spawns this child with stdout and
 * stderr on its own stderr, and the protocol has a channel of its own.
 *
 * Ending: the IPC channel closing means the parent closed the pool or died;
 * the child then kills its own process group (it is the group
 * leader, spawned detached), taking whatever its tasks started. SIGINT is
 * ignored (the parent decides). An uncaught error or unhandled rejection
 * outside a task is reported as fatal and ends the child.
 *
 * `process.exit()` in a task first tells the parent, with the replies still
 * held. Bun drops IPC messages still queued when a process exits, so the
 * child exits only once they are written: in the `process.send` callback of
 * an empty batch sent after them (messages go out in order). The wrapped
 * `process.exit()` throws to unwind the task meanwhile, and the parent kills
 * a child that announced its exit and has not gone after its kill grace.
 *
 * @module
 */

import { TaskHost } from "./task_host.ts";
import { fromWire, JSON_MESSAGE_LIMIT, toWire, type WireValue } from "../core/codec.ts";
import { coalesceRuns, type MainMessage, type WorkerMessage } from "./protocol.ts";

interface BunChildProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  send?(message: unknown, callback?: (error: unknown) => void): boolean;
  exit(code?: number): never;
  kill(pid: number, signal?: string): boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

const process = (globalThis as unknown as { process: BunChildProcess }).process;
const realExit = process.exit.bind(process);
const send = process.send?.bind(process);
if (send === undefined) throw new Error("child_entry_bun.ts must be started with an IPC channel");

/** The child is exiting: it goes once the channel has written everything before. */
let exiting = false;

function post(message: WorkerMessage): void {
  // Encoded here, so a value that cannot cross throws to the host, which
  // then fails only the task it belongs to. No completion callback: Bun's
  // first `process.send` with one costs ~2 ms of start-up.
  send!([toWire(message, "base64", JSON_MESSAGE_LIMIT)]);
}

/**
 * Exits once everything posted has been written to the channel: messages
 * go out in order, so the callback of an empty batch sent last says so.
 */
function exitAfterFlush(code: number): void {
  if (exiting) return;
  exiting = true;
  try {
    send!([], () => realExit(code));
  } catch {
    realExit(code); // The channel is gone: nothing more can be written.
  }
}

/** Unwinds a task that called `process.exit()` while the exit waits for the channel. */
class ChildExiting extends Error {
  constructor(code: number) {
    super(`process.exit(${code}) was called; the child is exiting`);
  }
}

let ending = false;

/** Ends this child and everything it started (its process group). */
function shutDown(): void {
  if (ending) return;
  ending = true;
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    // Fall through to a plain exit.
  }
  realExit(0);
}

const host = new TaskHost({ post, exit: exitAfterFlush });

process.exit = (code?: number): never => {
  const exitWith = typeof code === "number" ? code : 0;
  host.exiting(exitWith, "process.exit()");
  exitAfterFlush(exitWith);
  throw new ChildExiting(exitWith);
};

process.on("uncaughtException", (error: never) => {
  if (!((error as unknown) instanceof ChildExiting)) host.fatal(error);
});
process.on("unhandledRejection", (reason: never) => {
  if (!((reason as unknown) instanceof ChildExiting)) host.fatal(reason);
});
process.on("SIGINT", () => {});
// The channel closes when the parent closes it or dies. (Watching stdin for
// EOF as well would cost ~17 ms of start-up: Bun builds `process.stdin` lazily.)
process.on("disconnect", shutDown);
process.on("message", (batch: never) => {
  const messages = (batch as WireValue[]).map((wire) => fromWire(wire) as MainMessage);
  for (const message of coalesceRuns(messages)) host.receive(message);
});
// The task modules the parent expects this child to need (its arguments):
// importing them now overlaps with the time Bun takes to open the channel.
host.preload(process.argv.slice(2));

/**
 * The entry script of every `ProcessQueue` child on Deno: it wires a
 * {@linkcode TaskHost} to framed messages (`framing.ts`, `codec.ts`) on its
 * stdin (from the parent) and stdout (to the parent). The first 8 bytes on
 * stdin are the key of this child's frames; any byte on stdin that is not
 * part of a frame means a subprocess read some of it, and the child ends.
 *
 * Keeping stdout for the protocol: the real `Deno.stdout` is captured here
 * first; then `console` is replaced by one that writes everything to stderr,
 * and `Deno.stdout.write`/`writeSync` (which `process.stdout` also uses)
 * write to stderr too. The child's stderr is the parent's. Frames are written
 * synchronously, so no task output can land inside one; anything that still
 * reaches stdout between frames is copied to stderr by the parent.
 *
 * Ending: EOF on stdin means the parent closed the pool or died; the child
 * then kills its own process group (it is the group leader, spawned
 * detached), taking whatever its tasks started, and exits. SIGINT is ignored
 * (the parent decides). `Deno.exit()`/`process.exit()` in a task first tell
 * the parent, with the replies still held; an uncaught error or unhandled
 * rejection outside a task is reported as fatal and ends the child.
 *
 * @module
 */

import { Console } from "node:console";
import { denoExitCaller, TaskHost } from "./task_host.ts";
import { decodeValue } from "../core/codec.ts";
import { appendMessageFrame, FRAME_KEY_BYTES, FrameBuilder, FrameDecoder } from "./framing.ts";
import { coalesceRuns, type MainMessage, type WorkerMessage } from "./protocol.ts";

const protocolOut = Deno.stdout;
const writeProtocol = protocolOut.writeSync.bind(protocolOut);
const realExit = Deno.exit.bind(Deno);

interface NodeProcessLike {
  exit(code?: number): never;
  stderr: unknown;
}
const nodeProcess = (globalThis as unknown as { process: NodeProcessLike }).process;
const realProcessExit = nodeProcess.exit.bind(nodeProcess);

// ---------------------------------------------------------------- stdout

const stderr = Deno.stderr;
protocolOut.writeSync = (bytes: Uint8Array): number => stderr.writeSync(bytes);
protocolOut.write = (bytes: Uint8Array): Promise<number> => stderr.write(bytes);
Object.defineProperty(protocolOut, "writable", { get: () => stderr.writable, configurable: true });
// Built on first use: making a Console (and `process.stderr`) costs ~20 ms,
// which a child that never prints should not pay at start-up.
let stderrConsole: Console | undefined;
(globalThis as unknown as { console: Console }).console = new Proxy(console as unknown as Console, {
  get(_target, key) {
    stderrConsole ??= new Console({
      stdout: nodeProcess.stderr as never,
      stderr: nodeProcess.stderr as never,
    });
    const value = (stderrConsole as unknown as Record<PropertyKey, unknown>)[key];
    return typeof value === "function" ? value.bind(stderrConsole) : value;
  },
});

// ---------------------------------------------------------------- channel

/** Frames to the parent, keyed with the parent's key (the first bytes on stdin). */
let outbox: FrameBuilder | undefined;
/** Messages posted before the key arrived (a start-up failure), sent once it has. */
const early: WorkerMessage[] = [];

function post(message: WorkerMessage): void {
  if (outbox === undefined) {
    early.push(message);
    return;
  }
  appendMessageFrame(outbox, message);
  const bytes = outbox.view();
  try {
    let written = 0;
    while (written < bytes.length) written += writeProtocol(bytes.subarray(written));
  } catch {
    // The parent is gone: nothing to report to any more.
    shutDown();
  } finally {
    outbox.clear();
  }
}

/** Ends this child and everything it started (its process group). */
function shutDown(): never {
  try {
    Deno.kill(-Deno.pid, "SIGKILL");
  } catch {
    // No permission to signal (a child narrowed without `run` started nothing).
  }
  return realExit(0);
}

const host = new TaskHost({ post, exit: (code) => realExit(code) });

Deno.exit = (code?: number): never => {
  host.exiting(code ?? 0, denoExitCaller());
  return realExit(code);
};
nodeProcess.exit = (code?: number): never => {
  host.exiting(code ?? 0, "process.exit()");
  return realProcessExit(code);
};

globalThis.addEventListener("error", (event: ErrorEvent) => {
  event.preventDefault();
  host.fatal(event.error ?? new Error(event.message));
});
globalThis.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
  event.preventDefault();
  host.fatal(event.reason);
});
Deno.addSignalListener("SIGINT", () => {});

// The task modules the parent expects this child to need (its arguments):
// importing them now overlaps with the rest of the start-up.
host.preload(Deno.args);

// ---------------------------------------------------------------- input

// Messages that arrive in one read are handed over together (see `coalesceRuns`).
let arrived: MainMessage[] = [];
let decoder: FrameDecoder | undefined;
const readBuffer = new Uint8Array(1 << 16);
const keyBuffer = new Uint8Array(FRAME_KEY_BYTES);
let keyFill = 0;

/** Starts the channel once the key has arrived. */
function keyed(): FrameDecoder {
  outbox = new FrameBuilder(keyBuffer);
  for (const message of early.splice(0)) post(message);
  return new FrameDecoder(keyBuffer, {
    // Decoding copies everything it keeps, so the read buffer can be reused.
    onFrame: (payload) => arrived.push(decodeValue(payload) as MainMessage),
    // Something else read part of this child's input (a subprocess of a task):
    // what follows cannot be trusted, so the child ends.
    onForeign: (error) => host.fatal(error),
  });
}

while (true) {
  let count: number | null;
  try {
    count = await Deno.stdin.read(readBuffer);
  } catch {
    count = null;
  }
  if (count === null) break;
  let chunk = readBuffer.subarray(0, count);
  if (decoder === undefined) {
    const take = Math.min(FRAME_KEY_BYTES - keyFill, chunk.length);
    keyBuffer.set(chunk.subarray(0, take), keyFill);
    keyFill += take;
    chunk = chunk.subarray(take);
    if (keyFill < FRAME_KEY_BYTES) continue;
    decoder = keyed();
  }
  decoder.push(chunk);
  if (arrived.length > 0) {
    const messages = coalesceRuns(arrived);
    arrived = [];
    for (const message of messages) host.receive(message);
  }
}
shutDown();

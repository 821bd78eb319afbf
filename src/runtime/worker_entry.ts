/**
 * The entry script of every `ThreadQueue` Web Worker: it wires a
 * {@linkcode TaskHost} to the worker's `postMessage`, and makes every way
 * task code can end the worker visible to the pool.
 *
 * - `self.close()`, `Deno.exit()` and `process.exit()` are wrapped so that
 *   they first post an `exiting` notice with the replies still held: on Deno
 *   a worker that ends itself vanishes without any event on the main side.
 * - An uncaught error or unhandled rejection is reported as `fatal` and ends
 *   the worker. Deno would otherwise keep the worker alive (with the task
 *   that caused it never answered), Bun ends it anyway.
 *
 * @module
 */

import { denoExitCaller, TaskHost } from "./task_host.ts";
import type { MainMessage, WorkerMessage } from "./protocol.ts";

/** What this script uses of a worker's global scope, typed here so no lib is needed. */
interface WorkerScope {
  postMessage(message: unknown): void;
  close?: () => void;
  addEventListener(type: string, listener: (event: Event) => void): void;
  Deno?: { exit(code?: number): never };
  process?: { exit(code?: number): never };
}

const scope = globalThis as unknown as WorkerScope;
const originalClose = typeof scope.close === "function" ? scope.close.bind(scope) : undefined;
const deno = scope.Deno;
const originalDenoExit = deno?.exit.bind(deno);
type ProcessLike = { exit(code?: number): never };
let originalProcessExit: ((code?: number) => never) | undefined;

/** Ends this worker without the notice (the host has already sent what it had). */
function endWorker(code: number): void {
  if (originalClose !== undefined) originalClose();
  else if (scope.process !== undefined && originalProcessExit !== undefined) {
    originalProcessExit(code); // reading scope.process above wraps it (and sets the original)
  } else if (originalDenoExit !== undefined) originalDenoExit(code);
}

const host = new TaskHost({
  post: (message: WorkerMessage) => scope.postMessage(message),
  exit: endWorker,
});

if (originalClose !== undefined) {
  scope.close = () => {
    host.exiting(null, "self.close()");
    originalClose();
  };
}
if (deno !== undefined && originalDenoExit !== undefined) {
  deno.exit = (code?: number): never => {
    host.exiting(code ?? 0, denoExitCaller());
    return originalDenoExit(code);
  };
}
function wrapProcessExit(process: ProcessLike): void {
  if (originalProcessExit !== undefined || typeof process?.exit !== "function") return;
  const original = process.exit.bind(process);
  originalProcessExit = original;
  process.exit = (code?: number): never => {
    host.exiting(code ?? 0, "process.exit()");
    return original(code);
  };
}

const processProperty = Object.getOwnPropertyDescriptor(globalThis, "process");
const processGetter = processProperty?.get;
if (processGetter !== undefined && processProperty?.configurable === true) {
  // Deno builds `process` on first use (it loads its Node compatibility layer,
  // ~30 ms of worker start-up): wrap its exit then, not now.
  Object.defineProperty(globalThis, "process", {
    configurable: true,
    enumerable: processProperty.enumerable,
    get(): unknown {
      const process = processGetter.call(globalThis) as ProcessLike;
      wrapProcessExit(process);
      return process;
    },
    set: processProperty.set,
  });
} else if (scope.process !== undefined) {
  wrapProcessExit(scope.process);
}

scope.addEventListener("error", (event: Event) => {
  // Deno: without this the error would also reach, and crash, the main thread.
  event.preventDefault();
  const errorEvent = event as ErrorEvent;
  host.fatal(errorEvent.error ?? new Error(errorEvent.message));
});
scope.addEventListener("unhandledrejection", (event: Event) => {
  event.preventDefault();
  host.fatal((event as PromiseRejectionEvent).reason);
});
scope.addEventListener("messageerror", () => {
  // A run that cannot be read would never be answered.
  host.fatal(new Error("a message from the main thread could not be deserialized"));
});
scope.addEventListener("message", (event: Event) => {
  host.receive((event as MessageEvent<MainMessage>).data);
});

/**
 * Process-level hooks: the signals and exit the `run(main)` runner needs, a
 * pool's timers that must not keep the process alive, and the exit hook that
 * kills a pool's children with their parent.
 *
 * @module
 */

import { nodeProcess, runtimeName } from "./detect.ts";

/** The signals the runner turns into a shutdown. */
export type TerminationSignal = "SIGINT" | "SIGTERM";

const SIGNALS: readonly TerminationSignal[] = ["SIGINT", "SIGTERM"];

/** Calls `handler` on SIGINT and SIGTERM until the returned function is called. */
export function onTerminationSignals(handler: (signal: TerminationSignal) => void): () => void {
  const listeners = SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  if (runtimeName === "deno") {
    for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
    return () => {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    };
  }
  const process = nodeProcess();
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

/** Ends the process now with `code` (also stops worker threads stuck in sync code). */
export function exitProcess(code: number): never {
  if (runtimeName === "deno") Deno.exit(code);
  return nodeProcess().exit(code);
}

/** The exit code a process killed by `signal` conventionally reports. */
export function exitCodeFor(signal: TerminationSignal): number {
  return signal === "SIGINT" ? 130 : 143;
}

/**
 * Lets a timer not keep the process alive: an idle pool's timers must not
 * hold a finished program open.
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (runtimeName === "deno") Deno.unrefTimer(timer as unknown as number);
  else (timer as unknown as { unref?: () => void }).unref?.();
}

/**
 * Calls `listener` synchronously when this process exits normally (the end
 * of the program, `Deno.exit()` / `process.exit()`), so that a pool can kill
 * children it still has. Returns the function that removes the listener.
 */
export function onProcessExit(listener: () => void): () => void {
  if (runtimeName === "deno") {
    globalThis.addEventListener("unload", listener);
    return () => globalThis.removeEventListener("unload", listener);
  }
  const process = nodeProcess();
  process.on("exit", listener);
  return () => {
    process.off("exit", listener);
  };
}

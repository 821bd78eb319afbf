/**
 * Signals and exit, the two process-level things the `run(main)` runner needs.
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

/**
 * The program runner: `run(main)` awaits `main` and turns SIGINT/SIGTERM
 * into an orderly stop of every live queue.
 *
 * @module
 */

import { listLiveQueuesIn, refuseSubmissions } from "./core/live_queues.ts";
import type { QueueEngine } from "./core/queue.ts";
import { abandonedLabels } from "./core/resources.ts";
import { checkBoolean, checkFunction, checkOptionsObject } from "./core/validate.ts";
import {
  exitCodeFor,
  exitProcess,
  onTerminationSignals,
  type TerminationSignal,
} from "./runtime/process_control.ts";

/** The queues started and not yet stopped: the ones a signal stops. */
const liveQueues = new Set<QueueEngine>();
listLiveQueuesIn(liveQueues);

/** Options of {@linkcode run}. */
export interface RunnerOptions {
  /**
   * Exit the process with 130 (SIGINT) or 143 (SIGTERM) after a signal once
   * `main` has settled. Default `true`.
   */
  exitOnSignal?: boolean;
}

/**
 * Runs `main` and returns its value. The first SIGINT or SIGTERM, in this
 * order: closes every queue to new work (a submission throws `ClosedError:
 * queue is shutting down (SIGTERM)` until `main` settles); aborts every live
 * queue like a run timeout with `onTimeout: "complete"` (`mustComplete`
 * tasks finish, the rest are cancelled with `cancelReason: "signal"`, `run()`
 * calls return their summaries with `interrupted: "signal"`); and aborts the
 * `AbortSignal` that `main` receives, so that producers stop. A second
 * signal forces every queue down at once. After a signal the process exits
 * 130/143 once `main` settles (at once on the second signal). The signal
 * listeners are removed when `main` settles. If a worker the library could
 * not stop remains (Deno cannot terminate a worker stuck in synchronous
 * code), the process is ended with a warning naming its task, so the
 * program does not hang.
 *
 * @example
 * ```ts
 * import { AsyncQueue, run } from "@osiiso/osiiso";
 * await run(async (signal) => {
 *   await using q = new AsyncQueue({ workers: 4 });
 *   for (const n of [1, 2, 3]) {
 *     if (signal.aborted) break; // a producer stops on SIGINT/SIGTERM
 *     q.submit(async (n: number) => n * 2, [n], { mustComplete: true });
 *   }
 *   const summary = await q.run();
 *   console.log(summary.values, summary.interrupted); // [2, 4, 6] null
 * });
 * ```
 */
export async function run<T>(
  main: (signal: AbortSignal) => T | Promise<T>,
  options?: RunnerOptions,
): Promise<T> {
  checkFunction("run main", "main", main);
  const given = checkOptionsObject("run main", "options", options);
  const exitOnSignal = given.exitOnSignal === undefined
    ? true
    : checkBoolean("run main", "exitOnSignal", given.exitOnSignal);
  let received: TerminationSignal | undefined;
  const stopping = new AbortController();
  const dispose = onTerminationSignals((signal) => {
    if (received === undefined) {
      received = signal;
      refuseSubmissions(signal);
      for (const queue of [...liveQueues]) queue.interrupt();
      stopping.abort(new DOMException(`received ${signal}`, "AbortError"));
      return;
    }
    const forced = [...liveQueues].map((queue) => queue.cancel());
    void Promise.all(forced).then(() => {
      if (exitOnSignal) exitProcess(exitCodeFor(received ?? signal));
    });
  });
  let value: T;
  let threw = false;
  try {
    value = await main(stopping.signal);
  } catch (error) {
    threw = true;
    throw error;
  } finally {
    dispose();
    if (received !== undefined) refuseSubmissions(undefined);
    const stuck = abandonedLabels();
    if (stuck.length > 0) {
      console.error(
        `osiiso: ending the process: ${stuck.length} worker(s) could not be stopped (${
          stuck.join("; ")
        }); use ProcessQueue for code that may never yield`,
      );
      if (threw) console.error("osiiso: main threw before the process was ended");
      exitProcess(received !== undefined ? exitCodeFor(received) : threw ? 1 : 0);
    }
    if (received !== undefined && exitOnSignal) exitProcess(exitCodeFor(received));
  }
  return value;
}

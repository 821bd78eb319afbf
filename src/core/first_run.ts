/**
 * A program's first run, rehearsed. An engine compiles a function on its
 * first call, and a first run calls for the first time, on its path, the
 * code of a task's end and of the run's end: the first task to end and the
 * run's summary wait for that compiling (longer after the thread has slept
 * on a timer). So once the first run's first tasks have started, a
 * throwaway queue runs one task through a whole run, and that code is
 * compiled while those tasks are still running.
 *
 * @module
 */

/** The rehearsal, until it has run; set by the async backend, which can make a queue. */
let rehearsal: (() => Promise<void>) | undefined;

/** Sets what a program's first run rehearses: a whole run of one task on a throwaway queue. */
export function setFirstRunRehearsal(rehearse: () => Promise<void>): void {
  rehearsal = rehearse;
}

/**
 * Starts the rehearsal, once per program (the engine calls this when a run's
 * first tasks have started) and returns its promise, which never rejects: a
 * rehearsal that goes wrong costs only the time it would have saved.
 * `undefined` when there is nothing (left) to rehearse.
 */
export function rehearseFirstRun(): Promise<void> | undefined {
  const rehearse = rehearsal;
  if (rehearse === undefined) return undefined;
  rehearsal = undefined;
  try {
    return rehearse().catch(ignore);
  } catch {
    return undefined; // a rehearsal that threw before its first await
  }
}

function ignore(): void {}

/**
 * A run's line on the progress board: what it is called and the counts it
 * reads from its queue each time the board redraws.
 *
 * @module
 */

import type { ProgressBoard, ProgressCounts, ProgressMode } from "./progress_line.ts";

/** What a run's line reads from its queue each time the board redraws. */
export interface RunCounters {
  /**
   * Every finished task the queue holds now (its result, or the task itself
   * while its result is not made); the run's begin at the `from` given to the line.
   */
  results(): { readonly length: number; at(index: number): { readonly name: string } | undefined };
  /** Tasks submitted and not finished. */
  outstanding(): number;
  /** Tasks that failed since the run began. */
  failed(): number;
  /** Tasks waiting to retry now. */
  retrying(): number;
  /** Tasks running now. */
  active(): number;
}

/**
 * Adds a run's line to `board` and returns what removes it. `from()` is
 * where the run's results begin in `counters.results()`, read at each
 * redraw (`clearResults()` during the run moves it); a finite run shows a
 * total.
 */
export function addRunLine(
  board: ProgressBoard,
  mode: ProgressMode,
  label: string,
  finite: boolean,
  from: () => number,
  counters: RunCounters,
): () => void {
  return board.add({
    mode,
    // The first finished task's name tells stacked lines (a pipeline's stages) apart.
    get label(): string {
      return counters.results().at(from())?.name ?? label;
    },
    read: (): ProgressCounts => {
      const done = Math.max(0, counters.results().length - from());
      return {
        done,
        total: finite ? done + counters.outstanding() : undefined,
        failed: counters.failed(),
        retrying: counters.retrying(),
        active: counters.active(),
      };
    },
  });
}

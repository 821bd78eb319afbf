/**
 * One `run()` of a queue while it lasts: its options, when it began and
 * where its results begin, what cut it short, its progress line, and the
 * summary it returns. The engine drives the run (start, waits, aborts);
 * this keeps the run's books.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { ProgressBoard, ProgressMode } from "./progress_line.ts";
import {
  type FailPolicy,
  type ResolvedQueueOptions,
  resolveRunOptions,
  type RunOptions,
} from "./queue_options.ts";
import {
  type CancelReason,
  noStatusCounts,
  type ResultOnDemand,
  type RunInterruption,
  type RunSummary,
  type StatusCounts,
  summaryAdopting,
  type TaskResult,
} from "./result.ts";
import { addRunLine, type RunCounters } from "./run_progress.ts";

/** The books of one `run()`, from its start until it returns its summary. */
export class QueueRun {
  /** The run's own `failPolicy`, if it was given one (the queue's holds otherwise). */
  readonly failPolicy: FailPolicy | undefined;
  /** How long the run may wait, in ms (the queue's `timeout` unless given); undefined: no limit. */
  readonly limit: number | undefined;
  /** A finite run waits until nothing is outstanding, an endless one until the queue closes. */
  readonly finite: boolean;
  /** The runner's signal ended the run's wait (an abort that spares `mustComplete` tasks). */
  signalled = false;
  /** The run's limit or the runner's signal ended its wait before its work was done. */
  timedOut = false;
  private readonly strict: boolean;
  private readonly progressMode: ProgressMode;
  private readonly clock: Clock;
  private readonly startedAt: number;
  /** Where the run's results begin among the queue's. */
  private from: number;
  /** The queue's counts by status when the run's results begin (see `summary`). */
  private countsBefore: StatusCounts;
  private interruption: RunInterruption | null = null;
  private removeLine: (() => void) | undefined = undefined;

  /**
   * Checks the `run()` options (before the queue is looked at, so a wrong
   * option is reported first). `from` is how many results the queue holds
   * now, and `counts` their counts by status (detached ones left out).
   */
  constructor(
    options: RunOptions | undefined,
    queueOptions: ResolvedQueueOptions,
    clock: Clock,
    from: number,
    counts: StatusCounts,
  ) {
    const { timeout, strict, failPolicy } = resolveRunOptions(options);
    this.failPolicy = failPolicy;
    this.limit = timeout === undefined ? queueOptions.timeout : timeout ?? undefined;
    this.finite = queueOptions.mode === "finite";
    this.strict = strict;
    this.progressMode = queueOptions.progress;
    this.clock = clock;
    this.startedAt = clock.now();
    this.from = from;
    this.countsBefore = { ...counts };
  }

  /** Notes what cut the run short: the first abort but a shutdown. */
  cutShortBy(reason: CancelReason): void {
    if (this.interruption === null && reason !== "shutdown") {
      this.interruption = reason as RunInterruption;
    }
  }

  /**
   * Adds the run's line to the board that `progressBoard` gives (unless the
   * queue's `progress` is false, or there is no board); returns that board,
   * which the engine ticks as tasks finish. `label` names the line until a
   * task has finished.
   */
  showProgress(
    progressBoard: (() => ProgressBoard) | undefined,
    label: string,
    counters: RunCounters,
  ): ProgressBoard | undefined {
    const mode = this.progressMode;
    if (mode === false || progressBoard === undefined) return undefined;
    const board = progressBoard();
    this.removeLine = addRunLine(board, mode, label, this.finite, () => this.from, counters);
    return board;
  }

  /** The queue's results were cleared: the run's begin at the start again. */
  resultsCleared(): void {
    this.from = 0;
    this.countsBefore = noStatusCounts();
  }

  /** Removes the run's progress line, if it shows one. */
  hideProgress(): void {
    this.removeLine?.();
    this.removeLine = undefined;
  }

  /**
   * The run's summary, of the queue's `results` from where the run began
   * (`detached` is how many of all of them are detached: a summary leaves
   * those out, and `counts` does not count them); `backend` names the
   * timeline's lanes. A strict run with failures throws instead. A success
   * may still be its task, whose result the summary makes when its results
   * are read.
   */
  summary(
    results: { slice(start: number): (TaskResult<unknown> | ResultOnDemand<unknown>)[] },
    detached: number,
    backend: string,
    counts: StatusCounts,
  ): RunSummary<unknown> {
    const now = this.clock.now();
    let window = results.slice(this.from);
    if (detached > 0) window = window.filter((result) => !result.detached);
    const before = this.countsBefore;
    const summary = summaryAdopting(
      window,
      { runStart: this.startedAt, timedOut: this.timedOut, now, interrupted: this.interruption },
      backend,
      {
        succeeded: counts.succeeded - before.succeeded,
        failed: counts.failed - before.failed,
        cancelled: counts.cancelled - before.cancelled,
      },
    );
    if (this.strict) summary.raiseForErrors();
    return summary;
  }
}

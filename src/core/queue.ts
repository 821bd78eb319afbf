/**
 * The engine every queue shares: admission, ordering, scheduling, the rate
 * gate, retries, timeouts, cancellation, hooks, results and the lifecycle.
 * A backend adds only an {@linkcode Executor} (how one attempt executes).
 *
 * @module
 */

import { isThenable, messageOf } from "./_util.ts";
import { AbortWatch } from "./abort_watch.ts";
import type { Clock, Timer } from "./clock.ts";
import {
  CancelledError,
  ClosedError,
  InvalidStateError,
  QueueFullError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "./errors.ts";
import { type EndedBy, type Executor, REPORTED_LATER, type TaskSource } from "./executor.ts";
import { rehearseFirstRun } from "./first_run.ts";
import type { TaskHandle } from "./handle.ts";
import { callHook, reportHookError, retryAllowed } from "./hooks.ts";
import { liveQueues, shuttingDownOn } from "./live_queues.ts";
import { type ResolvedTaskOptions, retryDelayFor } from "./options.ts";
import {
  type FailPolicy,
  type HookName,
  type QueueOptions,
  type ResolvedQueueOptions,
  resolveQueueOptions,
  resolveShutdownForce,
  type RunOptions,
} from "./queue_options.ts";
import { QueueRun } from "./queue_run.ts";
import { NotStartedWarning } from "./not_started_warning.ts";
import type { ProgressBoard } from "./progress_line.ts";
import type { QueueStats } from "./queue_types.ts";
import { Attempt, QueuedTask } from "./queued_task.ts";
import { RateGate } from "./rate_gate.ts";
import { ReadyQueue } from "./ready_queue.ts";
import { ResultLog } from "./result_log.ts";
import {
  type CancelReason,
  noStatusCounts,
  type RunSummary,
  type StatusCounts,
  type TaskResult,
  type TaskStatus,
} from "./result.ts";
import { sourceName } from "./task_reference.ts";
import { TimerHeap } from "./timer_heap.ts";
import { Waiters } from "./waiters.ts";

/** Where a task is in the engine. */
export const enum Place {
  None,
  Scheduled,
  Ready,
  Active,
  Done,
}

/**
 * Retry jitter's source when the clock has none. `Math.random` is read when
 * a retry needs it, not in the engine's constructor: on Bun, a constructor
 * that reads it took about 0.14 ms longer before its first line ran, on a
 * program's first construction.
 */
function mathRandom(): number {
  return Math.random();
}

/**
 * Where a queue is in its life: one value, read by admission, dispatch,
 * retries and shutdown.
 *
 * ```text
 *   Open ────abort───▶ Halted ──────start() or run() ends───▶ Open
 *    │                   │
 *  shutdown()        shutdown()
 *    ▼                   ▼
 *  Draining ──abort─▶ Cancelling ───start() or run() ends──▶ Draining
 *    │                   │
 *    └──── outstanding work done (or force) ────▶ Closed
 *
 *   reset() (not while workers run): any phase ──▶ Open
 * ```
 *
 * A queue starts Open, or Closed when its `signal` has already aborted.
 *
 * An abort is a fail-first failure, a run timeout, the runner's signal, a
 * forced shutdown or `reset()`. Only Open admits tasks. Halted, Cancelling
 * and Closed cancel what is not spared and retry nothing. Two facts vary
 * independently of the phase: whether workers run (`started`: a graceful
 * shutdown starts them, a finite run stops them in any phase) and whether a
 * `run()` is in progress (`currentRun`).
 */
const enum Phase {
  Open,
  Draining,
  Halted,
  Cancelling,
  Closed,
}

/**
 * The engine behind every `TaskQueue`: admission, ordering, scheduling, the
 * rate gate, attempts, retries, timeouts, cancellation, hooks, results and
 * the lifecycle. The public class holds one and hands it every call.
 */
export class QueueEngine {
  private readonly options: ResolvedQueueOptions;
  private readonly executor: Executor;
  /** `Executor.callsSource`: the engine may call a task's function itself. */
  private readonly callsSource: boolean;
  /** The queue's clock (a group times its waits on it). */
  readonly clock: Clock;
  private readonly gate: RateGate | undefined;
  /** Where retry jitter comes from: the clock's `random()` when it has one. */
  private readonly random: () => number;
  private failPolicy: FailPolicy;

  private ready = new ReadyQueue<QueuedTask>();
  private scheduled = new TimerHeap<QueuedTask>();
  private schedulerTimer: Timer | undefined = undefined;
  private activeHead: QueuedTask | undefined = undefined;
  // Attempts held back by the rate limit until another one starts in a worker.
  private rateWaiting: QueuedTask[] = [];
  private activeSlots = 0;
  // Attempts handed to a pool but not yet started in a worker (its window):
  // they hold capacity but are still pending to the user.
  private notBegun = 0;
  private outstanding = 0;
  private scheduledCount = 0;
  // Finished tasks in completion order: a result, or the task of a success whose result is
  // not made yet (it is made when first read).
  private finished = new ResultLog<TaskResult<unknown> | QueuedTask>();
  /** How many of `finished` are detached (a run's summary leaves them out). */
  private detachedResults = 0;
  /** The other `finished` by status: a run's summary takes its counts from these. */
  private resultCounts: StatusCounts = noStatusCounts();
  /** Numbers the groups that get no `groupId`. */
  private groupSeq = 0;

  private phase = Phase.Open;
  private started = false;
  // start() was called: a finite run's end keeps the executor's workers (until shutdown()).
  private keepWorkers = false;
  // Re-entrancy of the dispatch loop, not lifecycle: a pump is queued as a
  // microtask, running, or asked to go round again; an attempt's own
  // completion is being recorded (it refills without the microtask hop).
  private pumpQueued = false;
  private pumping = false;
  private pumpAgain = false;
  private completing = false;
  // The clock read when an attempt succeeded, reused for the attempt its
  // completion starts in the same synchronous step (a clock read costs as much
  // as a tenth of a tiny task on Deno). Forgotten as soon as user code runs.
  private stepNow: number | undefined = undefined;
  /** Inside a task's own synchronous code (or its onStart hook) now. */
  private inTaskCode = false;
  private peakWorkers = 0;
  // For the progress line: failed tasks since the queue was made, tasks waiting to retry now.
  private failedCount = 0;
  private retryingCount = 0;
  /** Where the queue's progress line is drawn; undefined outside a run that shows it. */
  private progress: ProgressBoard | undefined = undefined;
  /** From a run's start until its progress line is added (see `openRun`). */
  private progressPending = false;
  /** `failedCount` when the run began: its line counts the failures since. */
  private failedBeforeRun = 0;
  /** The queue's fail policy, while a run with its own holds. */
  private policyBeforeRun: FailPolicy = "continue";
  private readonly progressBoard: (() => ProgressBoard) | undefined;

  private readonly waiters: Waiters;
  /** The `run()` in progress, if one is. */
  private currentRun: QueueRun | undefined = undefined;
  // Why the last abort happened (a task the abort finds later is cancelled for it).
  private haltReason: CancelReason = "shutdown";
  private closing: Promise<void> | undefined = undefined;
  // Made the first time a task of this queue is awaited before it starts.
  private notStartedWarning: NotStartedWarning | undefined = undefined;
  // Cancels the queue when its `signal` option aborts, until it closes; made only for a signal.
  private signalWatch: AbortWatch | undefined = undefined;

  /**
   * Checks the queue options (a backend's own names are its to check).
   * `progressBoard` gives the board that draws progress lines on stderr
   * (the layer above knows the runtime; without it no line is drawn).
   */
  constructor(
    options: QueueOptions | undefined,
    executor: Executor,
    extraOptionNames: readonly string[] = [],
    progressBoard?: () => ProgressBoard,
  ) {
    this.options = resolveQueueOptions(options, extraOptionNames);
    this.executor = executor;
    this.callsSource = executor.callsSource === true;
    this.progressBoard = progressBoard;
    const clock = this.clock = this.options.clock;
    this.waiters = new Waiters(clock);
    this.random = clock.random === undefined ? mathRandom : () => clock.random!();
    this.failPolicy = this.options.failPolicy;
    this.gate = this.options.rate === undefined
      ? undefined
      : new RateGate(this.options.rate, this.options.burst);
    const signal = this.options.signal;
    if (signal?.aborted) this.phase = Phase.Closed;
    else if (signal !== undefined) this.watchSignal(signal);
  }

  /** Cancels the queue when its `signal` aborts (until it is shut down). */
  private watchSignal(signal: AbortSignal): void {
    this.signalWatch ??= new AbortWatch();
    this.signalWatch.watch(signal, () => void this.cancel());
  }

  /** Whether an abort holds: what is not spared is cancelled, nothing is retried. */
  private halted(): boolean {
    return this.phase >= Phase.Halted;
  }

  /** An abort: the phase that cancels what is not spared. */
  private halt(): void {
    if (this.phase === Phase.Open) this.phase = Phase.Halted;
    else if (this.phase === Phase.Draining) this.phase = Phase.Cancelling;
  }

  /** The end of an abort (a new start, or the run it cut short has returned). */
  private resume(): void {
    if (this.phase === Phase.Halted) this.phase = Phase.Open;
    else if (this.phase === Phase.Cancelling) this.phase = Phase.Draining;
  }

  // ---------------------------------------------------------------- submit

  /** Throws when this queue's executor cannot run `task` (the message names `action`). */
  validateSource(task: unknown, action: string): void {
    this.executor.validateSource(task, action);
  }

  /** The id of the next group submitted without a `groupId`. */
  nextGroupId(): string {
    return `group-${this.groupSeq++}`;
  }

  /** One task of a checked source with resolved options. */
  submitResolved(
    source: TaskSource,
    args: readonly unknown[],
    options: ResolvedTaskOptions,
  ): TaskHandle<unknown> {
    this.admit(1);
    return this.enqueue(source, args, options);
  }

  /** One task per argument list of a checked source, all admitted or none. */
  submitEachResolved(
    source: TaskSource,
    argLists: readonly (readonly unknown[])[],
    options: ResolvedTaskOptions,
  ): TaskHandle<unknown>[] {
    this.admit(argLists.length);
    const handles = new Array<TaskHandle<unknown>>(argLists.length);
    for (let i = 0; i < argLists.length; i++) {
      handles[i] = this.enqueue(source, argLists[i], options);
    }
    return handles;
  }

  /** One task per checked `[source, ...args]` entry, all admitted or none. */
  submitEntriesResolved(
    entries: readonly (readonly unknown[])[],
    options: ResolvedTaskOptions,
  ): TaskHandle<unknown>[] {
    this.admit(entries.length);
    return entries.map((entry) => this.enqueue(entry[0] as TaskSource, entry.slice(1), options));
  }

  /** Throws when `count` new tasks may not be admitted now. */
  private admit(count: number): void {
    if (shuttingDownOn !== undefined || this.phase !== Phase.Open) this.refuseClosed();
    const size = this.options.size;
    if (size > 0 && this.outstanding + count > size) this.refuseFull();
    // Not the user's start(): a finite run() still lets idle Deno workers go.
    if (!this.started && this.options.autoStart) this.start(false);
  }

  // The errors `admit` throws, apart from it: admission runs on every submit.
  private refuseClosed(): never {
    throw new ClosedError(
      shuttingDownOn !== undefined
        ? `queue is shutting down (${shuttingDownOn})`
        : "queue is not accepting tasks",
    );
  }

  private refuseFull(): never {
    throw new QueueFullError(`queue is full (${this.outstanding} tasks outstanding)`);
  }

  private enqueue(
    source: TaskSource,
    args: readonly unknown[],
    options: ResolvedTaskOptions,
  ): QueuedTask {
    const now = this.clock.now();
    const dueAt = options.delay === undefined && options.runAt === undefined
      ? now
      : this.dueTime(options, now);
    const task = new QueuedTask(
      options.name ?? sourceName(source),
      source,
      args,
      options,
      now,
      dueAt > now ? dueAt : null,
      this,
      this.started && this.executor.promiseHandles === true,
    );
    this.outstanding++;
    // An executor that drives attempts waits for the due time itself.
    if (dueAt > now && this.executor.drivesAttempts !== true) {
      this.schedule(task);
    } else {
      task.place = Place.Ready;
      this.ready.push(task);
      if (this.started) this.requestPump();
    }
    return task;
  }

  /** When a task submitted `now` with `delay` or `runAt` comes due, on the queue's clock. */
  private dueTime(options: ResolvedTaskOptions, now: number): number {
    if (options.delay !== undefined) return now + options.delay;
    return now + Math.max(0, options.runAt! - this.clock.wallNow());
  }

  /** Puts a task in the scheduler's heap until its `dueAt`. */
  private schedule(task: QueuedTask): void {
    task.place = Place.Scheduled;
    this.scheduled.push(task);
    this.scheduledCount++;
    if (this.started) this.armScheduler();
  }

  // -------------------------------------------------------------- dispatch

  private requestPump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(this.queuedPump);
  }

  /**
   * The microtask `requestPump` queues: one function for the engine's life.
   * A closure written inside `requestPump` would make that function build a
   * scope on every call, and a started queue calls it on every submit.
   */
  private readonly queuedPump = (): void => {
    this.pumpQueued = false;
    this.pump();
  };

  private capacity(): number {
    const workers = this.options.workers ?? this.executor.autoWorkers();
    // Under a rate limit, no pipelining: an attempt must start when its reservation says.
    return this.gate === undefined ? this.executor.capacity(workers) : workers;
  }

  private pump(): void {
    if (!this.started) return;
    if (this.pumping) {
      // A task started by this loop finished synchronously: the loop goes on.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.fill();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private fill(): void {
    const limit = this.capacity();
    const ready = this.ready;
    // The size is asked first: a pop() that finds nothing (only when the queue drains) made
    // JavaScriptCore's optimized fill() fall back to slower code at every end of the last wave.
    while (this.activeSlots < limit && ready.size > 0) {
      const task = ready.pop() as QueuedTask;
      if (task.place !== Place.Ready) continue; // finished while queued
      if (this.halted() && !task.mustComplete) {
        this.recordCancel(task, this.haltReason, "cancelled during shutdown");
        continue;
      }
      task.place = Place.Active;
      this.addActive(task);
      this.beginAttempt(task);
    }
  }

  private addActive(task: QueuedTask): void {
    const head = this.activeHead;
    task.nextActive = head;
    if (head !== undefined) head.prevActive = task;
    this.activeHead = task;
    if (++this.activeSlots > this.peakWorkers) this.peakWorkers = this.activeSlots;
  }

  private removeActive(task: QueuedTask): void {
    const { prevActive, nextActive } = task;
    if (prevActive !== undefined) prevActive.nextActive = nextActive;
    else this.activeHead = nextActive;
    if (nextActive !== undefined) nextActive.prevActive = prevActive;
    task.prevActive = task.nextActive = undefined;
    this.activeSlots--;
  }

  /** Starts an attempt, under a rate limit once its reservation comes. */
  private beginAttempt(task: QueuedTask): void {
    if (this.gate !== undefined) this.beginRated(task, this.gate);
    else this.startAttempt(task);
  }

  /**
   * Takes a rate reservation, then starts the attempt. Apart from
   * `beginAttempt`: a function holding a closure makes a scope on every call.
   */
  private beginRated(task: QueuedTask, gate: RateGate): void {
    const wait = gate.reserve(this.clock.now());
    if (wait <= 0) return this.dispatchRated(task);
    task.timer = this.clock.setTimer(() => {
      task.timer = undefined;
      if (task.place === Place.Active) this.dispatchRated(task);
    }, wait);
  }

  /**
   * Under a rate limit, hands an attempt over only when no other is waiting
   * to start in a worker: a pool may start one late (a worker still
   * booting), and two handed over meanwhile would then start together. The
   * one held back takes a fresh reservation once the other has started.
   */
  private dispatchRated(task: QueuedTask): void {
    if (this.notBegun > 0) {
      this.rateWaiting.push(task);
      return;
    }
    this.startAttempt(task);
  }

  /** An attempt is no longer waiting to start in a worker (it started, or ended). */
  private leftWindow(): void {
    this.notBegun--;
    if (this.rateWaiting.length > 0 && this.notBegun === 0) this.resumeRated();
  }

  /** Lets one attempt held back by the rate limit go on. */
  private resumeRated(): void {
    for (
      let next = this.rateWaiting.shift();
      next !== undefined;
      next = this.rateWaiting.shift()
    ) {
      if (next.place === Place.Active) {
        this.beginAttempt(next);
        return;
      }
    }
  }

  /** Starts an attempt: called directly (see `callSource`) or through an `Attempt`. */
  private startAttempt(task: QueuedTask): void {
    const options = task.options;
    if (
      this.callsSource && task.attempt === undefined && options.timeout === undefined &&
      !options.bind && typeof task.source === "function"
    ) {
      this.callSource(task);
    } else {
      this.startThroughAttempt(task);
    }
  }

  /** Hands a new attempt to the executor; it becomes `running` at `began()`. */
  private startThroughAttempt(task: QueuedTask): void {
    const attempt = new Attempt(task, this);
    task.attempt = attempt;
    this.notBegun++;
    let outcome: unknown;
    try {
      this.inTaskCode = true;
      try {
        outcome = this.executor.execute(attempt);
      } finally {
        this.inTaskCode = false;
      }
      this.stepNow = undefined; // the task's own code ran
      if (outcome === REPORTED_LATER) return; // Attempt.report() brings the outcome
      if (isThenable(outcome)) {
        // A foreign thenable's then() may throw: that is the task failing.
        outcome.then(
          (value) => this.attemptSucceeded(attempt, value),
          (error) => this.attemptFailed(attempt, error),
        );
        return;
      }
    } catch (error) {
      this.stepNow = undefined;
      this.attemptFailed(attempt, error);
      return;
    }
    this.attemptSucceeded(attempt, outcome);
  }

  /**
   * A task's first attempt, called here without an `Attempt`: with no timeout
   * nothing but its own outcome or the task's end (a cancel: it is then done
   * for good) settles it, so the task itself tells a live outcome from a
   * stale one, and without `bind` no code sees an attempt's signal. Saves an
   * object and two calls per tiny task; a failure builds the `Attempt` that a
   * retry's history needs.
   */
  private callSource(task: QueuedTask): void {
    const now = this.markRunning(task);
    this.gate?.startedAt(now);
    if (this.options.onStart !== undefined && !this.runOnStart(task)) return;
    let outcome: unknown;
    this.inTaskCode = true;
    try {
      outcome = (task.source as (...args: unknown[]) => unknown)(...task.args!);
      this.inTaskCode = false;
      this.stepNow = undefined; // the task's own code ran
      // A foreign thenable's then() may throw: that is the task failing.
      if (isThenable(outcome)) return this.awaitCalled(task, outcome);
    } catch (error) {
      this.inTaskCode = false;
      this.stepNow = undefined;
      return this.calledFailed(task, error);
    }
    this.calledSucceeded(task, outcome);
  }

  /**
   * Calls `onStart` before a called task, as the task's own code (a graceful
   * shutdown from it would wait forever); false when it cancelled the task.
   */
  private runOnStart(task: QueuedTask): boolean {
    this.inTaskCode = true;
    this.callHook("onStart", this.options.onStart!, task); // never throws
    this.inTaskCode = false;
    return task.place === Place.Active;
  }

  /** Settles a called task when its promise does (apart: only this needs a closure scope). */
  private awaitCalled(task: QueuedTask, outcome: PromiseLike<unknown>): void {
    outcome.then(
      (value) => this.calledSucceeded(task, value),
      (error) => this.calledFailed(task, error),
    );
  }

  private calledSucceeded(task: QueuedTask, value: unknown): void {
    if (task.place !== Place.Active) return; // cancelled meanwhile
    this.succeeded(task, value, null);
  }

  private calledFailed(task: QueuedTask, error: unknown): void {
    if (task.place !== Place.Active) return;
    const attempt = new Attempt(task, this, task._attempts);
    attempt.hasBegun = attempt.settled = true;
    attempt.startedAt = task.startedAt!;
    task.attempt = attempt;
    this.failed(attempt, error);
  }

  /** Called through `AttemptRequest.report()`: the attempt's outcome. */
  attemptReported(attempt: Attempt, ok: boolean, value: unknown): void {
    if (ok) this.attemptSucceeded(attempt, value);
    else this.attemptFailed(attempt, value);
  }

  /**
   * Called through `AttemptRequest.began()`: counts the attempt,
   * fires `onStart` and arms the timeout. False when the attempt is over.
   */
  attemptBegan(attempt: Attempt): boolean {
    const task = attempt.task;
    if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    this.leftWindow();
    const now = this.markRunning(task);
    attempt.startedAt = now;
    // A pool may start an attempt later than its reservation: later ones keep their spacing.
    this.gate?.startedAt(now);
    if (this.options.onStart !== undefined) {
      this.callHook("onStart", this.options.onStart, task);
      if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    }
    const timeout = task.options.timeout;
    if (timeout !== undefined && this.executor.drivesAttempts !== true) {
      task.timer = this.clock.setTimer(() => {
        task.timer = undefined;
        this.attemptTimedOut(attempt);
      }, timeout);
    }
    return true;
  }

  /**
   * Called through `AttemptRequest.retrying()` (executors that drive
   * attempts): the attempt failed and the executor will run another. False
   * when the task is over or the attempt had not begun.
   */
  attemptRetrying(attempt: Attempt, error: unknown): boolean {
    const task = attempt.task;
    if (
      !attempt.hasBegun || attempt.settled || task.attempt !== attempt ||
      task.place !== Place.Active
    ) return false;
    task._status = "retrying";
    this.notBegun++; // the next began() leaves the window again
    if (this.options.onRetry !== undefined) {
      this.callHook("onRetry", this.options.onRetry, task, error);
    }
    return true;
  }

  /** Counts an attempt as started; returns the start time. */
  private markRunning(task: QueuedTask): number {
    task._attempts++;
    if (task._status === "retrying") this.retryingCount--;
    task._status = "running";
    const now = this.stepNow ?? this.clock.now();
    if (task.startedAt === null) task.startedAt = now;
    return now;
  }

  private settle(attempt: Attempt): boolean {
    const task = attempt.task;
    if (attempt.settled || task.attempt !== attempt || task.place !== Place.Active) return false;
    attempt.settled = true;
    // An outcome without began() (an argument that could not be sent, say)
    // still counts as an attempt, so retries stay bounded.
    if (!attempt.hasBegun) {
      attempt.hasBegun = true;
      this.leftWindow();
      attempt.startedAt = this.markRunning(task);
    }
    if (task.timer !== undefined) {
      this.clock.clearTimer(task.timer);
      task.timer = undefined;
    }
    return true;
  }

  private attemptSucceeded(attempt: Attempt, value: unknown): void {
    if (this.settle(attempt)) this.succeeded(attempt.task, value, attempt.worker);
  }

  /** Records a settled attempt's success, then starts what its slot can take. */
  private succeeded(task: QueuedTask, value: unknown, worker: number | null): void {
    this.completing = true;
    this.stepNow = this.clock.now();
    try {
      this.finish(task, "succeeded", value, undefined, "returned", "", worker);
    } finally {
      this.completing = false;
    }
    try {
      this.pump();
    } finally {
      this.stepNow = undefined;
    }
  }

  private attemptFailed(attempt: Attempt, error: unknown): void {
    if (this.settle(attempt)) this.failed(attempt, error);
  }

  /** Records a settled attempt's failure (a retry, or the task's end), then refills. */
  private failed(attempt: Attempt, error: unknown): void {
    const endedBy = error instanceof WorkerCrashedError
      ? "worker-crashed"
      : error instanceof TaskTimeoutError && this.executor.drivesAttempts === true
      ? "timeout"
      : "threw";
    this.completing = true;
    try {
      this.failAttempt(attempt, error, endedBy);
    } finally {
      this.completing = false;
    }
    this.pump();
  }

  private attemptTimedOut(attempt: Attempt): void {
    if (!this.settle(attempt)) return;
    const error = new TaskTimeoutError(attempt.name, attempt.task.options.timeout ?? 0);
    attempt.abort(error);
    this.failAttempt(attempt, error, "timeout");
  }

  private failAttempt(attempt: Attempt, error: unknown, endedBy: EndedBy): void {
    const task = attempt.task;
    const options = task.options;
    if (
      task._attempts <= options.retries && !(this.halted() && !task.mustComplete) &&
      this.executor.drivesAttempts !== true &&
      retryAllowed(options, error, this.options.onHookError)
    ) {
      attempt.recordInHistory(this.clock.now(), endedBy, messageOf(error));
      task._status = "retrying";
      this.retryingCount++;
      if (this.options.onRetry !== undefined) {
        this.callHook("onRetry", this.options.onRetry, task, error);
        if (task.place !== Place.Active || task.attempt !== attempt) return;
      }
      const delay = retryDelayFor(options, task._attempts, this.random);
      if (delay > 0) this.scheduleRetry(task, delay);
      else this.beginAttempt(task);
      return;
    }
    this.finish(task, "failed", undefined, error, endedBy, messageOf(error), attempt.worker);
  }

  /**
   * A retry waits like a delayed task, not in its slot: the slot goes to the
   * next ready task, and the retry comes due with its priority and its
   * submission's place among equals.
   */
  private scheduleRetry(task: QueuedTask, delay: number): void {
    this.removeActive(task);
    task.dueAt = this.clock.now() + delay;
    this.schedule(task);
    if (!this.completing) this.requestPump();
  }

  /**
   * Records a task's outcome exactly once: the handle settles (its `onDone`
   * callbacks run), the result is stored, a fail-first failure aborts, then
   * `onComplete` runs, and idle is announced last.
   */
  private finish(
    task: QueuedTask,
    status: TaskStatus,
    value: unknown,
    exception: unknown,
    endedBy: EndedBy | null,
    message: string,
    worker: number | null = task.attempt?.worker ?? null,
    cancelReason: CancelReason | null = null,
  ): void {
    if (task.place === Place.Done) return;
    if (task.timer !== undefined) {
      this.clock.clearTimer(task.timer);
      task.timer = undefined;
    }
    if (task.place === Place.Active) {
      this.removeActive(task);
      // An attempt's own completion refills at once (no microtask hop, which
      // costs as much as the rest of a tiny task); other paths defer.
      if (!this.completing) this.requestPump();
    } else if (task.place === Place.Scheduled) {
      this.scheduledCount--;
    }
    if (task._status === "retrying") this.retryingCount--;
    task.place = Place.Done;
    const finishedAt = this.stepNow ?? this.clock.now();
    // A task that never started has no last attempt to describe.
    if (task._attempts === 0) endedBy = null;
    // A success that needs no history builds its result only when asked (most are only awaited,
    // or counted and read for their values by a summary): the handle keeps the value and the
    // queue the handle. onComplete asks for every result.
    const onDemand = status === "succeeded" && endedBy === "returned" &&
      task.attempt?.history === undefined && this.options.onComplete === undefined;
    const result = onDemand ? undefined : task.resultOf(
      status,
      value,
      exception,
      endedBy,
      message,
      worker,
      finishedAt,
      cancelReason,
    );
    // A checkpointed submission records its successes here, before the handle settles.
    if (status === "succeeded") task.options.recordSuccess?.(task, value);
    // Let the task body and arguments be collected: a finished task keeps only its outcome.
    task.source = undefined;
    task.args = undefined;
    task.attempt = undefined;
    // onDone callbacks are user code: the step's clock reading is stale after them. Settling
    // an awaited handle's promise or a wait() runs none (their reactions are microtasks).
    if (task._listeners?.callbacks !== undefined) this.stepNow = undefined;
    if (result === undefined) {
      task.finishedAt = finishedAt;
      task.lastWorker = worker;
      task._finishSucceeded(value);
      // An onDone callback may have made the result: then the list keeps it, not the handle.
      this.finished.push(task._resultMade() ? task.result() : task);
    } else {
      task._finish(result);
      this.finished.push(result);
    }
    if (task.detached) this.detachedResults++;
    else this.resultCounts[status]++;
    this.outstanding--;
    const waiters = this.waiters;
    if (waiters.space.length > 0) waiters.notify(waiters.space);
    if (status === "failed") {
      this.failedCount++;
      if (this.failPolicy === "failFirst" && !this.halted()) this.abort(false, "failFirst");
    }
    // Tasks that never yield starve the board's timer: it redraws from here when due.
    if (this.progress !== undefined) this.progress.tick(finishedAt);
    else if (this.progressPending) this.showRunProgress();
    if (this.options.onComplete !== undefined) {
      this.callHook("onComplete", this.options.onComplete, task.result());
    }
    // Idle is announced last, so a task that onComplete submits keeps the run going.
    if (this.outstanding === 0 && waiters.idle.length > 0) waiters.notify(waiters.idle);
  }

  // ----------------------------------------------------------- scheduling

  private armScheduler(): void {
    const clock = this.clock;
    if (this.schedulerTimer !== undefined) {
      clock.clearTimer(this.schedulerTimer);
      this.schedulerTimer = undefined;
    }
    const heap = this.scheduled;
    const now = clock.now();
    let moved = false;
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (top.place !== Place.Scheduled) {
        heap.pop();
        continue;
      }
      if (top.dueAt > now) break;
      heap.pop();
      this.scheduledCount--;
      top.place = Place.Ready;
      this.ready.pushInOrder(top);
      moved = true;
    }
    const next = heap.peek();
    if (next !== undefined) {
      this.schedulerTimer = clock.setTimer(() => {
        this.schedulerTimer = undefined;
        if (this.started) this.armScheduler();
      }, next.dueAt - now);
    }
    if (moved) this.requestPump();
  }

  // --------------------------------------------------------- cancellation

  /** Called through `TaskHandle.cancel()`. */
  cancelTask(handle: TaskHandle<unknown>): boolean {
    const task = handle as QueuedTask;
    switch (task.place) {
      case Place.Scheduled:
      case Place.Ready:
        this.recordCancel(task, "cancel");
        return true;
      case Place.Active:
        this.cancelActive(task, "cancel");
        return true;
      default:
        return false;
    }
  }

  private cancelActive(task: QueuedTask, reason: CancelReason): void {
    const attempt = task.attempt;
    if (attempt !== undefined && !attempt.settled) {
      attempt.settled = true;
      if (!attempt.hasBegun) this.leftWindow();
      attempt.abort(new CancelledError("cancelled"));
    }
    this.recordCancel(task, reason);
  }

  /**
   * Records a cancellation. A task that never ran (or was sent to a worker
   * but never started there) was "cancelled before execution".
   */
  private recordCancel(task: QueuedTask, reason: CancelReason, message?: string): void {
    message ??= task._attempts === 0 ? "cancelled before execution" : "cancelled";
    this.finish(task, "cancelled", undefined, undefined, "cancelled", message, undefined, reason);
  }

  /**
   * Halts the queue and cancels what is not spared: with `kill`, everything;
   * otherwise everything but `mustComplete` tasks. `reason` goes on each
   * cancelled result, and on the summary of the run it cuts short.
   */
  private abort(kill: boolean, reason: CancelReason): void {
    this.halt();
    this.haltReason = reason;
    this.currentRun?.cutShortBy(reason);
    const spared = (task: QueuedTask) => task.place !== Place.Done && !kill && task.mustComplete;
    for (const task of this.scheduled.removeWhere(spared)) this.recordCancel(task, reason);
    for (const task of this.ready.removeWhere(spared)) this.recordCancel(task, reason);
    const active: QueuedTask[] = [];
    for (let task = this.activeHead; task !== undefined; task = task.nextActive) active.push(task);
    for (const task of active) {
      if (kill || !task.mustComplete) this.cancelActive(task, reason);
    }
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Starts executing: queued tasks begin, and later submissions run at once.
   * Throws `ClosedError` on a shut-down queue. Calling it again is harmless.
   * `keepWorkers` (the public `start()`) keeps the executor's workers across
   * finite runs until `shutdown()`; `run()` and `shutdown()` start without it.
   */
  start(keepWorkers = true): this {
    if (this.phase === Phase.Closed) throw new ClosedError("queue has been shut down");
    if (keepWorkers) this.keepWorkers = true;
    this.resume();
    if (!this.started) {
      this.started = true;
      this.peakWorkers = 0;
      liveQueues?.add(this);
      this.executor.start(this.options.workers ?? this.executor.autoWorkers());
      // Skipped when nothing waits for a due time (the usual first run): one function less
      // to compile before the first task starts.
      if (this.scheduledCount > 0) this.armScheduler();
    }
    this.requestPump();
    return this;
  }

  /**
   * `TaskQueue.run()`: start, wait (bounded by the run timeout), summarise.
   * Not an `async` function, and its rare paths live in their own methods:
   * an engine compiles a function whole on its first call, and a program's
   * first run() waits for that before any task starts.
   */
  run(options?: RunOptions): Promise<RunSummary<unknown>> {
    let run: QueueRun;
    try {
      run = this.openRun(options);
    } catch (error) {
      return Promise.reject(error);
    }
    // A finite run waits for idle, an endless one for the queue to close.
    const waiters = this.waiters;
    const ended = run.finite
      ? waiters.waitBounded(waiters.idle, this.outstanding === 0, run.limit)
      : waiters.waitBounded(waiters.wake, this.closed, run.limit);
    return ended.then((finished) => finished ? this.closeRun(run) : this.runTimedOut(run));
  }

  /** Checks and records a new run, then starts the queue for it. */
  private openRun(options: RunOptions | undefined): QueueRun {
    if (this.currentRun !== undefined) throw new InvalidStateError("run() is already in progress");
    const run = new QueueRun(
      options,
      this.options,
      this.clock,
      this.finished.length,
      this.resultCounts,
    );
    if (this.phase === Phase.Closed) throw new ClosedError("queue has been shut down");
    this.policyBeforeRun = this.failPolicy;
    this.failPolicy = run.failPolicy ?? this.failPolicy;
    this.currentRun = run;
    try {
      this.start(false);
    } catch (error) {
      this.endRun();
      throw error;
    }
    // The progress line is added after the pump's first round (queued by start()), or when
    // the first task finishes if that is sooner: the first tasks need not wait for the board
    // and its timer (on Deno the process's first timer costs about 0.6 ms). A program's first
    // run is rehearsed there too (see `first_run.ts`).
    this.failedBeforeRun = this.failedCount;
    this.progressPending = true;
    queueMicrotask(() => {
      this.showRunProgress();
      rehearseFirstRun();
    });
    return run;
  }

  /** Adds the run's progress line, once (see `openRun`). */
  private showRunProgress(): void {
    if (!this.progressPending || this.currentRun === undefined) return;
    this.progressPending = false;
    const failedBefore = this.failedBeforeRun;
    this.progress = this.currentRun.showProgress(this.progressBoard, this.executor.kind, {
      results: () => this.finished,
      outstanding: () => this.outstanding,
      failed: () => this.failedCount - failedBefore,
      retrying: () => this.retryingCount,
      active: () => this.activeCount,
    });
  }

  /** The run's work is done: a finite run lets its workers go; then the summary. */
  private closeRun(run: QueueRun): RunSummary<unknown> {
    try {
      if (run.finite && !this.closed) this.stopWorkers();
    } finally {
      this.endRun();
    }
    return this.summarise(run);
  }

  /** The run's limit (or the runner's signal) came first: cancel, wait for idle, summarise. */
  private async runTimedOut(run: QueueRun): Promise<RunSummary<unknown>> {
    try {
      run.timedOut = true;
      // A signal (the runner) counts as a timeout that spares mustComplete tasks.
      const kill = !run.signalled && this.options.onTimeout === "cancel";
      this.abort(kill, run.signalled ? "signal" : "timeout");
      await this.waitIdle();
      if (!this.closed) this.stopWorkers();
    } finally {
      this.endRun();
    }
    return this.summarise(run);
  }

  /** Puts back what a run changed: its progress line, the fail policy, the halt it caused. */
  private endRun(): void {
    this.progressPending = false;
    this.currentRun?.hideProgress();
    this.progress = undefined;
    this.currentRun = undefined;
    this.resume();
    this.failPolicy = this.policyBeforeRun;
  }

  /** The run's summary, of the queue's results since the run began. */
  private summarise(run: QueueRun): RunSummary<unknown> {
    return run.summary(
      this.finished,
      this.detachedResults,
      this.executor.kind,
      this.resultCounts,
    );
  }

  /** Resolves when nothing is outstanding. */
  private waitIdle(): Promise<void> {
    return this.waiters.waitIdle(this.outstanding === 0);
  }

  /** The end of a finite run, or a shutdown: the executor may let idle workers go. */
  private stopWorkers(): void {
    if (this.started && !this.keepWorkers) this.executor.stopped?.();
    this.started = false;
    this.peakWorkers = 0;
    liveQueues?.delete(this);
    if (this.schedulerTimer !== undefined) {
      this.clock.clearTimer(this.schedulerTimer);
      this.schedulerTimer = undefined;
    }
  }

  /** `TaskQueue.join()`: start, and wait until nothing is outstanding. */
  async join(): Promise<void> {
    this.start();
    await this.waitIdle();
  }

  /** `TaskQueue.shutdown()`: graceful (drain, then stop) or forced. */
  async shutdown(options?: { force?: boolean }): Promise<void> {
    const force = resolveShutdownForce(options);
    if (!force && this.inTaskCode) {
      // A graceful shutdown waits for every task, this one included: forever.
      throw new InvalidStateError(
        "Cannot shut down the queue gracefully from inside one of its own tasks: it would " +
          "wait for that task forever; use shutdown({ force: true }), or shut down after run()",
      );
    }
    if (this.phase === Phase.Closed) {
      this.waiters.notify(this.waiters.wake);
      if (this.closing !== undefined) await this.closing;
      return;
    }
    this.phase = this.halted() ? Phase.Cancelling : Phase.Draining;
    if (force) {
      this.abort(true, "shutdown");
    } else {
      if (this.outstanding > 0 && !this.started) this.start(false);
      await this.waitIdle();
      if (this.closed) {
        if (this.closing !== undefined) await this.closing;
        return;
      }
    }
    this.phase = Phase.Closed;
    this.keepWorkers = false;
    this.stopWorkers();
    this.signalWatch?.release();
    this.closing = this.executor.close(force);
    this.waiters.notify(this.waiters.wake);
    this.waiters.notify(this.waiters.space);
    await this.closing;
  }

  /** `TaskQueue.cancel()`: a forced shutdown whose promise never rejects. */
  cancel(): Promise<void> {
    return this.shutdown({ force: true }).catch(() => undefined);
  }

  /** Used by the `run(main)` runner on SIGINT/SIGTERM: a run timeout, `onTimeout: "complete"`. */
  interrupt(): void {
    if (this.currentRun === undefined || !this.waiters.waitingBounded) {
      return this.abort(false, "signal");
    }
    this.currentRun.signalled = true;
    this.waiters.cutShort();
  }

  /** `TaskQueue.reset()`: cancel what is pending and reopen for reuse. */
  reset(): void {
    if (this.currentRun !== undefined) throw new InvalidStateError("cannot reset during run()");
    if (this.started) {
      throw new InvalidStateError(
        "cannot reset while workers are running — call shutdown() first",
      );
    }
    this.abort(true, "shutdown");
    this.clearResults();
    this.outstanding = 0;
    this.scheduledCount = 0;
    this.ready = new ReadyQueue();
    this.scheduled = new TimerHeap();
    this.groupSeq = 0;
    this.gate?.clear();
    if (this.phase === Phase.Closed) {
      this.closing = undefined;
      if (this.options.signal !== undefined) this.watchSignal(this.options.signal);
    }
    this.phase = Phase.Open;
  }

  /** `TaskQueue.clearResults()`: during a run, its summary keeps what finishes afterwards. */
  clearResults(): void {
    this.finished = new ResultLog();
    this.detachedResults = 0;
    this.resultCounts = noStatusCounts();
    this.currentRun?.resultsCleared();
  }

  /** `TaskQueue.whenSpace()`: resolves when a bounded queue has room, or is closed. */
  whenSpace(): Promise<void> {
    const size = this.options.size;
    if (size === 0 || this.outstanding < size || this.closed) return Promise.resolve();
    return this.waiters.whenSpace(() => this.outstanding < size || this.closed);
  }

  // ----------------------------------------------------------- inspection

  /** Tasks holding a worker (running, or held by the rate gate); a task waiting for its retry is pending. */
  get activeCount(): number {
    return this.activeSlots - this.notBegun;
  }

  /** Tasks queued or scheduled (outstanding minus active). */
  get pendingCount(): number {
    return this.outstanding - this.activeCount;
  }

  /** Whether the queue has been shut down. */
  get closed(): boolean {
    return this.phase === Phase.Closed;
  }

  /** Every result since the last `reset()`/`clearResults()`, detached ones included. */
  get results(): readonly TaskResult<unknown>[] {
    const entries = this.finished;
    // The results made now replace their tasks in the list, which can then be collected.
    for (let i = 0; i < entries.length; i++) {
      const entry = entries.at(i);
      if (entry instanceof QueuedTask) entries.set(i, entry.result());
    }
    return entries.slice() as TaskResult<unknown>[];
  }

  /** Counters of the queue now. */
  get stats(): QueueStats {
    let workers = this.executor.liveWorkers();
    if (workers === undefined) {
      workers = !this.started
        ? 0
        : this.options.workers ?? Math.min(this.executor.autoWorkers(), this.peakWorkers);
    }
    return {
      pending: this.pendingCount,
      active: this.activeCount,
      scheduled: this.scheduledCount,
      completed: this.finished.length,
      workers,
      closed: this.closed,
    };
  }

  // ---------------------------------------------------------------- hooks

  /** Calls a user hook; the step's clock reading is stale once user code has run. */
  private callHook(name: HookName, hook: (...args: never[]) => unknown, ...args: unknown[]): void {
    this.stepNow = undefined;
    callHook(this.options.onHookError, name, hook, args);
  }

  /**
   * Called by a handle when someone starts waiting for its unfinished task:
   * on a queue that is not started that wait never ends, so it may warn.
   */
  awaited(): void {
    if (this.started) return;
    this.notStartedWarning ??= new NotStartedWarning(() =>
      !this.started && this.phase !== Phase.Closed && this.outstanding !== 0
    );
    this.notStartedWarning.arm();
  }

  /** Called by handles for `onDone` errors. */
  reportCallbackError(error: unknown, hook: string): void {
    reportHookError(this.options.onHookError, error, hook as HookName);
  }
}

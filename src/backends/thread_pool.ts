/**
 * The Web Worker pool behind `ThreadQueue`, as an {@linkcode Executor}: the
 * engine decides when an attempt runs; this pool decides on which worker,
 * sends it there, and brings back its value or error.
 *
 * How it stays fast and safe:
 *
 * - **Pipelining.** Each worker holds up to `maxInFlightPerWorker` attempts:
 *   they travel in batches and the worker answers in batches, so a tiny task
 *   costs a fraction of a round trip. The worker still runs them one at a
 *   time, in order, so the oldest unanswered attempt of a ready worker is the
 *   one running: that is when `began()` is called (its timeout counts from
 *   there).
 * - **Stopping work.** When the engine gives up on an attempt it aborts the
 *   request's signal; the pool forwards the abort (the task's own signal
 *   aborts, or a queued attempt is dropped unstarted). A running attempt that
 *   has not stopped after `killGrace` gets its worker terminated; the other
 *   attempts that worker held are re-dispatched, and a new worker is started
 *   when needed. (Deno cannot yet stop a worker stuck in synchronous code;
 *   the attempt is settled and the worker replaced all the same.)
 * - **Crashes.** Every way a worker can end that the pool did not ask for
 *   (uncaught error, `self.close()`, `Deno.exit()`, `process.exit()`, a
 *   Bun `close` event, an unreadable message) fails the attempt it was
 *   running with `WorkerCrashedError` and re-dispatches the rest. No promise
 *   is left pending.
 *
 * @module
 */

import {
  AdaptiveWindow,
  defaultMaxInFlightPerWorker,
  describeError,
  PipelinedPool,
  type PoolCall,
  type PoolOptions,
  PoolSlot,
} from "./pool.ts";
import { messageOf } from "../core/_util.ts";
import { TaskSerializationError } from "../core/errors.ts";
import { recordAbandoned, releaseResource, trackResource } from "../core/resources.ts";
import {
  deserializeThrown,
  type MainMessage,
  type PackedRun,
  type SourceDefinition,
  type WorkerMessage,
} from "../runtime/protocol.ts";
import { runtimeName } from "../runtime/detect.ts";
import { workerEntryUrl } from "../runtime/worker_url.ts";

/**
 * The pool's own settings (the queue checks them; see `ThreadQueueOptions`).
 *
 * @example
 * ```ts
 * import type { ThreadPoolOptions } from "./thread_pool.ts";
 * const options: ThreadPoolOptions = { maxInFlightPerWorker: 8, killGrace: 500 };
 * ```
 */
export type ThreadPoolOptions = PoolOptions;

/** Bun's `Worker` can stop keeping the process alive; Deno's cannot. */
interface Referable {
  ref?(): void;
  unref?(): void;
}

/** One live Web Worker and the attempts it holds. */
class PoolWorker extends PoolSlot {
  /** Runs waiting for this tick's batch. */
  outgoing: PackedRun[] = [];
  /** Sources first used by those runs. */
  outgoingSources: SourceDefinition[] = [];
  transfers: Transferable[] = [];
  /** The call whose abort the worker acknowledged: it was not stuck in synchronous code. */
  abortSeen = -1;
  readonly token: number;

  constructor(readonly id: number, readonly worker: Worker) {
    super(false);
    this.token = trackResource("workers", `ThreadQueue worker ${id}`);
  }

  ref(): void {
    (this.worker as Referable).ref?.();
  }

  unref(): void {
    (this.worker as Referable).unref?.();
  }
}

/**
 * A pool of Web Workers that runs attempts for one `ThreadQueue`.
 *
 * @example Drive the pool directly (what the engine does)
 * ```ts ignore
 * import { ThreadPool } from "./thread_pool.ts";
 * const pool = new ThreadPool({ maxInFlightPerWorker: 8 });
 * pool.start(2);
 * const value = await pool.execute({
 *   taskId: "t1", name: "add", attempt: 1, source: (a: number, b: number) => a + b,
 *   args: [1, 2], bind: false, transfer: undefined, signal: new AbortController().signal, aborted: false,
 *   abortReason: undefined, onAbort() {},
 *   timeout: undefined, began: () => true, worker: null,
 * });
 * console.log(value); // 3
 * await pool.close(false);
 * ```
 */
export class ThreadPool extends PipelinedPool<PoolWorker> {
  /** Which backend this is. */
  readonly kind: "thread" = "thread";
  /** Attempts a worker may hold now: enough to cover a few ms of work, within the bound. */
  readonly #window: AdaptiveWindow;
  /** Live workers by slot index (a replacement takes the lowest free index). */
  readonly #slots: (PoolWorker | undefined)[] = [];
  #live = 0;
  #flushQueued = false;
  readonly #toFlush = new Set<PoolWorker>();

  /**
   * Creates an idle pool; workers start when the first attempt needs one.
   * Options are expected to be checked already (`ThreadQueue` does it).
   */
  constructor(options: ThreadPoolOptions = {}) {
    super(options, 4);
    this.#window = new AdaptiveWindow(
      options.maxInFlightPerWorker ?? defaultMaxInFlightPerWorker,
    );
  }

  /**
   * Each worker holds a window of attempts: as many as cover
   * `pipelineMs` of work (tiny tasks: up to `maxInFlightPerWorker`;
   * long ones: one), so the engine keeps the rest in priority order.
   */
  capacity(workers: number): number {
    return workers * this.#window.size;
  }

  /** Workers alive now. */
  liveWorkers(): number {
    return this.#live;
  }

  /** A worker booted by `start()` stays unreferenced until it holds work. */
  protected bootSlot(): void {
    this.#spawn().unref();
  }

  /** A finished run: workers that cannot be unref'd (Deno) are let go so the program may end. */
  stopped(): void {
    for (const worker of this.#slots) {
      if (worker === undefined || worker.calls.length > 0) continue;
      if (typeof (worker.worker as Referable).unref !== "function") this.retire(worker);
    }
  }

  /** Stops every worker: forced, or idle; busy ones retire when they drain. */
  protected closeSlots(force: boolean): void {
    for (const worker of this.#slots) {
      if (worker === undefined) continue;
      worker.accepting = false;
      if (force || worker.calls.length === 0) this.retire(worker, "the thread pool was closed");
    }
  }

  /** Workers not terminated yet. */
  protected slotsLeft(): number {
    return this.#live;
  }

  // ----------------------------------------------------------- dispatching

  /** Sends `call` to the least loaded worker, if one has room. */
  protected place(call: PoolCall): boolean {
    const worker = this.#pickWorker();
    if (worker === undefined) return false;
    this.#assign(worker, call);
    return true;
  }

  /** The least loaded worker; a new one while some slot is free and all are busy. */
  #pickWorker(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.#slots) {
      if (worker === undefined || !worker.accepting) continue;
      if (best === undefined || worker.calls.length < best.calls.length) best = worker;
    }
    if ((best === undefined || best.calls.length > 0) && this.#live < this.maxWorkers) {
      return this.#spawn();
    }
    return best !== undefined && best.calls.length < this.#window.size ? best : undefined;
  }

  #assign(worker: PoolWorker, call: PoolCall): void {
    this.assigned(worker, call);
    if (!worker.knownSources.has(call.sourceId)) {
      worker.knownSources.add(call.sourceId);
      worker.outgoingSources.push([call.sourceId, this.sources[call.sourceId]]);
    }
    worker.outgoing.push(call.run);
    const transfer = call.request.transfer;
    if (transfer !== undefined) { for (const item of transfer) worker.transfers.push(item); }
    // A worker that still has plenty to do gets new runs with its next
    // batch, sent when its next replies arrive: fewer, larger messages.
    const unanswered = worker.calls.length - worker.outgoing.length;
    if (unanswered < Math.max(1, this.#window.size >> 2)) this.#scheduleFlush(worker);
    this.holding(worker);
  }

  #scheduleFlush(worker: PoolWorker): void {
    this.#toFlush.add(worker);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flushOutgoing());
    }
  }

  /** Sends each worker the runs assigned to it this tick, as one message. */
  #flushOutgoing(): void {
    this.#flushQueued = false;
    // Posting can assign more (a failed run makes room): those go in the next round.
    const workers = [...this.#toFlush];
    this.#toFlush.clear();
    for (const worker of workers) this.#postRuns(worker);
  }

  /** Sends what is batched for `worker` now, ahead of an abort. */
  protected override flush(worker: PoolWorker): void {
    if (worker.outgoing.length > 0) this.#postRuns(worker);
  }

  /** Posts a message to the worker. */
  protected post(worker: PoolWorker, message: MainMessage): void {
    worker.worker.postMessage(message);
  }

  #postRuns(worker: PoolWorker): void {
    const runs = worker.outgoing;
    if (runs.length === 0 || worker.state !== "live") return;
    const sources = worker.outgoingSources;
    const transfers = worker.transfers;
    worker.outgoing = [];
    worker.outgoingSources = [];
    worker.transfers = [];
    const message: MainMessage = sources.length > 0
      ? { type: "runs", sources, runs }
      : { type: "runs", runs };
    try {
      worker.worker.postMessage(message, transfers);
      return;
    } catch {
      // Something in the batch cannot be cloned: send one by one and fail
      // only the attempts that cannot go.
    }
    if (sources.length > 0) {
      worker.worker.postMessage({ type: "runs", sources, runs: [] } satisfies MainMessage);
    }
    for (const run of runs) {
      const call = worker.calls.find((candidate) => candidate.id === run[0]);
      if (call === undefined) continue;
      try {
        worker.worker.postMessage(
          { type: "runs", runs: [run] } satisfies MainMessage,
          (call.request.transfer ?? []) as Transferable[],
        );
      } catch (error) {
        worker.calls.splice(worker.calls.indexOf(call), 1);
        call.slot = undefined;
        this.settle(
          call,
          false,
          new TaskSerializationError(
            `task '${call.request.name}' could not be sent to a worker: ${messageOf(error)}`,
            { cause: error },
          ),
        );
      }
    }
    this.afterRemoval(worker);
  }

  // ------------------------------------------------------------- outcomes

  #onMessage(worker: PoolWorker, message: WorkerMessage): void {
    if (worker.state !== "live") return;
    switch (message.type) {
      case "replies":
        this.#window.measure(message.busyMs, message.replies.length);
        this.receiveReplies(worker, message.replies);
        if (worker.outgoing.length > 0) this.#scheduleFlush(worker);
        break;
      case "ready":
        this.receiveReady(worker, message.error);
        break;
      case "abortSeen":
        worker.abortSeen = message.call;
        break;
      case "exiting":
        this.#onDeath(
          worker,
          `worker ${worker.id} exited: the task called ${message.via}` +
            (message.code === null ? "" : ` (exit code ${message.code})`),
          { exitCode: message.code },
        );
        break;
      case "fatal": {
        const error = deserializeThrown(message.error);
        this.#onDeath(
          worker,
          `worker ${worker.id} crashed: uncaught ${describeError(error)}`,
          { cause: error },
        );
        break;
      }
    }
  }

  // -------------------------------------------------------------- workers

  #spawn(): PoolWorker {
    let index = 0;
    while (this.#slots[index] !== undefined) index++;
    const worker = new PoolWorker(
      index,
      new Worker(workerEntryUrl, { type: "module", name: `osiiso-worker-${index}` }),
    );
    this.#slots[index] = worker;
    this.#live++;
    const native = worker.worker;
    native.addEventListener("message", (event: MessageEvent<WorkerMessage>) => {
      this.#onMessage(worker, event.data);
    });
    native.addEventListener("error", (event: ErrorEvent) => {
      // Deno: without this an error in the worker would crash this thread too.
      event.preventDefault();
      if (worker.state !== "live") return;
      const detail = event.error instanceof Error
        ? describeError(event.error)
        : event.message || "an error";
      this.#onDeath(worker, `worker ${index} crashed: ${detail}`, {
        cause: event.error ?? event.message,
      });
    });
    native.addEventListener("messageerror", () => {
      if (worker.state !== "live") return;
      // A reply that cannot be read leaves its attempt unanswered for good.
      this.#onDeath(worker, `worker ${index} sent a message that could not be deserialized`, {});
    });
    // Bun: a worker that ends itself (process.exit, say) is seen only here.
    native.addEventListener("close", (event: Event) => {
      if (worker.state !== "live") return;
      const code = (event as Event & { code?: number }).code;
      this.#onDeath(
        worker,
        `worker ${index} exited` + (typeof code === "number" ? ` (exit code ${code})` : ""),
        { exitCode: typeof code === "number" ? code : null },
      );
    });
    native.postMessage(
      {
        type: "init",
        worker: index,
        initializer: this.initializer,
        initArgs: this.initArgs,
        replyBatch: Math.max(1, this.#window.max >> 1),
      } satisfies MainMessage,
    );
    return worker;
  }

  /** Terminates the worker: its running attempt did not stop in time. */
  protected killStuck(worker: PoolWorker, call: PoolCall): void {
    // Deno's terminate() cannot stop a thread stuck in synchronous code:
    // `run(main)` is told, so that it can end the process when main is done.
    if (runtimeName === "deno" && worker.abortSeen !== call.id) {
      recordAbandoned(`ThreadQueue worker ${worker.id} running task '${call.request.name}'`);
    }
    this.#onDeath(
      worker,
      `worker ${worker.id} was terminated: task '${call.request.name}' ` +
        `did not stop within ${this.killGrace}ms of its abort`,
      {},
    );
  }

  /**
   * A worker ended, or must: the attempt it was running fails with
   * `WorkerCrashedError` (unless the engine already gave up on it), the
   * attempts queued behind it go to other workers, unstarted.
   */
  #onDeath(
    worker: PoolWorker,
    why: string,
    details: { exitCode?: number | null; cause?: unknown },
  ): void {
    if (worker.state !== "live") return;
    const calls = worker.calls.splice(0);
    this.retire(worker);
    this.failHeld(worker, calls, why, details);
  }

  /** Terminates a worker and forgets it; whatever it held must be settled by the caller. */
  protected retire(worker: PoolWorker, why = ""): void {
    if (worker.state !== "live") return;
    worker.state = "exited";
    worker.accepting = false;
    this.clearTimers(worker);
    worker.worker.terminate();
    releaseResource(worker.token);
    this.#slots[worker.id] = undefined;
    this.#live--;
    this.#toFlush.delete(worker);
    worker.outgoing = [];
    worker.outgoingSources = [];
    worker.transfers = [];
    this.settleHeld(worker, why || `worker ${worker.id} was stopped`);
    if (this.#live === 0) this.allGone();
  }
}

/**
 * The Web Worker transport of {@linkcode PipelinedPool} (`pool.ts`, which
 * explains pipelining, stopping work and crashes), behind `ThreadQueue`.
 *
 * - Runs go to a worker in batches: those assigned in one tick travel as one
 *   message, and a worker that still has plenty to do gets new runs with its
 *   next batch (fewer, larger messages).
 * - A worker's id is its index in the pool; a replacement takes the lowest
 *   free index.
 * - Every way a worker can end that the pool did not ask for counts as a
 *   crash: an uncaught error, `self.close()`, `Deno.exit()`,
 *   `process.exit()`, a Bun `close` event, an unreadable message.
 * - Deno cannot yet stop a worker stuck in synchronous code: the attempt is
 *   settled and the worker replaced all the same, and `run(main)` is told so
 *   that it can end the process when main is done.
 *
 * @module
 */

import {
  type CrashDetails,
  describeError,
  PipelinedPool,
  type PoolCall,
  PoolSlot,
} from "./pool.ts";
import type { PoolOptions } from "./pool_options.ts";
import { messageOf } from "../core/_util.ts";
import { TaskSerializationError } from "../core/errors.ts";
import { recordAbandoned, releaseResource, trackResource } from "../core/resources.ts";
import type {
  MainMessage,
  PackedRun,
  Reply,
  SourceDefinition,
  WorkerMessage,
} from "../runtime/protocol.ts";
import { runtimeName } from "../runtime/detect.ts";
import { workerEntryUrl } from "../runtime/worker_url.ts";

/** Bun's `Worker` can stop keeping the process alive; Deno's cannot. */
interface Referable {
  ref?(): void;
  unref?(): void;
}

/** One live Web Worker and the attempts it holds. */
class WorkerSlot extends PoolSlot {
  /** Runs waiting for this tick's batch. */
  outgoing: PackedRun[] = [];
  /** Sources first used by those runs. */
  outgoingSources: SourceDefinition[] = [];
  transfers: Transferable[] = [];
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

/** A pool of Web Workers that runs attempts for one `ThreadQueue`. */
export class ThreadPool extends PipelinedPool<WorkerSlot> {
  /** Which backend this is. */
  readonly kind: "thread" = "thread";
  /** Live workers by slot index (a replacement takes the lowest free index). */
  private readonly slots: (WorkerSlot | undefined)[] = [];
  private live = 0;
  private flushQueued = false;
  private readonly toFlush = new Set<WorkerSlot>();

  /**
   * Creates an idle pool; workers start when the first attempt needs one.
   * Options are expected to be checked already (`ThreadQueue` does it).
   */
  constructor(options: PoolOptions = {}) {
    super(options, 4);
  }

  /** Workers alive now. */
  liveWorkers(): number {
    return this.live;
  }

  /** A worker booted by `start()` stays unreferenced until it holds work. */
  protected bootSlot(): void {
    this.spawn().unref();
  }

  /**
   * A finished run of a queue nobody started: workers that cannot be
   * unref'd (Deno) are let go so the program may end.
   */
  stopped(): void {
    for (const worker of this.slots) {
      if (worker === undefined || worker.calls.length > 0) continue;
      if (typeof (worker.worker as Referable).unref !== "function") this.retire(worker);
    }
  }

  /** Stops every worker: forced, or idle; busy ones retire when they drain. */
  protected closeSlots(force: boolean): void {
    for (const worker of this.slots) {
      if (worker === undefined) continue;
      worker.accepting = false;
      if (force || worker.calls.length === 0) this.retire(worker, "the thread pool was closed");
    }
  }

  /** Workers not terminated yet. */
  protected slotsLeft(): number {
    return this.live;
  }

  // ----------------------------------------------------------- dispatching

  /** Sends `call` to the least loaded worker, if one has room. */
  protected place(call: PoolCall): boolean {
    const worker = this.pickWorker();
    if (worker === undefined) return false;
    this.assign(worker, call);
    return true;
  }

  /** The least loaded worker; a new one while some slot is free and all are busy. */
  private pickWorker(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const worker of this.slots) {
      if (worker === undefined || !worker.accepting) continue;
      if (best === undefined || worker.calls.length < best.calls.length) best = worker;
    }
    if ((best === undefined || best.calls.length > 0) && this.live < this.maxSlots) {
      return this.spawn();
    }
    return best !== undefined && best.calls.length < this.window.size ? best : undefined;
  }

  private assign(worker: WorkerSlot, call: PoolCall): void {
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
    if (unanswered < Math.max(1, this.window.size >> 2)) this.scheduleFlush(worker);
    this.holding(worker);
  }

  private scheduleFlush(worker: WorkerSlot): void {
    this.toFlush.add(worker);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushOutgoing());
    }
  }

  /** Sends each worker the runs assigned to it this tick, as one message. */
  private flushOutgoing(): void {
    this.flushQueued = false;
    // Posting can assign more (a failed run makes room): those go in the next round.
    const workers = [...this.toFlush];
    this.toFlush.clear();
    for (const worker of workers) this.postRuns(worker);
  }

  /** Sends what is batched for `worker` now, ahead of an abort. */
  protected override flush(worker: WorkerSlot): void {
    if (worker.outgoing.length > 0) this.postRuns(worker);
  }

  /** Posts a message to the worker. */
  protected post(worker: WorkerSlot, message: MainMessage): void {
    worker.worker.postMessage(message);
  }

  private postRuns(worker: WorkerSlot): void {
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

  /** Runs held back for this worker's next batch go with it. */
  protected override receiveReplies(worker: WorkerSlot, replies: readonly Reply[]): void {
    super.receiveReplies(worker, replies);
    if (worker.outgoing.length > 0) this.scheduleFlush(worker);
  }

  /** The worker announced its end: it ends now. */
  protected ending(
    worker: WorkerSlot,
    how: "exited" | "crashed",
    note: string,
    details: CrashDetails,
  ): void {
    const code = details.exitCode;
    this.end(
      worker,
      `worker ${worker.id} ${how}: ${note}` +
        (typeof code === "number" ? ` (exit code ${code})` : ""),
      details,
    );
  }

  // -------------------------------------------------------------- workers

  private spawn(): WorkerSlot {
    let index = 0;
    while (this.slots[index] !== undefined) index++;
    const worker = new WorkerSlot(
      index,
      new Worker(workerEntryUrl, { type: "module", name: `osiiso-worker-${index}` }),
    );
    this.slots[index] = worker;
    this.live++;
    const native = worker.worker;
    native.addEventListener("message", (event: MessageEvent<WorkerMessage>) => {
      this.receive(worker, event.data);
    });
    native.addEventListener("error", (event: ErrorEvent) => {
      // Deno: without this an error in the worker would crash this thread too.
      event.preventDefault();
      if (worker.state !== "live") return;
      const detail = event.error instanceof Error
        ? describeError(event.error)
        : event.message || "an error";
      this.end(worker, `worker ${index} crashed: ${detail}`, {
        cause: event.error ?? event.message,
      });
    });
    native.addEventListener("messageerror", () => {
      if (worker.state !== "live") return;
      // A reply that cannot be read leaves its attempt unanswered for good.
      this.end(worker, `worker ${index} sent a message that could not be deserialized`, {});
    });
    // Bun: a worker that ends itself (process.exit, say) is seen only here.
    native.addEventListener("close", (event: Event) => {
      if (worker.state !== "live") return;
      const code = (event as Event & { code?: number }).code;
      this.end(
        worker,
        `worker ${index} exited` + (typeof code === "number" ? ` (exit code ${code})` : ""),
        { exitCode: typeof code === "number" ? code : null },
      );
    });
    native.postMessage(this.initMessage(index) satisfies MainMessage);
    return worker;
  }

  /** Terminates the worker: its running attempt did not stop in time. */
  protected killStuck(worker: WorkerSlot, call: PoolCall): void {
    // Deno's terminate() cannot stop a thread stuck in synchronous code:
    // `run(main)` is told, so that it can end the process when main is done.
    if (runtimeName === "deno" && worker.abortSeen !== call.id) {
      recordAbandoned(`ThreadQueue worker ${worker.id} running task '${call.request.name}'`);
    }
    this.end(
      worker,
      `worker ${worker.id} was terminated: task '${call.request.name}' ` +
        `did not stop within ${this.killGrace}ms of its abort`,
      {},
    );
  }

  /** A worker ended, or must: it is terminated, and what it held fails or goes elsewhere. */
  private end(worker: WorkerSlot, why: string, details: CrashDetails): void {
    if (worker.state !== "live") return;
    const calls = worker.calls.splice(0);
    this.retire(worker);
    this.failHeld(worker, calls, why, details);
  }

  /** Terminates a worker and forgets it; whatever it held must be settled by the caller. */
  protected retire(worker: WorkerSlot, why = ""): void {
    if (worker.state !== "live") return;
    worker.state = "ended";
    worker.accepting = false;
    this.clearTimers(worker);
    worker.worker.terminate();
    releaseResource(worker.token);
    this.slots[worker.id] = undefined;
    this.live--;
    this.toFlush.delete(worker);
    worker.outgoing = [];
    worker.outgoingSources = [];
    worker.transfers = [];
    this.settleHeld(worker, why || `worker ${worker.id} was stopped`);
    if (this.live === 0) this.allEnded();
  }
}

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

import type { AttemptRequest, Executor, TaskSource } from "../core/executor.ts";
import { TaskSerializationError, WorkerCrashedError } from "../core/errors.ts";
import { countTimer, recordAbandoned, releaseResource, trackResource } from "../core/resources.ts";
import { functionSource, isTaskReference } from "../core/task_source.ts";
import { checkCallableSource } from "./async_queue.ts";
import {
  deserializeThrown,
  type MainMessage,
  type PackedRun,
  type Reply,
  ReplyOutcome,
  RunFlags,
  serializeThrown,
  type SourceDefinition,
  type SourceDescriptor,
  type WorkerMessage,
} from "../runtime/protocol.ts";
import { runtimeName } from "../runtime/detect.ts";

/** The pool's own settings (the queue checks them; see `ThreadQueueOptions`). */
export interface ThreadPoolOptions {
  /** Run once in each worker before its first task. */
  readonly initializer?: TaskSource | undefined;
  /** Arguments of the initializer. */
  readonly initArgs?: readonly unknown[];
  /** Replace a worker after it has been sent this many attempts. */
  readonly maxTasksPerWorker?: number | undefined;
  /** Terminate a worker that has had nothing to do for this many ms. */
  readonly idleTimeout?: number | undefined;
  /** Attempts each worker holds at once (the pipelining window). */
  readonly maxInFlightPerWorker?: number;
  /** How long an aborted attempt may run on before its worker is terminated, in ms. */
  readonly killGrace?: number;
}

/** Default bound of the pipelining window (measured: see `ThreadQueueOptions`). */
export const defaultMaxInFlightPerWorker = 32;
/**
 * How much work, in ms, a worker's window should hold: enough that the
 * round trip to refill it is hidden, little enough that a task submitted
 * later with a higher priority does not wait behind many committed ones.
 */
export const pipelineMs = 2;
/**
 * The first guess of a task's duration: long enough for a window of one, so
 * that nothing is committed ahead of a later higher-priority task until the
 * tasks are known to be short (the window then grows within a few batches).
 */
const initialTaskMs = pipelineMs;

/** The window that holds about {@linkcode pipelineMs} of work. */
function windowFor(taskMs: number, maxWindow: number): number {
  return Math.max(1, Math.min(maxWindow, Math.round(pipelineMs / Math.max(taskMs, 0.001))));
}
/** Default grace between an abort and terminating the worker, in ms. */
export const defaultKillGrace = 1_000;

const workerEntry = new URL("../runtime/worker_entry.ts", import.meta.url);

/** One attempt while the pool holds it. */
class Call {
  /** The worker it was sent to; `undefined` while it waits in the pool. */
  worker: PoolWorker | undefined = undefined;
  /** The engine gave up on it: its outcome no longer matters. */
  abandoned = false;
  settled = false;
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly request: AttemptRequest,
    readonly sourceId: number,
    readonly run: PackedRun,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Bun's `Worker` can stop keeping the process alive; Deno's cannot. */
interface Referable {
  ref?(): void;
  unref?(): void;
}

/** One live Web Worker and the attempts it holds. */
class PoolWorker {
  /** Attempts sent and not answered, oldest first: the first one is running. */
  readonly calls: Call[] = [];
  /** Runs waiting for this tick's batch. */
  outgoing: PackedRun[] = [];
  /** Sources first used by those runs. */
  outgoingSources: SourceDefinition[] = [];
  transfers: Transferable[] = [];
  /** Source ids this worker has been told. */
  readonly knownSources = new Set<number>();
  ready = false;
  dead = false;
  /** False once it must take no more work (recycling, failed initializer, closing). */
  accepting = true;
  sent = 0;
  killTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  killCall: Call | undefined = undefined;
  /** The call whose abort the worker acknowledged: it was not stuck in synchronous code. */
  abortSeen = -1;
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  busy = false;
  token: number;

  constructor(readonly index: number, readonly worker: Worker) {
    this.token = trackResource("workers", `ThreadQueue worker ${index}`);
  }
}

/** Whether the attempt has a per-task timeout (assumed when the engine does not say). */
function isTimed(request: AttemptRequest): boolean {
  if (!("timeout" in request)) return true;
  const timeout = (request as { readonly timeout?: number | null }).timeout;
  return timeout !== undefined && timeout !== null;
}

function hardwareConcurrency(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof cores === "number" && cores > 0 ? cores : 4;
}

function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  // Bun and Node timers can be unref'd; Deno's are numbers and the live
  // worker keeps the process up anyway until the timer ends it.
  (timer as unknown as { unref?: () => void }).unref?.();
}

/**
 * Turns a task source into what travels to a worker. Throws
 * `TaskSerializationError` for a function that cannot be sent.
 */
function describeSource(source: TaskSource, taskName: string): SourceDescriptor {
  if (isTaskReference(source)) {
    return { kind: "ref", url: source.url, exportName: source.exportName };
  }
  return {
    kind: "inline",
    code: functionSource(source as (...args: never[]) => unknown, taskName),
  };
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
export class ThreadPool implements Executor {
  /** Which backend this is. */
  readonly kind: "thread" = "thread";
  readonly #initializer: SourceDescriptor | null;
  readonly #initArgs: readonly unknown[];
  readonly #maxTasksPerWorker: number | undefined;
  readonly #idleTimeout: number | undefined;
  /** The most attempts a worker may hold (`maxInFlightPerWorker`). */
  readonly #maxWindow: number;
  /** Attempts a worker may hold now: enough to cover a few ms of work, within the bound. */
  #window: number;
  /** Moving average of how long one attempt occupies a worker, in ms. */
  #taskMs = initialTaskMs;
  readonly #killGrace: number;
  #maxWorkers: number;
  /** Live workers by slot index (a replacement takes the lowest free index). */
  readonly #slots: (PoolWorker | undefined)[] = [];
  #live = 0;
  /** Attempts waiting for room in some worker, oldest first. */
  #waiting: Call[] = [];
  #nextCall = 1;
  #flushQueued = false;
  readonly #toFlush = new Set<PoolWorker>();
  #closing = false;
  #goneWaiters: (() => void)[] = [];
  /** Source id by task function or reference object (the fast path). */
  readonly #sourceIdByObject = new WeakMap<object, number>();
  /** Source id by what it names (module and export, or function text). */
  readonly #sourceIdByKey = new Map<string, number>();
  /** Sources by id. */
  readonly #sources: SourceDescriptor[] = [];

  /**
   * Creates an idle pool; workers start when the first attempt needs one.
   * Options are expected to be checked already (`ThreadQueue` does it).
   */
  constructor(options: ThreadPoolOptions = {}) {
    const initializer = options.initializer;
    this.#initializer = initializer === undefined ? null : describeSource(
      initializer,
      isTaskReference(initializer) ? initializer.name : "initializer",
    );
    this.#initArgs = options.initArgs ?? [];
    this.#maxTasksPerWorker = options.maxTasksPerWorker;
    this.#idleTimeout = options.idleTimeout;
    this.#maxWindow = options.maxInFlightPerWorker ?? defaultMaxInFlightPerWorker;
    this.#window = windowFor(this.#taskMs, this.#maxWindow);
    this.#killGrace = options.killGrace ?? defaultKillGrace;
    this.#maxWorkers = this.autoWorkers();
  }

  /** Accepts functions and task references; a promise or anything else is a `TypeError`. */
  validateSource(source: unknown, action: string): void {
    // Whether a function can be sent is decided per task: one that cannot
    // fails that task with TaskSerializationError, as the original's
    // unpicklable callables did.
    checkCallableSource(source, action);
  }

  /** One worker per core: more threads than cores only adds switching. */
  autoWorkers(): number {
    return Math.max(1, Math.min(32, hardwareConcurrency()));
  }

  /**
   * Each worker holds a window of attempts: as many as cover
   * {@linkcode pipelineMs} of work (tiny tasks: up to `maxInFlightPerWorker`;
   * long ones: one), so the engine keeps the rest in priority order.
   */
  capacity(workers: number): number {
    return workers * this.#window;
  }

  /** Workers alive now. */
  liveWorkers(): number {
    return this.#live;
  }

  /** Sets how many workers may run; they start lazily, on demand. */
  start(workers: number): void {
    this.#maxWorkers = workers;
    this.#closing = false;
  }

  /** A finished run: workers that cannot be unref'd (Deno) are let go so the program may end. */
  stopped(): void {
    for (const worker of this.#slots) {
      if (worker === undefined || worker.calls.length > 0) continue;
      if (typeof (worker.worker as Referable).unref !== "function") this.#retire(worker);
    }
  }

  /** Runs one attempt on some worker. */
  execute(request: AttemptRequest): Promise<unknown> {
    if (request.aborted) return Promise.reject(request.abortReason);
    let sourceId: number;
    try {
      sourceId = this.#sourceIdOf(request);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextCall++;
    const flags = (request.bind ? RunFlags.bind : 0) | (isTimed(request) ? RunFlags.timed : 0);
    const run: PackedRun = request.bind
      ? [id, sourceId, request.args, flags, request.taskId, request.attempt, request.name]
      : [id, sourceId, request.args, flags];
    const call = new Call(id, request, sourceId, run);
    call.onAbort = () => this.#abandon(call);
    request.onAbort(call.onAbort);
    this.#dispatch(call);
    return call.promise;
  }

  /**
   * Stops every worker. Forced: now, settling whatever they held. Otherwise
   * after the attempts they still hold (only abandoned ones, which end or
   * are killed after `killGrace`).
   */
  close(force: boolean): Promise<void> {
    this.#closing = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const call of waiting) this.#settleGone(call, "the thread pool was closed");
    for (const worker of this.#slots) {
      if (worker === undefined) continue;
      worker.accepting = false;
      if (force || worker.calls.length === 0) this.#retire(worker, "the thread pool was closed");
    }
    if (this.#live === 0) {
      this.#closing = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#goneWaiters.push(resolve));
  }

  // ----------------------------------------------------------- dispatching

  /** The id of the attempt's source; the source is described once per function or reference. */
  #sourceIdOf(request: AttemptRequest): number {
    const source = request.source;
    let id = this.#sourceIdByObject.get(source);
    if (id !== undefined) return id;
    const descriptor = describeSource(source, request.name);
    const key = descriptor.kind === "ref"
      ? `ref\u0000${descriptor.url}\u0000${descriptor.exportName}`
      : descriptor.code;
    id = this.#sourceIdByKey.get(key);
    if (id === undefined) {
      id = this.#sources.length;
      this.#sources.push(descriptor);
      this.#sourceIdByKey.set(key, id);
    }
    this.#sourceIdByObject.set(source, id);
    return id;
  }

  #dispatch(call: Call): void {
    const worker = this.#pickWorker();
    if (worker === undefined) this.#waiting.push(call);
    else this.#assign(worker, call);
  }

  /** The least loaded worker; a new one while some slot is free and all are busy. */
  #pickWorker(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.#slots) {
      if (worker === undefined || !worker.accepting) continue;
      if (best === undefined || worker.calls.length < best.calls.length) best = worker;
    }
    if ((best === undefined || best.calls.length > 0) && this.#live < this.#maxWorkers) {
      return this.#spawn();
    }
    return best !== undefined && best.calls.length < this.#window ? best : undefined;
  }

  #assign(worker: PoolWorker, call: Call): void {
    call.worker = worker;
    call.request.worker = worker.index;
    worker.calls.push(call);
    worker.sent++;
    if (this.#maxTasksPerWorker !== undefined && worker.sent >= this.#maxTasksPerWorker) {
      worker.accepting = false;
    }
    if (!worker.knownSources.has(call.sourceId)) {
      worker.knownSources.add(call.sourceId);
      worker.outgoingSources.push([call.sourceId, this.#sources[call.sourceId]]);
    }
    worker.outgoing.push(call.run);
    const transfer = call.request.transfer;
    if (transfer !== undefined) { for (const item of transfer) worker.transfers.push(item); }
    // A worker that still has plenty to do gets new runs with its next
    // batch, sent when its next replies arrive: fewer, larger messages.
    const unanswered = worker.calls.length - worker.outgoing.length;
    if (unanswered < Math.max(1, this.#window >> 2)) this.#scheduleFlush(worker);
    if (!worker.busy) this.#setBusy(worker, true);
    if (worker.calls.length === 1) this.#headChanged(worker);
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

  #postRuns(worker: PoolWorker): void {
    const runs = worker.outgoing;
    if (runs.length === 0 || worker.dead) return;
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
        this.#removeCall(worker, call);
        this.#settle(
          call,
          false,
          new TaskSerializationError(
            `task '${call.request.name}' could not be sent to a worker: ${messageOf(error)}`,
            { cause: error },
          ),
        );
      }
    }
    this.#afterRemoval(worker);
  }

  /** Learns how long attempts occupy a worker, as the worker measured them. */
  #measure(busyMs: number, answered: number): void {
    if (answered === 0) return;
    this.#taskMs += (busyMs / answered - this.#taskMs) * 0.2;
    this.#window = windowFor(this.#taskMs, this.#maxWindow);
  }

  /** A worker's running attempt may have changed: start its clock, or its kill timer. */
  #headChanged(worker: PoolWorker): void {
    const head = worker.calls[0];
    if (worker.killCall !== undefined && worker.killCall !== head) this.#clearKillTimer(worker);
    if (head === undefined || !worker.ready) return;
    if (head.abandoned) this.#armKillTimer(worker, head);
    else {
      // Deferred like the next-attempt notice in #onReply: the engine first
      // sees the outcome that freed this head.
      const request = head.request;
      queueMicrotask(() => request.began());
    }
  }

  #removeCall(worker: PoolWorker, call: Call): void {
    const index = worker.calls.indexOf(call);
    if (index >= 0) worker.calls.splice(index, 1);
    call.worker = undefined;
  }

  /** After attempts left a worker: new head, idleness, and room for waiting attempts. */
  #afterRemoval(worker: PoolWorker): void {
    if (!worker.dead) {
      this.#headChanged(worker);
      if (worker.calls.length === 0) this.#becameIdle(worker);
    }
    this.#pumpWaiting();
  }

  #pumpWaiting(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#pickWorker();
      if (worker === undefined) return;
      this.#assign(worker, this.#waiting.shift()!);
    }
  }

  // ------------------------------------------------------------- outcomes

  #onMessage(worker: PoolWorker, message: WorkerMessage): void {
    if (worker.dead) return;
    switch (message.type) {
      case "replies":
        this.#measure(message.busyMs, message.replies.length);
        for (const reply of message.replies) this.#onReply(worker, reply);
        this.#afterRemoval(worker);
        if (worker.outgoing.length > 0) this.#scheduleFlush(worker);
        break;
      case "ready":
        worker.ready = true;
        // A failed initializer: the tasks sent here fail with its error
        // (the worker answers them so); new ones go to a fresh worker.
        if (message.error !== undefined) worker.accepting = false;
        this.#headChanged(worker);
        if (worker.calls.length === 0) this.#becameIdle(worker);
        break;
      case "abortSeen":
        worker.abortSeen = message.call;
        break;
      case "exiting":
        this.#onDeath(
          worker,
          `worker ${worker.index} exited: the task called ${message.via}` +
            (message.code === null ? "" : ` (exit code ${message.code})`),
          { exitCode: message.code },
        );
        break;
      case "fatal": {
        const error = deserializeThrown(message.error);
        this.#onDeath(
          worker,
          `worker ${worker.index} crashed: uncaught ${describeError(error)}`,
          { cause: error },
        );
        break;
      }
    }
  }

  #onReply(worker: PoolWorker, reply: Reply): void {
    const head = worker.calls[0];
    const id = reply[0];
    let call: Call | undefined;
    let next: Call | undefined;
    if (head !== undefined && head.id === id) {
      worker.calls.shift();
      call = head;
      // Replies come in batches: the next attempt started when this one ended.
      next = worker.calls[0];
    } else {
      const index = worker.calls.findIndex((candidate) => candidate.id === id);
      if (index < 0) return;
      call = worker.calls[index];
      worker.calls.splice(index, 1);
    }
    call.worker = undefined;
    switch (reply[1]) {
      case ReplyOutcome.ok:
        this.#settle(call, true, reply[2]);
        break;
      case ReplyOutcome.error:
        this.#settle(call, false, deserializeThrown(reply[2]));
        break;
      case ReplyOutcome.dropped:
        // Only abandoned attempts are dropped; should one not be, it never ran.
        if (call.abandoned) this.#settle(call, false, call.request.abortReason);
        else this.#waiting.unshift(call);
        break;
    }
    if (next !== undefined && !next.abandoned) {
      // Told after the engine has seen this outcome (its promise reaction is
      // queued first), so hooks and fail-first see one attempt end before the
      // next one begins.
      const request = next.request;
      queueMicrotask(() => request.began());
    }
  }

  #settle(call: Call, ok: boolean, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.onAbort !== undefined) {
      call.request.onAbort(undefined);
      call.onAbort = undefined;
    }
    // An abandoned attempt's outcome is ignored by the engine; it always
    // rejects with its abort reason, whatever the worker answered.
    if (call.abandoned) call.reject(call.request.abortReason);
    else if (ok) call.resolve(value);
    else call.reject(value);
  }

  /** Settles an attempt whose worker is gone (or that never reached one). */
  #settleGone(call: Call, why: string, worker?: PoolWorker): void {
    this.#settle(
      call,
      false,
      new WorkerCrashedError(`task '${call.request.name}' did not finish: ${why}`, {
        worker: worker?.index ?? null,
      }),
    );
  }

  /** The engine gave up on an attempt: stop it in the worker. */
  #abandon(call: Call): void {
    call.abandoned = true;
    call.onAbort = undefined;
    const worker = call.worker;
    if (worker === undefined) {
      const index = this.#waiting.indexOf(call);
      if (index >= 0) this.#waiting.splice(index, 1);
      this.#settle(call, false, call.request.abortReason);
      return;
    }
    if (worker.dead) return;
    // The abort must not overtake the run it cancels.
    if (worker.outgoing.length > 0) this.#postRuns(worker);
    try {
      worker.worker.postMessage(
        {
          type: "abort",
          call: call.id,
          reason: serializeThrown(call.request.abortReason, true),
        } satisfies MainMessage,
      );
    } catch {
      // The worker is going away; its death settles the attempt.
    }
    if (worker.calls[0] === call && worker.ready) this.#armKillTimer(worker, call);
  }

  // -------------------------------------------------------------- workers

  #spawn(): PoolWorker {
    let index = 0;
    while (this.#slots[index] !== undefined) index++;
    const worker = new PoolWorker(
      index,
      new Worker(workerEntry, { type: "module", name: `osiiso-worker-${index}` }),
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
      if (worker.dead) return;
      const detail = event.error instanceof Error
        ? describeError(event.error)
        : event.message || "an error";
      this.#onDeath(worker, `worker ${index} crashed: ${detail}`, {
        cause: event.error ?? event.message,
      });
    });
    native.addEventListener("messageerror", () => {
      if (worker.dead) return;
      // A reply that cannot be read leaves its attempt unanswered for good.
      this.#onDeath(worker, `worker ${index} sent a message that could not be deserialized`, {});
    });
    // Bun: a worker that ends itself (process.exit, say) is seen only here.
    native.addEventListener("close", (event: Event) => {
      if (worker.dead) return;
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
        initializer: this.#initializer,
        initArgs: this.#initArgs,
        replyBatch: Math.max(1, this.#maxWindow >> 1),
      } satisfies MainMessage,
    );
    return worker;
  }

  #setBusy(worker: PoolWorker, busy: boolean): void {
    worker.busy = busy;
    const native = worker.worker as Referable;
    if (busy) {
      native.ref?.();
      if (worker.idleTimer !== undefined) {
        clearTimeout(worker.idleTimer);
        worker.idleTimer = undefined;
        countTimer(-1);
      }
    } else {
      // An idle Bun worker must not keep a finished program alive.
      native.unref?.();
    }
  }

  #becameIdle(worker: PoolWorker): void {
    if (!worker.accepting) {
      this.#retire(worker);
      this.#pumpWaiting();
      return;
    }
    if (worker.busy) this.#setBusy(worker, false);
    if (this.#idleTimeout !== undefined && worker.idleTimer === undefined) {
      worker.idleTimer = setTimeout(() => {
        worker.idleTimer = undefined;
        countTimer(-1);
        if (worker.calls.length === 0) this.#retire(worker);
      }, this.#idleTimeout);
      countTimer(1);
      unrefTimer(worker.idleTimer);
    }
  }

  #armKillTimer(worker: PoolWorker, call: Call): void {
    if (worker.killCall === call) return;
    this.#clearKillTimer(worker);
    worker.killCall = call;
    worker.killTimer = setTimeout(() => {
      worker.killTimer = undefined;
      worker.killCall = undefined;
      countTimer(-1);
      if (worker.dead || worker.calls[0] !== call) return;
      // Deno's terminate() cannot stop a thread stuck in synchronous code:
      // `run(main)` is told, so that it can end the process when main is done.
      if (runtimeName === "deno" && worker.abortSeen !== call.id) {
        recordAbandoned(`ThreadQueue worker ${worker.index} running task '${call.request.name}'`);
      }
      this.#onDeath(
        worker,
        `worker ${worker.index} was terminated: task '${call.request.name}' ` +
          `did not stop within ${this.#killGrace}ms of its abort`,
        {},
      );
    }, this.#killGrace);
    countTimer(1);
  }

  #clearKillTimer(worker: PoolWorker): void {
    if (worker.killTimer === undefined) return;
    clearTimeout(worker.killTimer);
    worker.killTimer = undefined;
    worker.killCall = undefined;
    countTimer(-1);
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
    if (worker.dead) return;
    const calls = worker.calls.splice(0);
    this.#retire(worker);
    const running = calls.shift();
    if (running !== undefined) {
      running.worker = undefined;
      // Blamed even when the worker never became ready: a worker that dies
      // while starting up must not bounce its tasks around forever.
      if (!running.abandoned) {
        this.#settle(
          running,
          false,
          new WorkerCrashedError(why, { worker: worker.index, ...details }),
        );
      } else this.#settle(running, false, running.request.abortReason);
    }
    const redispatch: Call[] = [];
    for (const call of calls) {
      call.worker = undefined;
      if (call.abandoned) this.#settle(call, false, call.request.abortReason);
      else redispatch.push(call);
    }
    if (this.#closing) {
      for (const call of redispatch) this.#settleGone(call, why, worker);
    } else {
      this.#waiting.unshift(...redispatch);
      this.#pumpWaiting();
    }
  }

  /** Terminates a worker and forgets it; whatever it held must be settled by the caller. */
  #retire(worker: PoolWorker, why = ""): void {
    if (worker.dead) return;
    worker.dead = true;
    worker.accepting = false;
    this.#clearKillTimer(worker);
    if (worker.idleTimer !== undefined) {
      clearTimeout(worker.idleTimer);
      worker.idleTimer = undefined;
      countTimer(-1);
    }
    worker.worker.terminate();
    releaseResource(worker.token);
    this.#slots[worker.index] = undefined;
    this.#live--;
    this.#toFlush.delete(worker);
    worker.outgoing = [];
    worker.outgoingSources = [];
    worker.transfers = [];
    for (const call of worker.calls.splice(0)) {
      call.worker = undefined;
      this.#settleGone(call, why || `worker ${worker.index} was stopped`, worker);
    }
    if (this.#live === 0 && this.#closing) {
      this.#closing = false;
      const waiters = this.#goneWaiters.splice(0);
      for (const wake of waiters) wake();
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The persistent subprocess pool behind `ProcessQueue`, as an
 * {@linkcode Executor}: the engine decides when an attempt runs; this pool
 * decides on which child process, sends it there, and brings back its value
 * or error. Children are the same runtime as the parent, started on demand
 * (`src/runtime/spawn.ts`) and reused until the pool closes, `idleTimeout`
 * passes or `maxTasksPerWorker` recycles them.
 *
 * - **Pipelining.** Each child holds up to `maxInFlightPerWorker` attempts
 *   and runs them one at a time, in order, answering in batches; so the
 *   oldest unanswered attempt of a ready child is the one running, and that
 *   is when `began()` is called (its timeout counts from there). A child's
 *   window is refilled once it has drained to half, so attempts travel in
 *   batches even when replies come back one by one.
 * - **Stopping work.** When the engine gives up on an attempt it aborts the
 *   request's signal; the pool forwards the abort to the child (the task's
 *   own signal aborts, or a queued attempt is dropped unstarted). A running
 *   attempt that has not stopped after `killGrace` gets the child's whole
 *   process group killed (the child and everything it started); the other
 *   attempts that child held are re-dispatched, unstarted.
 * - **Crashes.** A child that ends without being asked (`Deno.exit()`,
 *   `process.exit()`, a signal, an uncaught error) fails the attempt it was
 *   running with `WorkerCrashedError` (`worker process died (exit code 13)`,
 *   the child's pid in `worker`) and re-dispatches the rest; its process
 *   group is killed too. No promise is left pending.
 * - **Lifetimes.** An idle child is unreferenced, so it never keeps a
 *   finished program alive; it learns of its parent's exit from EOF on its
 *   stdin and ends its group. When the parent exits normally, the pool also
 *   kills its children's groups synchronously. `close()` resolves only when
 *   every child has exited. Every child, timer and listener is registered in
 *   `src/core/resources.ts`.
 *
 * @module
 */

import type { AttemptRequest, Executor, TaskSource } from "../core/executor.ts";
import { TaskSerializationError, WorkerCrashedError } from "../core/errors.ts";
import { countTimer, releaseResource, trackResource } from "../core/resources.ts";
import { functionSource, isTaskReference } from "../core/task_source.ts";
import { checkCallableSource } from "./async_queue.ts";
import { unsendableReason } from "../runtime/codec.ts";
import {
  deserializeThrown,
  type PackedRun,
  type Reply,
  ReplyOutcome,
  RunFlags,
  type RunsMessage,
  serializeThrown,
  type SourceDescriptor,
  type WorkerMessage,
} from "../runtime/protocol.ts";
import {
  type ChildExit,
  type ChildPermissions,
  type ChildProcessHandle,
  onProcessExit,
  spawnChild,
  unrefTimer,
} from "../runtime/spawn.ts";

/**
 * The pool's own settings (the queue checks them; see `ProcessQueueOptions`).
 *
 * @example
 * ```ts
 * import type { ProcessPoolOptions } from "./process_pool.ts";
 * const options: ProcessPoolOptions = { maxInFlightPerWorker: 8, killGrace: 500 };
 * ```
 */
export interface ProcessPoolOptions {
  /** Run once in each child before its first task. */
  readonly initializer?: TaskSource | undefined;
  /** Arguments of the initializer. */
  readonly initArgs?: readonly unknown[];
  /** Replace a child after it has been sent this many attempts. */
  readonly maxTasksPerWorker?: number | undefined;
  /** Stop a child that has had nothing to do for this many ms. */
  readonly idleTimeout?: number | undefined;
  /** Attempts each child holds at once (the pipelining window). */
  readonly maxInFlightPerWorker?: number;
  /** How long an aborted attempt may run on before its child is killed, in ms. */
  readonly killGrace?: number;
  /** Variables added to the children's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The children's working directory. */
  readonly cwd?: string | undefined;
  /** Deno: the children's permissions (default: the parent's). */
  readonly permissions?: ChildPermissions | undefined;
  /** Starts a child; tests may substitute their own. Default: `spawnChild`. */
  readonly spawn?: typeof spawnChild;
}

/**
 * Default pipelining window (see the ProcessQueue benchmark in the issue note).
 *
 * @example
 * ```ts
 * import { defaultMaxInFlightPerWorker } from "./process_pool.ts";
 * console.log(defaultMaxInFlightPerWorker); // 32
 * ```
 */
export const defaultMaxInFlightPerWorker = 32;
/**
 * Default grace between an abort and killing the child, in ms.
 *
 * @example
 * ```ts
 * import { defaultKillGrace } from "./process_pool.ts";
 * console.log(defaultKillGrace); // 1000
 * ```
 */
export const defaultKillGrace = 1_000;

/** One attempt while the pool holds it. */
class Call {
  /** The child it was sent to; `undefined` while it waits in the pool. */
  child: PoolChild | undefined = undefined;
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

/** One child process and the attempts it holds. */
class PoolChild {
  /** Attempts sent and not answered, oldest first: the first one is running. */
  readonly calls: Call[] = [];
  /** Source ids this child has been sent the definition of. */
  readonly knownSources = new Set<number>();
  readonly pid: number;
  ready = false;
  /** `live`: in the pool; `stopping`: asked to go (or killed); `exited`. */
  state: "live" | "stopping" | "exited" = "live";
  /** False once it must take no more work (recycling, failed initializer, exiting). */
  accepting = true;
  sent = 0;
  /** Referenced: it holds attempts, so it keeps the parent alive. */
  busy = true;
  /** Taking attempts until its window is full again (see `#hasRoom`). */
  refilling = true;
  killTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  killCall: Call | undefined = undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  stopTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** What the child said about its own end (an exit call, an uncaught error). */
  note: string | undefined = undefined;
  cause: unknown = undefined;
  readonly token: number;

  constructor(readonly handle: ChildProcessHandle) {
    this.pid = handle.pid;
    this.token = trackResource("children", `ProcessQueue child ${handle.pid}`);
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
  return typeof cores === "number" && cores > 0 ? cores : 1;
}

/** What travels to a child for a task source; throws `TaskSerializationError` for an unsendable function. */
function describeSource(source: TaskSource, taskName: string): SourceDescriptor {
  if (isTaskReference(source)) {
    return { kind: "ref", url: source.url, exportName: source.exportName };
  }
  return {
    kind: "inline",
    code: functionSource(source as (...args: never[]) => unknown, taskName),
  };
}

function describeExit(exit: ChildExit): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? "unknown status" : `exit code ${exit.code}`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function startTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(() => {
    countTimer(-1);
    fn();
  }, ms);
  countTimer(1);
  return timer;
}

function stopTimer(timer: ReturnType<typeof setTimeout> | undefined): undefined {
  if (timer !== undefined) {
    clearTimeout(timer);
    countTimer(-1);
  }
  return undefined;
}

/**
 * A pool of child processes that runs attempts for one `ProcessQueue`.
 *
 * @example Drive the pool directly (what the engine does)
 * ```ts ignore
 * import { ProcessPool } from "./process_pool.ts";
 * const pool = new ProcessPool();
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
export class ProcessPool implements Executor {
  /** Which backend this is. */
  readonly kind: "process" = "process";
  readonly #initializer: SourceDescriptor | null;
  readonly #initArgs: readonly unknown[];
  readonly #maxTasksPerWorker: number | undefined;
  readonly #idleTimeout: number | undefined;
  readonly #window: number;
  readonly #killGrace: number;
  readonly #env: Readonly<Record<string, string>> | undefined;
  readonly #cwd: string | undefined;
  readonly #permissions: ChildPermissions | undefined;
  readonly #spawnChild: typeof spawnChild;
  #maxWorkers: number;
  /** Children that take work. */
  readonly #live = new Set<PoolChild>();
  /** Children asked to stop (or killed) that have not exited yet. */
  readonly #stopping = new Set<PoolChild>();
  /** Attempts waiting for room in some child, oldest first. */
  #waiting: Call[] = [];
  #nextCall = 1;
  #closing = false;
  #closeWaiters: (() => void)[] = [];
  #removeExitListener: (() => void) | undefined = undefined;
  #exitListenerToken = 0;
  /** Source ids by function or reference object, and by what they describe. */
  readonly #sourceIdByObject = new WeakMap<object, number>();
  readonly #sourceIdByKey = new Map<string, number>();
  readonly #sources: SourceDescriptor[] = [];

  /**
   * Creates an idle pool; children start when the first attempt needs one.
   * Options are expected to be checked already (`ProcessQueue` does it).
   */
  constructor(options: ProcessPoolOptions = {}) {
    const initializer = options.initializer;
    this.#initializer = initializer === undefined ? null : describeSource(
      initializer,
      isTaskReference(initializer) ? initializer.name : "initializer",
    );
    this.#initArgs = options.initArgs ?? [];
    this.#maxTasksPerWorker = options.maxTasksPerWorker;
    this.#idleTimeout = options.idleTimeout;
    this.#window = options.maxInFlightPerWorker ?? defaultMaxInFlightPerWorker;
    this.#killGrace = options.killGrace ?? defaultKillGrace;
    this.#env = options.env;
    this.#cwd = options.cwd;
    this.#permissions = options.permissions;
    this.#spawnChild = options.spawn ?? spawnChild;
    this.#maxWorkers = this.autoWorkers();
  }

  /** Accepts functions and task references; a promise or anything else is a `TypeError`. */
  validateSource(source: unknown, action: string): void {
    // Whether a function can be sent is decided per task: one that cannot
    // fails that task with TaskSerializationError, as the original's
    // unpicklable callables did.
    checkCallableSource(source, action);
  }

  /** One child per core, as the original (`max(1, min(32, cpus))`). */
  autoWorkers(): number {
    return Math.max(1, Math.min(32, hardwareConcurrency()));
  }

  /** Each child holds a window of attempts. */
  capacity(workers: number): number {
    return workers * this.#window;
  }

  /** Children alive and taking work now. */
  liveWorkers(): number {
    return this.#live.size;
  }

  /** Sets how many children may run; they start lazily, on demand. */
  start(workers: number): void {
    this.#maxWorkers = workers;
    this.#closing = false;
  }

  /** A finished run: idle children are already unreferenced; nothing to do. */
  stopped(): void {
    for (const child of this.#live) {
      if (child.calls.length === 0 && child.busy) this.#setBusy(child, false);
    }
  }

  /** Runs one attempt in some child. */
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
    if (!this.#place(call)) this.#waiting.push(call);
    return call.promise;
  }

  /**
   * Stops every child and resolves once all have exited. Forced: their
   * process groups are killed now, settling whatever they held. Otherwise
   * each child is asked to stop (EOF on its stdin) once it holds nothing,
   * and killed if it has not exited `killGrace` later.
   */
  close(force: boolean): Promise<void> {
    this.#closing = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const call of waiting) this.#settleGone(call, "the process pool was closed");
    for (const child of [...this.#live]) {
      child.accepting = false;
      if (force) this.#takeDown(child, "the process pool was closed", {}, true);
      else if (child.calls.length === 0) this.#retire(child);
    }
    if (force) {
      // Children already asked to stop go now too.
      for (const child of this.#stopping) child.handle.killGroup();
    }
    if (this.#live.size === 0 && this.#stopping.size === 0) {
      this.#closing = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  // ----------------------------------------------------------- dispatching

  /** The id of the attempt's source; each source is described once and sent once per child. */
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

  /**
   * Sends `call` to the least loaded child, starting a new one while some
   * slot is free and every child is busy. Returns false when there is no
   * room anywhere (the call must wait); true when it was sent or settled.
   */
  #place(call: Call): boolean {
    let best: PoolChild | undefined;
    let someIdle = false;
    for (const child of this.#live) {
      if (!child.accepting) continue;
      if (child.calls.length === 0) someIdle = true;
      if (!this.#hasRoom(child)) continue;
      if (best === undefined || child.calls.length < best.calls.length) best = child;
    }
    if (!someIdle && this.#live.size < this.#maxWorkers) {
      try {
        best = this.#spawn();
      } catch (error) {
        this.#settle(call, false, error);
        return true;
      }
    }
    if (best === undefined) return false;
    this.#assign(best, call);
    return true;
  }

  /**
   * Whether a child takes another attempt now. A full window is topped up
   * only once it has drained to half: replies often come one at a time, and
   * refilling one by one would cost a message (and a system call) per
   * attempt; refilling by halves sends them in batches.
   */
  #hasRoom(child: PoolChild): boolean {
    const count = child.calls.length;
    if (count >= this.#window) {
      child.refilling = false;
      return false;
    }
    if (count <= this.#window >> 1) child.refilling = true;
    return child.refilling;
  }

  #assign(child: PoolChild, call: Call): void {
    const sourceId = call.sourceId;
    const defined = child.knownSources.has(sourceId);
    // One message per attempt (the transport batches them), so an argument
    // that cannot cross fails its own attempt and nothing else.
    const message: RunsMessage = defined
      ? { type: "runs", runs: [call.run] }
      : { type: "runs", sources: [[sourceId, this.#sources[sourceId]]], runs: [call.run] };
    try {
      child.handle.send(message);
    } catch (error) {
      // Say where in the arguments the culprit is, not where in the message.
      const reason = unsendableReason(call.request.args, "args") ?? messageOf(error);
      this.#settle(
        call,
        false,
        new TaskSerializationError(
          `task '${call.request.name}' could not be sent to a child process: ${reason}`,
          { cause: error },
        ),
      );
      return;
    }
    if (!defined) child.knownSources.add(sourceId);
    call.child = child;
    call.request.worker = child.pid;
    child.calls.push(call);
    child.sent++;
    if (this.#maxTasksPerWorker !== undefined && child.sent >= this.#maxTasksPerWorker) {
      child.accepting = false;
    }
    if (!child.busy) this.#setBusy(child, true);
    if (child.calls.length === 1) this.#headChanged(child);
  }

  #pumpWaiting(): void {
    while (this.#waiting.length > 0 && !this.#closing) {
      if (!this.#place(this.#waiting[0])) return;
      this.#waiting.shift();
    }
  }

  /** A child's running attempt may have changed: start its clock, or its kill timer. */
  #headChanged(child: PoolChild): void {
    const head = child.calls[0];
    if (child.killCall !== undefined && child.killCall !== head) this.#clearKillTimer(child);
    if (head === undefined || !child.ready) return;
    if (head.abandoned) this.#armKillTimer(child, head);
    else {
      // Deferred like the next-attempt notice in #onReply: the engine first
      // sees the outcome that freed this head.
      const request = head.request;
      queueMicrotask(() => request.began());
    }
  }

  /** After attempts left a child: new head, idleness, and room for waiting attempts. */
  #afterRemoval(child: PoolChild): void {
    if (child.state === "live") {
      this.#headChanged(child);
      if (child.calls.length === 0) this.#becameIdle(child);
    }
    this.#pumpWaiting();
  }

  // ------------------------------------------------------------- outcomes

  #onMessage(child: PoolChild, message: WorkerMessage): void {
    if (child.state === "exited") return;
    switch (message.type) {
      case "replies":
        for (const reply of message.replies) this.#onReply(child, reply);
        this.#afterRemoval(child);
        break;
      case "ready":
        child.ready = true;
        // A failed initializer: the tasks sent here fail with its error (the
        // child answers them so); new ones go to a fresh child.
        if (message.error !== undefined) child.accepting = false;
        if (child.state === "live") {
          this.#headChanged(child);
          if (child.calls.length === 0) this.#becameIdle(child);
        }
        break;
      case "exiting":
        child.note = `the task called ${message.via}`;
        this.#expectExit(child);
        break;
      case "abortSeen":
        // The child is responsive; the kill grace still applies to the task.
        break;
      case "fatal": {
        const error = deserializeThrown(message.error);
        child.note = `uncaught ${describeError(error)}`;
        child.cause = error;
        this.#expectExit(child);
        break;
      }
    }
  }

  /** The child announced its end: it takes no more work, and is killed if it lingers. */
  #expectExit(child: PoolChild): void {
    child.accepting = false;
    if (child.stopTimer === undefined && child.state !== "exited") {
      child.stopTimer = startTimer(() => {
        child.stopTimer = undefined;
        child.handle.killGroup();
      }, this.#killGrace);
    }
  }

  #onReply(child: PoolChild, reply: Reply): void {
    const calls = child.calls;
    const head = calls[0];
    let call: Call | undefined;
    let next: Call | undefined;
    const callId = reply[0];
    if (head !== undefined && head.id === callId) {
      calls.shift();
      call = head;
      // Replies come in batches: the next attempt started when this one ended.
      next = calls[0];
    } else {
      const index = calls.findIndex((candidate) => candidate.id === callId);
      if (index < 0) return;
      call = calls[index];
      calls.splice(index, 1);
    }
    call.child = undefined;
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
    if (next !== undefined && !next.abandoned && child.ready) {
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
    // The engine ignores an abandoned attempt's outcome; it rejects with its
    // abort reason whatever the child answered.
    if (call.abandoned) call.reject(call.request.abortReason);
    else if (ok) call.resolve(value);
    else call.reject(value);
  }

  /** Settles an attempt whose child is gone (or that never reached one). */
  #settleGone(call: Call, why: string, child?: PoolChild): void {
    this.#settle(
      call,
      false,
      new WorkerCrashedError(`task '${call.request.name}' did not finish: ${why}`, {
        worker: child?.pid ?? null,
      }),
    );
  }

  /** The engine gave up on an attempt: stop it in its child. */
  #abandon(call: Call): void {
    call.abandoned = true;
    call.onAbort = undefined;
    const child = call.child;
    if (child === undefined) {
      const index = this.#waiting.indexOf(call);
      if (index >= 0) this.#waiting.splice(index, 1);
      this.#settle(call, false, call.request.abortReason);
      return;
    }
    if (child.state !== "live") return;
    try {
      child.handle.send({
        type: "abort",
        call: call.id,
        reason: serializeThrown(call.request.abortReason, true),
      });
    } catch {
      // The child is going away; its end settles the attempt.
    }
    if (child.calls[0] === call && child.ready) this.#armKillTimer(child, call);
  }

  // -------------------------------------------------------------- children

  #spawn(): PoolChild {
    // The callbacks need the child, which needs the handle; they fire only later.
    const made: { child?: PoolChild } = {};
    const handle = this.#spawnChild({
      env: this.#env,
      cwd: this.#cwd,
      permissions: this.#permissions,
      onMessage: (message) => {
        if (made.child !== undefined) this.#onMessage(made.child, message);
      },
      onProtocolError: (error) => {
        const child = made.child;
        if (child === undefined || child.state !== "live") return;
        // A message that cannot be read leaves its attempt unanswered for good.
        child.note = `it sent an unreadable message (${messageOf(error)})`;
        child.cause = error;
        this.#takeDown(child, `worker process ${child.pid} was killed: ${child.note}`, {
          cause: error,
        }, true);
      },
    });
    const spawned = new PoolChild(handle);
    made.child = spawned;
    this.#live.add(spawned);
    this.#watchProcessExit();
    handle.exited.then((exit) => this.#onExit(spawned, exit));
    handle.send({
      type: "init",
      worker: spawned.pid,
      initializer: this.#initializer,
      initArgs: this.#initArgs,
      replyBatch: Math.max(1, this.#window >> 1),
    });
    return spawned;
  }

  #setBusy(child: PoolChild, busy: boolean): void {
    child.busy = busy;
    if (busy) {
      child.handle.ref();
      child.idleTimer = stopTimer(child.idleTimer);
    } else {
      // An idle child must not keep a finished program alive.
      child.handle.unref();
    }
  }

  #becameIdle(child: PoolChild): void {
    if (!child.accepting || this.#closing) {
      this.#retire(child);
      this.#pumpWaiting();
      return;
    }
    if (child.busy) this.#setBusy(child, false);
    if (this.#idleTimeout !== undefined && child.idleTimer === undefined) {
      child.idleTimer = startTimer(() => {
        child.idleTimer = undefined;
        if (child.state === "live" && child.calls.length === 0) this.#retire(child);
      }, this.#idleTimeout);
      unrefTimer(child.idleTimer);
    }
  }

  #armKillTimer(child: PoolChild, call: Call): void {
    if (child.killCall === call) return;
    this.#clearKillTimer(child);
    child.killCall = call;
    child.killTimer = startTimer(() => {
      child.killTimer = undefined;
      child.killCall = undefined;
      if (child.state !== "live" || child.calls[0] !== call) return;
      this.#takeDown(
        child,
        `worker process ${child.pid} was killed: task '${call.request.name}' ` +
          `did not stop within ${this.#killGrace}ms of its abort`,
        {},
        true,
      );
    }, this.#killGrace);
  }

  #clearKillTimer(child: PoolChild): void {
    child.killTimer = stopTimer(child.killTimer);
    child.killCall = undefined;
  }

  /** Asks an idle (or closing) child to stop: EOF on its stdin; killed if it lingers. */
  #retire(child: PoolChild): void {
    if (child.state !== "live") return;
    this.#leave(child);
    child.handle.closeInput();
    child.stopTimer ??= startTimer(() => {
      child.stopTimer = undefined;
      child.handle.killGroup();
    }, this.#killGrace);
    for (const call of child.calls.splice(0)) {
      call.child = undefined;
      this.#settleGone(call, `worker process ${child.pid} was stopped`, child);
    }
  }

  /**
   * A child died, or must: with `kill`, its process group is killed now. The
   * attempt it was running fails with `WorkerCrashedError` (unless the engine
   * already gave up on it); the attempts queued behind it go to other
   * children, unstarted.
   */
  #takeDown(
    child: PoolChild,
    why: string,
    details: { exitCode?: number | null; signal?: string | null; cause?: unknown },
    kill: boolean,
  ): void {
    if (child.state === "live") this.#leave(child);
    if (kill) child.handle.killGroup();
    const calls = child.calls.splice(0);
    const running = calls.shift();
    if (running !== undefined) {
      running.child = undefined;
      // Blamed even when the child never became ready: a child that dies
      // while starting up must not bounce its attempts around forever.
      this.#settle(
        running,
        false,
        new WorkerCrashedError(why, { worker: child.pid, ...details }),
      );
    }
    const redispatch: Call[] = [];
    for (const call of calls) {
      call.child = undefined;
      if (call.abandoned) this.#settle(call, false, call.request.abortReason);
      else redispatch.push(call);
    }
    if (this.#closing) {
      for (const call of redispatch) this.#settleGone(call, why, child);
    } else {
      this.#waiting.unshift(...redispatch);
      this.#pumpWaiting();
    }
  }

  /** Takes a child out of the pool (it keeps running until it exits). */
  #leave(child: PoolChild): void {
    // Referenced while it goes (a few ms), so that a pending `close()`, which
    // waits for its exit, keeps the program up.
    child.handle.ref();
    child.busy = true;
    child.state = "stopping";
    child.accepting = false;
    this.#live.delete(child);
    this.#stopping.add(child);
    this.#clearKillTimer(child);
    child.idleTimer = stopTimer(child.idleTimer);
  }

  #onExit(child: PoolChild, exit: ChildExit): void {
    if (child.state === "live") {
      // Nobody asked it to go: a crash. Whatever it started goes with it.
      this.#takeDown(
        child,
        `worker process died (${describeExit(exit)})` +
          (child.note === undefined ? "" : `: ${child.note}`),
        {
          exitCode: exit.code,
          signal: exit.signal,
          ...(child.cause === undefined ? {} : { cause: child.cause }),
        },
        true,
      );
    }
    child.state = "exited";
    child.stopTimer = stopTimer(child.stopTimer);
    this.#stopping.delete(child);
    // A killed child's pipes must not keep the parent alive.
    child.handle.unref();
    releaseResource(child.token);
    for (const call of child.calls.splice(0)) {
      call.child = undefined;
      this.#settleGone(call, `worker process died (${describeExit(exit)})`, child);
    }
    if (this.#live.size === 0 && this.#stopping.size === 0) {
      this.#unwatchProcessExit();
      if (this.#closing) {
        this.#closing = false;
        for (const wake of this.#closeWaiters.splice(0)) wake();
      }
    }
    this.#pumpWaiting();
  }

  /** While children exist, a normal exit of this process kills their groups. */
  #watchProcessExit(): void {
    if (this.#removeExitListener !== undefined) return;
    this.#removeExitListener = onProcessExit(() => {
      for (const child of this.#live) child.handle.killGroup();
      for (const child of this.#stopping) child.handle.killGroup();
    });
    this.#exitListenerToken = trackResource("listeners", "ProcessQueue process-exit listener");
  }

  #unwatchProcessExit(): void {
    if (this.#removeExitListener === undefined) return;
    this.#removeExitListener();
    this.#removeExitListener = undefined;
    releaseResource(this.#exitListenerToken);
  }
}

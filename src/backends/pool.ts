/**
 * The pipelined pool shared by `ThreadPool` (Web Workers) and `ProcessPool`
 * (child processes), as an {@linkcode Executor}: the engine decides when an
 * attempt runs; the pool decides on which slot (one worker or one child),
 * sends it there, and brings back its value or error. A subclass adds only
 * the transport: how a slot is spawned, how messages are posted to it, how
 * it is retired (asked to stop) and how it is killed.
 *
 * - **Pipelining.** Each slot holds a window of attempts and runs them one
 *   at a time, in order, answering in batches; so the oldest unanswered
 *   attempt of a ready slot is the one running, and that is when `began()`
 *   is called (its timeout counts from there).
 * - **Stopping work.** When the engine gives up on an attempt the pool
 *   forwards the abort to the slot (the task's own signal aborts, or a
 *   queued attempt is dropped unstarted). A running attempt that has not
 *   stopped after `killGrace` gets its slot killed; the other attempts it
 *   held are re-dispatched, unstarted.
 * - **Crashes.** A slot that ends without being asked fails the attempt it
 *   was running with `WorkerCrashedError` and re-dispatches the rest. No
 *   promise is left pending.
 *
 * @module
 */

import {
  type AttemptRequest,
  type Executor,
  REPORTED_LATER,
  type TaskSource,
} from "../core/executor.ts";
import { WorkerCrashedError } from "../core/errors.ts";
import { countTimer } from "../core/resources.ts";
import { isTaskReference } from "../core/task_reference.ts";
import {
  type InitMessage,
  type MainMessage,
  type PackedRun,
  type Reply,
  ReplyOutcome,
  RunFlags,
  type SourceDescriptor,
  type WorkerMessage,
} from "../runtime/protocol.ts";
import { deserializeThrown, type SerializedThrown, serializeThrown } from "../core/error_codec.ts";
import { unrefTimer } from "../runtime/process_control.ts";
import { checkCallableSource } from "./callable_source.ts";
import { functionSource } from "./function_source.ts";
import { defaultKillGrace, defaultMaxInFlightPerWorker, type PoolOptions } from "./pool_options.ts";

/**
 * How much work, in ms, a slot's window should hold: enough that the round
 * trip to refill it is hidden, little enough that a task submitted later
 * with a higher priority does not wait behind many committed ones, and that
 * an idle slot is not left watching another's backlog.
 */
const pipelineMs = 2;

/**
 * How many attempts each slot may hold at once (the pipelining window): as
 * many as cover about {@linkcode pipelineMs} of work, by a moving average of
 * how long attempts occupy a slot (as the slots report it), and at most
 * `maxInFlightPerWorker`. It starts at one: nothing is committed ahead of a
 * later higher-priority task until tasks are known to be short, and the
 * window then grows within a few batches.
 */
class AdaptiveWindow {
  /** The bound (`maxInFlightPerWorker`). */
  readonly max: number;
  /** Attempts a slot may hold now. */
  size: number;
  private taskMs = pipelineMs;

  /** A window of one that may grow to `max`. */
  constructor(max: number) {
    this.max = max;
    this.size = this.sizeFor(this.taskMs);
  }

  /** Learns from a batch of replies: `answered` attempts kept a slot busy `busyMs`. */
  measure(busyMs: number, answered: number): void {
    if (answered === 0) return;
    this.taskMs += (busyMs / answered - this.taskMs) * 0.2;
    this.size = this.sizeFor(this.taskMs);
  }

  private sizeFor(taskMs: number): number {
    return Math.max(1, Math.min(this.max, Math.round(pipelineMs / Math.max(taskMs, 0.001))));
  }
}

/** What a slot's end is reported with, besides the message (`WorkerCrashedError`'s fields). */
export interface CrashDetails {
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly cause?: unknown;
}

/** One attempt while a pool holds it: where it is and, once known, its outcome. */
export class PoolCall {
  /** The slot it was sent to; `undefined` while it waits in the pool. */
  slot: PoolSlot | undefined = undefined;
  /** The engine gave up on it: its outcome no longer matters. */
  abandoned = false;
  /** Its outcome is known (and queued for the engine). */
  settled = false;
  /** The outcome: succeeded (with `value`) or failed (with `value` as the error). */
  ok = false;
  /** The value, or the error. */
  value: unknown = undefined;
  /** The listener registered with the request's `onAbort`. */
  onAbort: (() => void) | undefined = undefined;

  /** Wraps one attempt; `run` is what travels to the slot. */
  constructor(
    readonly id: number,
    readonly request: AttemptRequest,
    readonly sourceId: number,
    readonly run: PackedRun,
  ) {}
}

/** One slot (a worker or a child) and the attempts it holds; a pool's transport extends it. */
export abstract class PoolSlot {
  /** Attempts sent and not answered, oldest first: the first one is running. */
  readonly calls: PoolCall[] = [];
  /** Source ids this slot has been sent the definition of. */
  readonly knownSources: Set<number> = new Set<number>();
  /** It has run its initializer. */
  ready = false;
  /** `live`: in the pool; `stopping`: asked to go (or killed); `ended`. */
  state: "live" | "stopping" | "ended" = "live";
  /** False once it must take no more work (recycling, failed initializer, closing). */
  accepting = true;
  /** Attempts sent to it so far. */
  sent = 0;
  /** The running attempt's kill timer, and that attempt. */
  killTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  killCall: PoolCall | undefined = undefined;
  /** The call whose abort the slot acknowledged: it was not stuck in synchronous code. */
  abortSeen = -1;
  /** Retires the slot after `idleTimeout`. */
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** `busy`: referenced, as it holds attempts and keeps the program alive. */
  constructor(public busy: boolean) {}

  /** What `AttemptRequest.worker` and `WorkerCrashedError.worker` say: an index or a pid. */
  abstract readonly id: number;
  /** Keeps the program alive while the slot is. */
  abstract ref(): void;
  /** Lets the program end although the slot is alive. */
  abstract unref(): void;
}

/** Whether the attempt has a per-task timeout (assumed when the engine does not say). */
function isTimed(request: AttemptRequest): boolean {
  if (!("timeout" in request)) return true;
  const timeout = (request as { readonly timeout?: number | null }).timeout;
  return timeout !== undefined && timeout !== null;
}

/** The runtime's core count, or `fallback` when it does not say. */
function hardwareConcurrency(fallback: number): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof cores === "number" && cores > 0 ? cores : fallback;
}

/**
 * What travels to a slot for a task source; throws `TaskSerializationError`
 * for a function that cannot be sent.
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

/** The name and message of an error, or the value as text, for crash messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Starts a timer counted in `src/core/resources.ts`, so the leak checks see it. */
export function startTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(() => {
    countTimer(-1);
    fn();
  }, ms);
  countTimer(1);
  return timer;
}

/** Stops a timer from {@linkcode startTimer}, if any; returns `undefined` to clear the field. */
export function stopTimer(timer: ReturnType<typeof setTimeout> | undefined): undefined {
  if (timer !== undefined) {
    clearTimeout(timer);
    countTimer(-1);
  }
  return undefined;
}

/**
 * A pool of slots (workers or children) that runs attempts for one queue,
 * pipelining a window of attempts into each slot. A subclass supplies the
 * transport: `liveWorkers`, `place`, `bootSlot`, `post`, `retire`,
 * `killStuck`, `closeSlots`, `slotsLeft` and `ending`.
 */
export abstract class PipelinedPool<S extends PoolSlot> implements Executor {
  /** Which backend this is. */
  abstract readonly kind: "thread" | "process";
  /** The initializer as it travels to a slot. */
  protected readonly initializer: SourceDescriptor | null;
  /** Its arguments. */
  protected readonly initArgs: readonly unknown[];
  /** `maxTasksPerWorker`. */
  protected readonly maxTasksPerWorker: number | undefined;
  /** `idleTimeout`. */
  protected readonly idleTimeout: number | undefined;
  /** `killGrace`. */
  protected readonly killGrace: number;
  /** Attempts a slot may hold now: enough to cover a few ms of work, within the bound. */
  protected readonly window: AdaptiveWindow;
  /** How many slots may run. */
  protected maxSlots: number;
  /** Attempts waiting for room in some slot, oldest first. */
  protected waiting: PoolCall[] = [];
  /** `close()` was called and has not finished. */
  protected closing = false;
  /** Sources by id. */
  protected readonly sources: SourceDescriptor[] = [];
  private readonly fallbackCores: number;
  private nextCall = 1;
  private closeWaiters: (() => void)[] = [];
  /**
   * Outcomes and starts for the engine, in the order they happened, handed
   * over in one microtask per batch: a settled call (its outcome) or a
   * request whose attempt started.
   */
  private events: (PoolCall | AttemptRequest)[] = [];
  private eventsQueued = false;
  /** Source id by task function or reference object (the fast path). */
  private readonly sourceIdByObject = new WeakMap<object, number>();
  /** Source id by what it names (module and export, or function text). */
  private readonly sourceIdByKey = new Map<string, number>();

  /**
   * Creates an idle pool; slots start when the first attempt needs one.
   * Options are expected to be checked already (the queue does it).
   * `fallbackCores` is the core count assumed when the runtime does not say.
   */
  constructor(options: PoolOptions, fallbackCores: number) {
    const initializer = options.initializer;
    this.initializer = initializer === undefined ? null : describeSource(
      initializer,
      isTaskReference(initializer) ? initializer.name : "initializer",
    );
    this.initArgs = options.initArgs ?? [];
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? undefined;
    this.idleTimeout = options.idleTimeout ?? undefined;
    this.killGrace = options.killGrace ?? defaultKillGrace;
    this.window = new AdaptiveWindow(options.maxInFlightPerWorker ?? defaultMaxInFlightPerWorker);
    this.fallbackCores = fallbackCores;
    this.maxSlots = this.autoWorkers();
  }

  /** Slots alive and taking work now. */
  abstract liveWorkers(): number;
  /**
   * Sends `call` to some slot, starting one if needed. Returns false when
   * there is no room anywhere (the call must wait); true when it was sent or settled.
   */
  protected abstract place(call: PoolCall): boolean;
  /** Starts one slot ahead of work; it must not keep a finished program alive once idle. */
  protected abstract bootSlot(): void;
  /** Sends a message to a slot; may throw when it cannot go. */
  protected abstract post(slot: S, message: MainMessage): void;
  /** Stops an idle (or closing) slot; whatever it held is settled. */
  protected abstract retire(slot: S): void;
  /** Kills a slot whose running attempt did not stop within `killGrace` of its abort. */
  protected abstract killStuck(slot: S, call: PoolCall): void;
  /** Stops every slot for `close()` (each is already not accepting). */
  protected abstract closeSlots(force: boolean): void;
  /** Slots that have not ended yet, counting those asked to stop. */
  protected abstract slotsLeft(): number;
  /**
   * The slot said it is ending, `how` and why (`note`): a task called an
   * exit function, or an error escaped outside any task.
   */
  protected abstract ending(
    slot: S,
    how: "exited" | "crashed",
    note: string,
    details: CrashDetails,
  ): void;

  /**
   * Each slot holds a window of attempts: as many as cover `pipelineMs` of
   * work (tiny tasks: up to `maxInFlightPerWorker`; long ones: one, so an
   * idle slot is not left watching another's backlog); the engine keeps the
   * rest in priority order.
   */
  capacity(workers: number): number {
    return workers * this.window.size;
  }

  /**
   * Accepts task references and functions that can be sent as source; a
   * promise or anything else is a `TypeError`, and a function that uses a
   * variable from its surroundings (or is native, bound, a class or a
   * generator) a `TaskSerializationError` naming it, thrown by the submit
   * call rather than when the task would run.
   */
  validateSource(source: unknown, action: string): void {
    checkCallableSource(source, action);
    // Cached per function and per source text: a lookup on later submissions.
    if (typeof source === "function") functionSource(source as (...args: never[]) => unknown);
  }

  /** One slot per core: `max(1, min(32, cpus))`. */
  autoWorkers(): number {
    return Math.max(1, Math.min(32, hardwareConcurrency(this.fallbackCores)));
  }

  /**
   * Sets how many slots may run, and boots one at once while the caller is
   * still submitting: a slot takes milliseconds to start (tens on Deno), and
   * the first result then comes that much sooner. The others start on
   * demand. A slot that cannot be started now is reported by the first
   * attempt that needs one.
   */
  start(workers: number): void {
    this.maxSlots = workers;
    this.closing = false;
    if (workers < 1 || this.liveWorkers() > 0) return;
    try {
      this.bootSlot();
    } catch {
      // The first attempt that needs a slot fails with the reason.
    }
  }

  /** Runs one attempt in some slot. */
  execute(request: AttemptRequest): Promise<unknown> | typeof REPORTED_LATER {
    if (request.aborted) return Promise.reject(request.abortReason);
    let sourceId: number;
    try {
      sourceId = this.sourceIdOf(request);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.nextCall++;
    const flags = (request.bind ? RunFlags.bind : 0) | (isTimed(request) ? RunFlags.timed : 0);
    const run: PackedRun = request.bind
      ? [id, sourceId, request.args, flags, request.taskId, request.attempt, request.name]
      : [id, sourceId, request.args, flags];
    const call = new PoolCall(id, request, sourceId, run);
    call.onAbort = () => this.abandon(call);
    request.onAbort(call.onAbort);
    if (!this.place(call)) this.waiting.push(call);
    return REPORTED_LATER;
  }

  /** Queues an outcome or a start for the engine (never told synchronously: see `report`). */
  private tell(event: PoolCall | AttemptRequest): void {
    this.events.push(event);
    if (!this.eventsQueued) {
      this.eventsQueued = true;
      queueMicrotask(this.deliver);
    }
  }

  private readonly deliver = (): void => {
    this.eventsQueued = false;
    const events = this.events;
    this.events = [];
    let failure: { error: unknown } | undefined;
    for (let index = 0; index < events.length; index++) {
      const event = events[index];
      try {
        if (event instanceof PoolCall) event.request.report(event.ok, event.value);
        else event.began();
      } catch (error) {
        // The engine does not throw here; should it, the other events still go.
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  };

  /**
   * Stops every slot and resolves once all have ended. Forced: now, settling
   * whatever they held. Otherwise after the attempts they still hold (only
   * abandoned ones, which end or are killed after `killGrace`).
   */
  close(force: boolean): Promise<void> {
    this.closing = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const call of waiting) this.settleEnded(call, `the ${this.kind} pool was closed`);
    this.closeSlots(force);
    if (this.slotsLeft() === 0) {
      this.closing = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** The last slot has ended: a pending `close()` is done. */
  protected allEnded(): void {
    if (!this.closing) return;
    this.closing = false;
    for (const wake of this.closeWaiters.splice(0)) wake();
  }

  // ----------------------------------------------------------- dispatching

  /** The id of the attempt's source; each source is described once and sent once per slot. */
  private sourceIdOf(request: AttemptRequest): number {
    const source = request.source;
    let id = this.sourceIdByObject.get(source);
    if (id !== undefined) return id;
    const descriptor = describeSource(source, request.name);
    const key = descriptor.kind === "ref"
      ? `ref\u0000${descriptor.url}\u0000${descriptor.exportName}`
      : descriptor.code;
    id = this.sourceIdByKey.get(key);
    if (id === undefined) {
      id = this.sources.length;
      this.sources.push(descriptor);
      this.sourceIdByKey.set(key, id);
    }
    this.sourceIdByObject.set(source, id);
    return id;
  }

  /** Records that `call` went to `slot`, and whether the slot is due for recycling. */
  protected assigned(slot: S, call: PoolCall): void {
    call.slot = slot;
    call.request.worker = slot.id;
    slot.calls.push(call);
    slot.sent++;
    if (this.maxTasksPerWorker !== undefined && slot.sent >= this.maxTasksPerWorker) {
      slot.accepting = false;
    }
  }

  /** After {@linkcode PipelinedPool.assigned} and the send: reference the slot, start the clock. */
  protected holding(slot: S): void {
    if (!slot.busy) this.setBusy(slot, true);
    if (slot.calls.length === 1) this.headChanged(slot);
  }

  /** Dispatches waiting attempts while some slot has room. */
  protected pumpWaiting(): void {
    while (this.waiting.length > 0 && !this.closing) {
      if (!this.place(this.waiting[0])) return;
      this.waiting.shift();
    }
  }

  /** A slot's running attempt may have changed: start its clock, or its kill timer. */
  protected headChanged(slot: S): void {
    const head = slot.calls[0];
    if (slot.killCall !== undefined && slot.killCall !== head) this.clearKillTimer(slot);
    if (head === undefined || !slot.ready) return;
    if (head.abandoned) this.armKillTimer(slot, head);
    else {
      // Deferred like the next-attempt notice in onReply: the engine first
      // sees the outcome that freed this head.
      this.tell(head.request);
    }
  }

  /** After attempts left a slot: new head, idleness, and room for waiting attempts. */
  protected afterRemoval(slot: S): void {
    if (slot.state === "live") {
      this.headChanged(slot);
      if (slot.calls.length === 0) this.becameIdle(slot);
    }
    this.pumpWaiting();
  }

  // ------------------------------------------------------------- outcomes

  /** What a new slot is sent first: it runs the initializer, then takes runs. */
  protected initMessage(slotId: number): InitMessage {
    return {
      type: "init",
      worker: slotId,
      initializer: this.initializer,
      initArgs: this.initArgs,
      replyBatch: Math.max(1, this.window.max >> 1),
    };
  }

  /** A message arrived from a slot. */
  protected receive(slot: S, message: WorkerMessage): void {
    if (slot.state === "ended") return;
    switch (message.type) {
      case "replies":
        this.window.measure(message.busyMs, message.replies.length);
        this.receiveReplies(slot, message.replies);
        break;
      case "ready":
        this.receiveReady(slot, message.error);
        break;
      case "abortSeen":
        slot.abortSeen = message.call;
        break;
      case "exiting":
        this.ending(slot, "exited", `the task called ${message.via}`, { exitCode: message.code });
        break;
      case "fatal": {
        const error = deserializeThrown(message.error);
        this.ending(slot, "crashed", `uncaught ${describeError(error)}`, { cause: error });
        break;
      }
    }
  }

  /** A batch of replies arrived from a slot. */
  protected receiveReplies(slot: S, replies: readonly Reply[]): void {
    for (const reply of replies) this.onReply(slot, reply);
    this.afterRemoval(slot);
  }

  /** A slot ran its initializer (`error`: it failed). */
  private receiveReady(slot: S, error: SerializedThrown | undefined): void {
    slot.ready = true;
    // A failed initializer: the tasks sent here fail with its error (the
    // slot answers them so); new ones go to a fresh slot.
    if (error !== undefined) slot.accepting = false;
    if (slot.state === "live") {
      this.headChanged(slot);
      if (slot.calls.length === 0) this.becameIdle(slot);
    }
  }

  private onReply(slot: S, reply: Reply): void {
    const calls = slot.calls;
    const head = calls[0];
    let call: PoolCall | undefined;
    let next: PoolCall | undefined;
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
    call.slot = undefined;
    switch (reply[1]) {
      case ReplyOutcome.ok:
        this.settle(call, true, reply[2]);
        break;
      case ReplyOutcome.error:
        this.settle(call, false, deserializeThrown(reply[2]));
        break;
      case ReplyOutcome.dropped:
        // Only abandoned attempts are dropped; should one not be, it never ran.
        if (call.abandoned) this.settle(call, false, call.request.abortReason);
        else this.waiting.unshift(call);
        break;
    }
    if (next !== undefined && !next.abandoned && slot.ready) {
      // Told after the engine has seen this outcome (queued first), so hooks
      // and fail-first see one attempt end before the next one begins.
      this.tell(next.request);
    }
  }

  /** Settles an attempt's promise once. */
  protected settle(call: PoolCall, ok: boolean, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.onAbort !== undefined) {
      call.request.onAbort(undefined);
      call.onAbort = undefined;
    }
    // The engine ignores an abandoned attempt's outcome; it fails with its
    // abort reason whatever the slot answered.
    call.ok = ok && !call.abandoned;
    call.value = call.abandoned ? call.request.abortReason : value;
    this.tell(call);
  }

  /** Settles an attempt whose slot has ended (or that never reached one). */
  protected settleEnded(call: PoolCall, why: string, slot?: S): void {
    this.settle(
      call,
      false,
      new WorkerCrashedError(`task '${call.request.name}' did not finish: ${why}`, {
        worker: slot?.id ?? null,
      }),
    );
  }

  /**
   * A slot ended, or must, and gave up `calls`: the attempt it was running
   * fails with `WorkerCrashedError` (unless the engine already gave up on
   * it); the attempts queued behind it go to other slots, unstarted.
   */
  protected failHeld(slot: S, calls: PoolCall[], why: string, details: CrashDetails): void {
    const running = calls.shift();
    if (running !== undefined) {
      running.slot = undefined;
      // Blamed even when the slot never became ready: a slot that dies
      // while starting up must not bounce its attempts around forever.
      this.settle(running, false, new WorkerCrashedError(why, { worker: slot.id, ...details }));
    }
    const redispatch: PoolCall[] = [];
    for (const call of calls) {
      call.slot = undefined;
      if (call.abandoned) this.settle(call, false, call.request.abortReason);
      else redispatch.push(call);
    }
    if (this.closing) {
      for (const call of redispatch) this.settleEnded(call, why, slot);
    } else {
      this.waiting.unshift(...redispatch);
      this.pumpWaiting();
    }
  }

  /** Settles everything a slot that has ended still holds. */
  protected settleHeld(slot: S, why: string): void {
    for (const call of slot.calls.splice(0)) {
      call.slot = undefined;
      this.settleEnded(call, why, slot);
    }
  }

  /** Sends runs a slot has been assigned but not yet sent (batching pools). */
  protected flush(_slot: S): void {}

  /** The engine gave up on an attempt: stop it in its slot. */
  private abandon(call: PoolCall): void {
    call.abandoned = true;
    call.onAbort = undefined;
    const slot = call.slot as S | undefined;
    if (slot === undefined) {
      const index = this.waiting.indexOf(call);
      if (index >= 0) this.waiting.splice(index, 1);
      this.settle(call, false, call.request.abortReason);
      return;
    }
    if (slot.state !== "live") return;
    // The abort must not overtake the run it cancels.
    this.flush(slot);
    try {
      this.post(slot, {
        type: "abort",
        call: call.id,
        reason: serializeThrown(call.request.abortReason, true),
      });
    } catch {
      // The slot is going away; its end settles the attempt.
    }
    if (slot.calls[0] === call && slot.ready) this.armKillTimer(slot, call);
  }

  // ------------------------------------------------------------- lifetimes

  /** A slot that holds attempts is referenced; an idle one must not keep a finished program alive. */
  protected setBusy(slot: S, busy: boolean): void {
    slot.busy = busy;
    if (busy) {
      slot.ref();
      slot.idleTimer = stopTimer(slot.idleTimer);
    } else slot.unref();
  }

  private becameIdle(slot: S): void {
    if (!slot.accepting || this.closing) {
      this.retire(slot);
      this.pumpWaiting();
      return;
    }
    if (slot.busy) this.setBusy(slot, false);
    if (this.idleTimeout !== undefined && slot.idleTimer === undefined) {
      slot.idleTimer = startTimer(() => {
        slot.idleTimer = undefined;
        if (slot.state === "live" && slot.calls.length === 0) this.retire(slot);
      }, this.idleTimeout);
      unrefTimer(slot.idleTimer);
    }
  }

  private armKillTimer(slot: S, call: PoolCall): void {
    if (slot.killCall === call) return;
    this.clearKillTimer(slot);
    slot.killCall = call;
    slot.killTimer = startTimer(() => {
      slot.killTimer = undefined;
      slot.killCall = undefined;
      if (slot.state !== "live" || slot.calls[0] !== call) return;
      this.killStuck(slot, call);
    }, this.killGrace);
  }

  private clearKillTimer(slot: S): void {
    slot.killTimer = stopTimer(slot.killTimer);
    slot.killCall = undefined;
  }

  /** Stops a slot's timers (it leaves the pool). */
  protected clearTimers(slot: S): void {
    this.clearKillTimer(slot);
    slot.idleTimer = stopTimer(slot.idleTimer);
  }
}

/**
 * The worker side of a pool, shared by Web Workers (`ThreadQueue`) and child
 * processes (`ProcessQueue`): it receives the messages of
 * `src/runtime/protocol.ts`, finds each task's function (a module export or
 * a self-contained function sent as source), runs the tasks one at a time in
 * the order they came, and answers each with its value or its error.
 *
 * The transport is not its business: an entry script hands it a
 * {@linkcode HostChannel} (how to post a message, how to end the worker) and
 * feeds it what arrives.
 *
 * @module
 */

import { isThenable } from "../core/_util.ts";
import { TaskSerializationError } from "../core/errors.ts";
import { preloadTaskModule, resolveTaskReference, reviveFunction } from "../core/task_reference.ts";
import {
  type InitMessage,
  type MainMessage,
  type Reply,
  ReplyOutcome,
  type RunMessage,
  type SourceDescriptor,
  unpackRun,
  type WorkerMessage,
} from "./protocol.ts";
import { deserializeThrown, type SerializedThrown, serializeThrown } from "../core/error_codec.ts";

/** How a {@linkcode TaskHost} talks to the main side and ends its worker. */
export interface HostChannel {
  /** Sends one message; throws if the message cannot be encoded (cloned). */
  post(message: WorkerMessage): void;
  /** Ends the worker or child now. */
  exit(code: number): void;
}

type TaskFunction = (...args: unknown[]) => unknown;

/**
 * Replies held back longer than this are sent before the next task starts:
 * results keep flowing while a worker works through a batch of quick tasks.
 */
const maxReplyDelayMs = 2;

/**
 * Runs the tasks a worker is sent. One instance per worker or child.
 */
export class TaskHost {
  private readonly channel: HostChannel;
  /** Runs received and not yet started, oldest first. */
  private queue: RunMessage[] = [];
  /** The run executing now (between its start and its reply). */
  private current: RunMessage | undefined = undefined;
  private currentController: AbortController | undefined = undefined;
  /** Whether the current run's function has been called (it may still be loading). */
  private currentStarted = false;
  /** The current run was aborted while its function was still loading: do not call it. */
  private currentAborted = false;
  private draining = false;
  private ready = false;
  private initError: SerializedThrown | undefined = undefined;
  private replyBatch = 1;
  private outbox: Reply[] = [];
  private outboxSince = 0;
  /** Time the tasks answered in the outbox spent running, in ms. */
  private outboxBusyMs = 0;
  private runStartedAt = 0;
  private outboxUrgent = false;
  private ended = false;
  /** Sources the main side has defined, by id. */
  private sources = new Map<number, SourceDescriptor>();
  /** Functions already loaded, by source id, so a warm task needs no promise turn. */
  private functions = new Map<number, TaskFunction>();

  /** Creates a host that talks through `channel`. */
  constructor(channel: HostChannel) {
    this.channel = channel;
  }

  /**
   * Starts importing the task modules the main side expects this worker to
   * need (given at its start), so that the work overlaps with the rest of
   * its start-up. Only URLs are taken; a module that fails is reported by
   * the first task that needs it.
   */
  preload(urls: readonly string[]): void {
    for (const url of urls) {
      if (URL.canParse(url)) preloadTaskModule(url);
    }
  }

  /** Handles one message from the main side. */
  receive(message: MainMessage): void {
    switch (message.type) {
      case "runs":
        if (message.sources !== undefined) {
          for (const [id, source] of message.sources) this.sources.set(id, source);
        }
        for (const run of message.runs) this.queue.push(unpackRun(run));
        void this.drain();
        break;
      case "abort":
        this.abort(message.call, message.reason);
        break;
      case "init":
        void this.init(message);
        break;
    }
  }

  /**
   * Reports an uncaught error or unhandled rejection that belongs to no
   * task's own promise, then ends the worker: its state can no longer be
   * trusted, and a browser-style worker that lived on would leave the task
   * that caused it pending forever.
   */
  fatal(error: unknown): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.postSafely({ type: "fatal", error: serializeThrown(error) }, () => ({
      type: "fatal",
      error: serializeThrown(error, true),
    }));
    this.channel.exit(1);
  }

  /**
   * Tells the main side that task code is ending the worker (`self.close()`,
   * `Deno.exit()`, `process.exit()`), with the replies it still holds. The
   * caller then lets the exit happen.
   */
  exiting(code: number | null, via: string): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.postSafely({ type: "exiting", code, via }, () => ({ type: "exiting", code: null, via }));
  }

  private async init(message: InitMessage): Promise<void> {
    this.replyBatch = Math.max(1, message.replyBatch);
    if (message.initializer !== null) {
      try {
        const initializer = await this.load(message.initializer);
        const value = initializer(...message.initArgs);
        if (isThenable(value)) await value;
      } catch (error) {
        this.initError = serializeThrown(error);
      }
    }
    if (this.ended) return;
    this.ready = true;
    this.postSafely(
      this.initError === undefined ? { type: "ready" } : { type: "ready", error: this.initError },
      () => ({ type: "ready", error: serializeThrown(deserializeThrown(this.initError!), true) }),
    );
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining || !this.ready) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const run = this.queue.shift()!;
        if (this.outbox.length > 0 && (run.timed || this.replyIsDue())) this.flush();
        if (this.initError !== undefined) {
          this.reply([run.call, ReplyOutcome.error, this.initError], run.timed);
          continue;
        }
        this.current = run;
        this.currentStarted = false;
        this.currentAborted = false;
        const pending = this.execute(run);
        // Only a task that is really asynchronous costs a promise turn.
        if (pending !== undefined) await pending;
        this.current = undefined;
        this.currentController = undefined;
      }
    } finally {
      this.draining = false;
      this.current = undefined;
      this.currentController = undefined;
    }
    this.flush();
  }

  /** Starts one task; returns a promise only when it must be waited for. */
  private execute(run: RunMessage): Promise<void> | undefined {
    const fn = this.functions.get(run.sourceId);
    if (fn === undefined) {
      this.flush(); // About to wait: nothing may sit in the outbox meanwhile.
      return this.loadById(run.sourceId).then(
        () => this.execute(run),
        (error) => this.replyError(run, error),
      );
    }
    if (this.currentAborted) {
      this.reply([run.call, ReplyOutcome.dropped], true);
      return undefined;
    }
    this.currentStarted = true;
    this.runStartedAt = performance.now();
    let args = run.args as unknown[];
    if (run.bind) {
      const controller = new AbortController();
      this.currentController = controller;
      const context = {
        id: run.taskId,
        name: run.name,
        attempt: run.attempt,
        signal: controller.signal,
      };
      args = [context, ...args];
    }
    let value: unknown;
    let thenable: boolean;
    try {
      value = fn(...args);
      // A `then` getter that throws is the task's own error, as on AsyncQueue.
      thenable = isThenable(value);
    } catch (error) {
      this.replyError(run, error);
      return undefined;
    }
    if (!thenable) {
      this.reply([run.call, ReplyOutcome.ok, value], run.timed);
      return undefined;
    }
    this.flush();
    return Promise.resolve(value).then(
      (settled) => this.reply([run.call, ReplyOutcome.ok, settled], run.timed),
      (error) => this.replyError(run, error),
    );
  }

  private async load(source: SourceDescriptor): Promise<TaskFunction> {
    return source.kind === "ref"
      ? await resolveTaskReference(source)
      : reviveFunction(source.code) as TaskFunction;
  }

  private async loadById(sourceId: number): Promise<TaskFunction> {
    const source = this.sources.get(sourceId);
    if (source === undefined) throw new Error(`task source ${sourceId} was never defined`);
    const fn = await this.load(source);
    this.functions.set(sourceId, fn);
    return fn;
  }

  private abort(call: number, reason: SerializedThrown): void {
    if (this.current?.call === call) {
      if (!this.currentStarted) {
        // Still loading its function: it will not be called at all.
        this.currentAborted = true;
        return;
      }
      // Reading this message means the task is awaiting, not stuck in sync code.
      this.postSafely({ type: "abortSeen", call }, () => ({ type: "abortSeen", call }));
      this.currentController?.abort(deserializeThrown(reason));
      return;
    }
    const index = this.queue.findIndex((run) => run.call === call);
    if (index < 0) return; // Already answered.
    this.queue.splice(index, 1);
    // A task host only reads messages between tasks or while one awaits,
    // never inside a run of synchronous tasks, so the outbox can go now.
    this.reply([call, ReplyOutcome.dropped], true);
    this.flush();
  }

  private replyError(run: RunMessage, error: unknown): void {
    this.reply([run.call, ReplyOutcome.error, serializeThrown(error)], run.timed);
  }

  private reply(reply: Reply, urgent: boolean): void {
    const now = performance.now();
    if (this.outbox.length === 0) this.outboxSince = now;
    if (this.currentStarted && reply[0] === this.current?.call) {
      this.outboxBusyMs += now - this.runStartedAt;
    }
    this.outbox.push(reply);
    if (urgent) this.outboxUrgent = true;
  }

  private replyIsDue(): boolean {
    return this.outboxUrgent || this.outbox.length >= this.replyBatch ||
      performance.now() - this.outboxSince >= maxReplyDelayMs;
  }

  private flush(): void {
    if (this.outbox.length === 0 || this.ended) return;
    const replies = this.outbox;
    const busyMs = this.outboxBusyMs;
    this.outbox = [];
    this.outboxBusyMs = 0;
    this.outboxUrgent = false;
    try {
      this.channel.post({ type: "replies", replies, busyMs });
    } catch {
      // Some value or error in the batch cannot be cloned: find it, and
      // fail only that task.
      for (const reply of replies) {
        this.postSafely({ type: "replies", replies: [reply], busyMs: 0 }, (why) => ({
          type: "replies",
          replies: [uncloneableReply(reply, why)],
          busyMs: 0,
        }));
      }
    }
  }

  /** Posts `message`; if it cannot be cloned, posts `fallback(why)` instead. */
  private postSafely(message: WorkerMessage, fallback: (why: unknown) => WorkerMessage): void {
    let why: unknown;
    try {
      this.channel.post(message);
      return;
    } catch (error) {
      why = error; // Fall through to the reduced form.
    }
    try {
      this.channel.post(fallback(why));
    } catch (error) {
      // The channel itself is gone; nothing can be reported any more.
      if (!this.ended) throw error;
    }
  }
}

/** What to send instead of a reply that could not be cloned. */
function uncloneableReply(reply: Reply, why: unknown): Reply {
  if (reply[1] === ReplyOutcome.ok) {
    // The channel's own size limit is the reason to give, not the value's type.
    const error = why instanceof TaskSerializationError && /over the limit/.test(why.message)
      ? why
      : new TaskSerializationError(
        `task result could not be cloned to send it back: ${describe(reply[2])}`,
      );
    return [reply[0], ReplyOutcome.error, serializeThrown(error, true)];
  }
  if (reply[1] === ReplyOutcome.error) {
    return [reply[0], ReplyOutcome.error, reduceError(reply[2])];
  }
  return reply;
}

/** An error that failed to clone, with its data fields and thrown values turned into text. */
function reduceError(error: SerializedThrown): SerializedThrown {
  return serializeThrown(deserializeThrown(error), true);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name ? `a ${name} object` : "an object";
  }
  return typeof value;
}

/**
 * What a call to the wrapped `Deno.exit` came from: Node's `process.exit`
 * ends in `Deno.exit` on Deno, and an `exit` imported from `node:process`
 * (or the `process` object imported before the worker wrapped it) bypasses
 * the wrapper of `process.exit`; its frames name `node:process`.
 */
export function denoExitCaller(): string {
  return /\(node:process:/.test(new Error().stack ?? "") ? "process.exit()" : "Deno.exit()";
}

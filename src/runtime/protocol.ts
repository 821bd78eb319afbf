/**
 * Every message between the main thread and a pooled worker (a Web Worker
 * for `ThreadQueue`, a child process for `ProcessQueue`), one type per
 * message. Errors travel as `SerializedThrown` (`src/core/error_codec.ts`):
 * structured clone keeps too little of an `Error` (Bun drops `cause`, both
 * drop own data fields).
 *
 * The conversation, for one worker:
 *
 * ```text
 * main                                   worker
 *  init ─────────────────────────────────▶  runs the initializer once
 *  runs [run, run, …] ───────────────────▶  queues them, runs one at a time, in order
 *       ◀──────────────────────────────────  ready (or ready + error: initializer failed)
 *       ◀──────────────────────────────────  replies [ok | error | dropped, …]
 *  abort ────────────────────────────────▶  aborts the running task's signal
 *       ◀──────────────────────────────────  abortSeen (so the worker is not stuck)
 *                                            or drops a queued one (reply "dropped")
 *       ◀──────────────────────────────────  exiting (the task code called exit/close)
 *       ◀──────────────────────────────────  fatal (uncaught error outside a task)
 * ```
 *
 * A worker runs its tasks strictly one after another in the order they were
 * sent, and answers every run exactly once (ok, error or dropped), in that
 * order except for dropped. So the main side needs no "started" message: the
 * oldest unanswered run of a ready worker is the one running. Replies may be
 * batched; a worker sends its batch before it starts a run whose start
 * matters (`timed`), right after such a run ends, before it waits on a
 * promise, and when it has nothing left to run.
 *
 * Runs and replies travel as tuples in batches, and a task's source is sent
 * once per worker and then named by a number: structured clone pays for
 * every object key and string, and tiny tasks are mostly messaging.
 *
 * @module
 */

import type { SerializedThrown } from "../core/error_codec.ts";

/** Where a task's code comes from, as it travels to a worker. */
export type SourceDescriptor = ModuleSource | InlineSource;

/** A module export: the worker imports `url` once and calls `exportName`. */
export interface ModuleSource {
  readonly kind: "ref";
  /** Absolute URL of the module. */
  readonly url: string;
  /** Name of the export to call. */
  readonly exportName: string;
}

/** A self-contained function, sent as its source text and rebuilt in the worker. */
export interface InlineSource {
  readonly kind: "inline";
  /** The function's source, as `Function.prototype.toString` gives it. */
  readonly code: string;
}

// ------------------------------------------------------------ main → worker

/** First message to every worker: who it is and what to run before any task. */
export interface InitMessage {
  readonly type: "init";
  /** The worker's index in its pool, or the child's pid. */
  readonly worker: number;
  /** Run once before the first task; `null` for none. */
  readonly initializer: SourceDescriptor | null;
  /** Arguments of the initializer. */
  readonly initArgs: readonly unknown[];
  /** Most replies a worker may hold back before it sends them as one batch. */
  readonly replyBatch: number;
}

/** {@linkcode RunFlags} bits of a {@linkcode PackedRun}. */
export const RunFlags = {
  /** Pass a `TaskContext` as the first argument. */
  bind: 1,
  /**
   * The task has a per-task timeout, which counts from its start: the worker
   * then reports promptly around it instead of batching.
   */
  timed: 2,
} as const;

/**
 * One attempt of one task, as it travels:
 * `[call, sourceId, args, flags]`, plus `taskId, attempt, name` when
 * `flags` has {@linkcode RunFlags.bind} (they make the bound context).
 * `call` is the pool-wide number of this dispatch: replies and aborts name it.
 */
export type PackedRun =
  | readonly [call: number, sourceId: number, args: readonly unknown[], flags: number]
  | readonly [
    call: number,
    sourceId: number,
    args: readonly unknown[],
    flags: number,
    taskId: string,
    attempt: number,
    name: string,
  ];

/** One attempt, unpacked (what a task host works with). */
export interface RunMessage {
  /** Pool-wide number of this dispatch. */
  readonly call: number;
  /** Which defined source to call. */
  readonly sourceId: number;
  /** Positional arguments. */
  readonly args: readonly unknown[];
  /** Whether to pass a `TaskContext` as the first argument. */
  readonly bind: boolean;
  /** Whether the start must be reported promptly (a per-task timeout counts from it). */
  readonly timed: boolean;
  /** The task's id (bound context only; `""` otherwise). */
  readonly taskId: string;
  /** The attempt number, from 1 (bound context only; `0` otherwise). */
  readonly attempt: number;
  /** The task's name (bound context only; `""` otherwise). */
  readonly name: string;
}

/**
 * Packs a run for {@linkcode RunsMessage}.
 */
export function packRun(run: RunMessage): PackedRun {
  const flags = (run.bind ? RunFlags.bind : 0) | (run.timed ? RunFlags.timed : 0);
  return run.bind
    ? [run.call, run.sourceId, run.args, flags, run.taskId, run.attempt, run.name]
    : [run.call, run.sourceId, run.args, flags];
}

/**
 * Unpacks a run of {@linkcode RunsMessage}.
 */
export function unpackRun(packed: PackedRun): RunMessage {
  const flags = packed[3];
  const bind = (flags & RunFlags.bind) !== 0;
  return {
    call: packed[0],
    sourceId: packed[1],
    args: packed[2],
    bind,
    timed: (flags & RunFlags.timed) !== 0,
    taskId: bind ? packed[4] ?? "" : "",
    attempt: bind ? packed[5] ?? 0 : 0,
    name: bind ? packed[6] ?? "" : "",
  };
}

/** Names a source for the runs that follow: `[sourceId, source]`. */
export type SourceDefinition = readonly [sourceId: number, source: SourceDescriptor];

/** Runs, oldest first, with the sources this worker has not been told yet. */
export interface RunsMessage {
  readonly type: "runs";
  /** Definitions of source ids first used by these runs (omitted when none). */
  readonly sources?: readonly SourceDefinition[];
  readonly runs: readonly PackedRun[];
}

/** The main side gave up on an attempt: abort its signal, or drop it if not started. */
export interface AbortMessage {
  readonly type: "abort";
  readonly call: number;
  /** The abort reason, for `signal.reason` in the worker. */
  readonly reason: SerializedThrown;
}

/** Everything the main side sends. */
export type MainMessage = InitMessage | RunsMessage | AbortMessage;

/**
 * Merges consecutive `runs` messages that arrived together into one, keeping
 * every other message in its place. A child process receives one `runs`
 * message per attempt (each encoded on its own, so a bad argument fails only
 * its attempt); handing them to a task host one by one would make it answer
 * each before it sees the next, one write per attempt.
 */
export function coalesceRuns(messages: readonly MainMessage[]): MainMessage[] {
  const merged: MainMessage[] = [];
  let runs: PackedRun[] | undefined;
  let sources: SourceDefinition[] | undefined;
  const close = (): void => {
    if (runs === undefined) return;
    merged.push(sources === undefined ? { type: "runs", runs } : { type: "runs", sources, runs });
    runs = sources = undefined;
  };
  for (const message of messages) {
    if (message.type !== "runs") {
      close();
      merged.push(message);
      continue;
    }
    if (message.sources !== undefined) (sources ??= []).push(...message.sources);
    (runs ??= []).push(...message.runs);
  }
  close();
  return merged;
}

// ------------------------------------------------------------ worker → main

/** The initializer finished (without `error`) or threw (with it). */
export interface ReadyMessage {
  readonly type: "ready";
  /** The initializer's error; every task sent to this worker then fails with it. */
  readonly error?: SerializedThrown;
}

/** {@linkcode Reply} outcomes. */
export const ReplyOutcome = {
  /** The task returned: the payload is its value. */
  ok: 0,
  /** The task threw or rejected, could not be loaded, or its value could not be sent: a {@linkcode SerializedThrown}. */
  error: 1,
  /** The task was aborted before it started and did not run: no payload. */
  dropped: 2,
} as const;

/** The answer to one run: `[call, outcome, payload]`. */
export type Reply =
  | readonly [call: number, outcome: typeof ReplyOutcome.ok, value: unknown]
  | readonly [call: number, outcome: typeof ReplyOutcome.error, error: SerializedThrown]
  | readonly [call: number, outcome: typeof ReplyOutcome.dropped];

/** Replies, oldest first. */
export interface RepliesMessage {
  readonly type: "replies";
  readonly replies: readonly Reply[];
  /**
   * How long the tasks answered here ran, in ms, together: the pool sizes
   * its pipelining window from it.
   */
  readonly busyMs: number;
}

/**
 * The running task's signal was aborted. It tells the main side that the
 * worker is not stuck in synchronous code, whatever the task does next.
 */
export interface AbortSeenMessage {
  readonly type: "abortSeen";
  readonly call: number;
}

/** Task code is ending the worker (`self.close()`, `Deno.exit()`, `process.exit()`). */
export interface ExitingMessage {
  readonly type: "exiting";
  /** The exit code asked for (`null` for `self.close()`). */
  readonly code: number | null;
  /** Which call ended it, for the crash message. */
  readonly via: string;
}

/** An uncaught error or unhandled rejection outside any task's own promise: the worker ends. */
export interface FatalMessage {
  readonly type: "fatal";
  readonly error: SerializedThrown;
}

/** Everything a worker sends. */
export type WorkerMessage =
  | ReadyMessage
  | RepliesMessage
  | AbortSeenMessage
  | ExitingMessage
  | FatalMessage;

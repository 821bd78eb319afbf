/**
 * The producer side of a distributed queue: the shared engine (submission,
 * handles, groups, hooks, run/join/shutdown, summaries) over an executor
 * that hands every task to BullMQ as a job and follows its attempts through
 * BullMQ's events. BullMQ stores, delivers, delays, retries and recovers the
 * jobs; workers elsewhere run them (`serveQueue`).
 *
 * @module
 */

import { type Job, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { OsiisoError, WorkerCrashedError } from "../core/errors.ts";
import type { AttemptRequest, Executor } from "../core/executor.ts";
import { REPORTED_LATER } from "../core/executor.ts";
import { TaskQueue } from "../core/task_queue.ts";
import { type QueueOptions, resolveQueueOptions, type RunOptions } from "../core/queue_options.ts";
import type { RunSummary } from "../core/result.ts";
import { checkPositive, checkString, invalidMessage } from "../core/validate.ts";
import type { TaskHandle } from "../core/handle.ts";
import { checkCallableSource } from "../backends/callable_source.ts";
import { fromWire, toWire } from "../core/codec.ts";
import { errorFromStack } from "./errors.ts";
import {
  checkConnection,
  checkEvictionPolicy,
  CONNECT_TIMEOUT_MS,
  createClient,
  type RedisConnection,
  whenConnected,
} from "./connection.ts";
import { BACKOFF_TYPE, bullPriority, jobDataFor, type JobOutcome } from "./job.ts";

/** Options of a {@linkcode DistributedQueue}. */
export interface DistributedQueueOptions extends Omit<QueueOptions, "workers"> {
  /** The queue's name on Redis; workers serve the same name. */
  name: string;
  /** Where Redis is: a `redis://` URL, or {@linkcode RedisConnectionOptions}. */
  connection: RedisConnection;
  /** Prefix of the queue's keys on Redis. Default `"osiiso"`. */
  prefix?: string;
  /** How long `run()`/`join()` wait for an unreachable Redis before they reject, in ms. Default 10,000. */
  connectTimeout?: number;
  /**
   * Names this producer's jobs on Redis (their ids start with it). Default: a
   * random 48-bit id. Keep it to {@linkcode DistributedQueue.attach} after a restart.
   */
  producerId?: string;
}

const OWN_OPTION_NAMES = ["name", "connection", "prefix", "connectTimeout", "producerId"];

/** Checks a `producerId`: job ids start with it, and BullMQ refuses ':' in them. */
function checkProducerId(action: string, value: unknown): string {
  const id = checkString(action, "producerId", value);
  if (id === "" || id.includes(":")) {
    throw new RangeError(
      invalidMessage(action, "producerId", "a non-empty string without ':'", value),
    );
  }
  return id;
}

/** A job an earlier producer with the same id submitted, taken over by {@linkcode DistributedQueue.attach}. */
class AttachedJob {
  constructor(readonly jobId: string) {}
}

/**
 * How often a producer looks on Redis for finished jobs whose events it
 * missed, and how old such a job must be. BullMQ trims its event stream (to
 * {@linkcode EVENTS_KEPT} entries): a producer that falls behind loses events.
 */
const SWEEP_INTERVAL_MS = 1_000;

/** How many jobs one `addBulk` sends. */
const ADD_CHUNK = 1_000;

/**
 * How long finished jobs wait to be removed together: an event read brings
 * few outcomes, and a removal costs the same for one job as for hundreds.
 */
const REMOVAL_INTERVAL_MS = 100;

/** How many entries of BullMQ's event stream Redis keeps for the queue. */
export const EVENTS_KEPT = 100_000;

/** The error of an attempt whose worker died: BullMQ saw its lock expire. */
const LOST_WORKER = "the job's worker was lost mid-job (its lock expired)";

/** The sorted sets of BullMQ's finished jobs. */
type FinishedState = "completed" | "failed";

/** One job this producer follows. */
interface Followed {
  readonly request: AttemptRequest;
  /** Whether an attempt is running (an `active` event came, no outcome yet). */
  begun: boolean;
  /** BullMQ's count of failed attempts when last read: a stall leaves it as it was. */
  attemptsMade: number;
  /** Events of this job wait for this (a retry's error being read) before they apply. */
  chain: Promise<void> | undefined;
}

/** Hands attempts to BullMQ and reports what its events say. */
class BullExecutor implements Executor {
  readonly kind = "distributed" as const;
  readonly drivesAttempts = true;
  readonly #name: string;
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #rate: number | undefined;
  readonly #burst: number;
  readonly #connectTimeout: number;
  // Unique per producer, so job ids never collide across producers or restarts.
  readonly producerId: string;
  #queueClient: Redis | undefined;
  #eventsClient: Redis | undefined;
  #queue: Queue | undefined;
  #events: QueueEvents | undefined;
  #ready: Promise<void> | undefined;
  #failure: unknown = undefined;
  readonly #followed = new Map<string, Followed>();
  // Jobs the engine gave up on: removed from Redis when they end (they may be running).
  readonly #abandoned = new Set<string>();
  #batch: { name: string; data: unknown; opts: Record<string, unknown> }[] = [];
  // Ids of the jobs not sent to Redis yet: an abandoned one is left out.
  readonly #unsent = new Set<string>();
  // Finished jobs whose outcome was read, removed from Redis together.
  #finished: Record<FinishedState, string[]> = { completed: [], failed: [] };
  #removalTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #pendingWrites = new Set<Promise<unknown>>();
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #jobCount = 0;
  #closed = false;

  constructor(
    name: string,
    connection: RedisConnection,
    prefix: string,
    rate: number | undefined,
    burst: number,
    connectTimeout: number,
    producerId: string,
  ) {
    this.#connectTimeout = connectTimeout;
    this.producerId = producerId;
    this.#name = name;
    this.#connection = connection;
    this.#prefix = prefix;
    this.#rate = rate;
    this.#burst = burst;
  }

  /** The Redis key of `suffix` (a job id, or a list such as `completed`) in this queue. */
  #key(suffix: string): string {
    return `${this.#prefix}:${this.#name}:${suffix}`;
  }

  validateSource(source: unknown, action: string): void {
    if (source instanceof AttachedJob) return;
    checkCallableSource(source, action);
  }

  autoWorkers(): number {
    return 1;
  }

  // Every job reaches Redis once the queue is started: BullMQ's workers set the pace.
  capacity(): number {
    return Infinity;
  }

  liveWorkers(): number | undefined {
    return undefined;
  }

  start(): void {
    void this.connect().catch(() => {});
  }

  /** Connects once; rejects with `RedisUnavailableError` when Redis cannot be reached. */
  connect(): Promise<void> {
    this.#ready ??= this.#open();
    return this.#ready;
  }

  async #open(): Promise<void> {
    const queueClient = this.#queueClient = createClient(this.#connection);
    const eventsClient = this.#eventsClient = createClient(this.#connection);
    // Errors are reported through whenConnected and the outcomes; ioredis
    // logs unhandled 'error' events otherwise.
    queueClient.on("error", () => {});
    eventsClient.on("error", () => {});
    try {
      await Promise.all([
        whenConnected(queueClient, this.#connection, this.#connectTimeout),
        whenConnected(eventsClient, this.#connection, this.#connectTimeout),
      ]);
      this.#queue = new Queue(this.#name, {
        connection: queueClient,
        prefix: this.#prefix,
        // Room for the events of a large batch (BullMQ keeps 10k by default), so a
        // producer that falls behind rarely needs the sweep; ~100 bytes an entry.
        streams: { events: { maxLen: EVENTS_KEPT } },
      });
      // Connection errors while Redis restarts: the clients reconnect by themselves.
      this.#queue.on("error", () => {});
      // Events from the stream's current end, read before any job is added:
      // BullMQ's default ('$') starts at the first XREAD, which may reach Redis
      // after the first jobs finished; their events would be missed.
      const newest = await queueClient.xrevrange(this.#key("events"), "+", "-", "COUNT", 1);
      const events = this.#events = new QueueEvents(this.#name, {
        connection: eventsClient,
        prefix: this.#prefix,
        lastEventId: newest[0]?.[0] ?? "0-0",
      });
      events.on("error", () => {});
      events.on("active", ({ jobId }) => this.#onActive(jobId));
      events.on("delayed", ({ jobId }) => this.#onRequeued(jobId));
      events.on("waiting", ({ jobId, prev }) => {
        if (prev === "failed" || prev === "active") this.#onRequeued(jobId);
      });
      events.on("stalled", ({ jobId }) => this.#onStalled(jobId));
      events.on("completed", ({ jobId, returnvalue }) => this.#onCompleted(jobId, returnvalue));
      events.on("failed", ({ jobId, failedReason }) => this.#onFailed(jobId, failedReason));
      await Promise.all([events.waitUntilReady(), this.#queue.waitUntilReady()]);
      await checkEvictionPolicy(queueClient, this.#connection, (message) => console.warn(message));
      if (this.#rate !== undefined) {
        // BullMQ's limiter counts jobs started per window across all workers.
        const window = Math.max(1, Math.round(1_000 * this.#burst / this.#rate));
        await this.#queue.setGlobalRateLimit(this.#burst, window);
      }
    } catch (error) {
      this.#failure = error;
      this.#failAll(error);
      throw error;
    }
  }

  execute(request: AttemptRequest): unknown {
    if (this.#failure !== undefined) throw this.#failure;
    if (request.source instanceof AttachedJob) return this.#follow(request, request.source.jobId);
    const options = request.options;
    // Short ids: every BullMQ event and command carries them.
    const jobId = `${this.producerId}.${(++this.#jobCount).toString(36)}`;
    const data = jobDataFor(request.source, request.name, toWire(request.args, "base64"), options);
    let delay = 0;
    if (options.delay !== undefined) delay = options.delay;
    else if (options.runAt !== undefined) delay = Math.max(0, options.runAt - Date.now());
    this.#followed.set(jobId, { request, begun: false, attemptsMade: 0, chain: undefined });
    this.#armSweep();
    request.onAbort(() => this.#abandon(jobId));
    // Only what differs from BullMQ's defaults: every job's options are stored.
    const opts: Record<string, unknown> = { jobId, priority: bullPriority(options.priority) };
    if (delay > 0) opts.delay = delay;
    if (options.retries > 0) {
      opts.attempts = options.retries + 1;
      opts.backoff = { type: BACKOFF_TYPE };
    }
    this.#batch.push({ name: request.name, data, opts });
    this.#unsent.add(jobId);
    if (this.#batch.length === 1) queueMicrotask(() => void this.#flush());
    return REPORTED_LATER;
  }

  /**
   * Follows a job already on Redis: events from now on, and its state read
   * after that, so an outcome that came before is not missed.
   */
  #follow(request: AttemptRequest, jobId: string): typeof REPORTED_LATER {
    this.#followed.set(jobId, { request, begun: false, attemptsMade: 0, chain: undefined });
    this.#armSweep();
    request.onAbort(() => this.#abandon(jobId));
    void this.connect().then(async () => {
      const job = await this.#queue!.getJob(jobId) as Job | undefined;
      if (job === undefined) {
        this.#settle(jobId, false, new OsiisoError(`job '${jobId}' is no longer on Redis`));
        return;
      }
      const state = await job.getState();
      if (state === "active") this.#onActive(jobId);
      else if (state === "completed") this.#onCompleted(jobId, job.returnvalue);
      else if (state === "failed") this.#onFailed(jobId, job.failedReason);
    }).catch((error) => this.#settle(jobId, false, error));
    return REPORTED_LATER;
  }

  #armSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    this.#sweepTimer = setTimeout(() => {
      void this.#track(this.#sweep()).finally(() => {
        this.#sweepTimer = undefined;
        if (this.#followed.size > 0) this.#armSweep();
      });
    }, SWEEP_INTERVAL_MS);
  }

  /** Settles followed jobs that finished over a sweep interval ago and whose event never came. */
  async #sweep(): Promise<void> {
    const queue = this.#queue;
    const client = this.#queueClient;
    if (queue === undefined || client === undefined || this.#followed.size === 0) return;
    const before = Date.now() - SWEEP_INTERVAL_MS;
    try {
      for (const state of ["completed", "failed"] as const) {
        const ids = await client.zrangebyscore(
          this.#key(state),
          "-inf",
          before,
          "LIMIT",
          0,
          5_000,
        );
        const missed = ids.filter((id) => this.#followed.has(id));
        // One round of reads: ioredis sends them together.
        const jobs = await Promise.all(
          missed.map((id) => queue.getJob(id) as Promise<Job | undefined>),
        );
        for (const job of jobs) {
          if (job?.id === undefined) continue;
          if (state === "completed") this.#onCompleted(job.id, job.returnvalue);
          else this.#onFailed(job.id, job.failedReason);
        }
      }
    } catch {
      // Redis is away: the next sweep tries again.
    }
  }

  /** This producer's jobs on Redis, in any state (after a restart): ids and task names. */
  async ownJobs(): Promise<{ id: string; name: string }[]> {
    await this.connect();
    const client = this.#queueClient!;
    const base = this.#key("");
    const ids: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(
        cursor,
        "MATCH",
        `${base}${this.producerId}.*`,
        "COUNT",
        1000,
      );
      cursor = next;
      for (const key of keys) {
        const id = key.slice(base.length);
        // A job's own hash; its lock and logs keys have a further ':' part.
        if (!id.includes(":")) ids.push(id);
      }
    } while (cursor !== "0");
    ids.sort();
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hget(`${base}${id}`, "name");
    const names = (await pipeline.exec()) ?? [];
    return ids.map((id, index) => ({ id, name: String(names[index]?.[1] ?? id) }));
  }

  /**
   * Sends the jobs submitted in one turn, {@linkcode ADD_CHUNK} at a time:
   * workers start on the first ones sooner, and the producer never holds
   * every job's BullMQ objects at once (copying them from GC to GC).
   */
  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    let sent = 0;
    try {
      await this.connect();
      for (; sent < batch.length; sent += ADD_CHUNK) {
        // Jobs abandoned meanwhile are not sent.
        const chunk = batch.slice(sent, sent + ADD_CHUNK)
          .filter((entry) => this.#unsent.delete(entry.opts.jobId as string));
        if (chunk.length > 0) await this.#track(this.#queue!.addBulk(chunk));
      }
    } catch (error) {
      for (const { opts } of batch.slice(sent)) {
        this.#unsent.delete(opts.jobId as string);
        this.#settle(opts.jobId as string, false, error);
      }
    }
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#pendingWrites.add(write);
    void write.then(
      () => this.#pendingWrites.delete(write),
      () => this.#pendingWrites.delete(write),
    );
    return write;
  }

  /** Runs `step` for a followed job after the job's earlier steps. */
  #step(jobId: string, step: (followed: Followed) => void | Promise<void>): void {
    const followed = this.#followed.get(jobId);
    if (followed === undefined) return;
    if (followed.chain === undefined) {
      const done = step(followed);
      if (done !== undefined) followed.chain = done;
      return;
    }
    followed.chain = followed.chain.then(() => step(followed));
  }

  #onActive(jobId: string): void {
    this.#step(jobId, (followed) => {
      // An attempt already running means its worker was lost without a stalled event seen.
      if (followed.begun) {
        followed.request.retrying(new WorkerCrashedError(LOST_WORKER));
      }
      followed.begun = true;
      followed.request.began();
    });
  }

  #onStalled(jobId: string): void {
    this.#step(jobId, (followed) => {
      if (!followed.begun) return;
      followed.begun = false;
      followed.request.retrying(new WorkerCrashedError(LOST_WORKER));
    });
  }

  /**
   * A running job is back in line: a failed attempt that BullMQ retries (its
   * error is read from the job), or a stall (its worker was lost), which
   * BullMQ announces the same way but without counting a failed attempt.
   */
  #onRequeued(jobId: string): void {
    this.#step(jobId, async (followed) => {
      if (!followed.begun) return;
      followed.begun = false;
      let error: unknown;
      try {
        const job = await this.#queue!.getJob(jobId) as Job | undefined;
        if (job !== undefined && job.attemptsMade <= followed.attemptsMade) {
          error = new WorkerCrashedError(LOST_WORKER);
        } else {
          followed.attemptsMade = job?.attemptsMade ?? followed.attemptsMade + 1;
          error = errorFromStack(job?.failedReason ?? "attempt failed", job?.stacktrace?.at(-1));
        }
      } catch (readError) {
        error = readError;
      }
      followed.request.retrying(error);
    });
  }

  #onCompleted(jobId: string, returnValue: unknown): void {
    if (!this.#followed.has(jobId)) {
      // Cancelled, but it ran.
      if (this.#abandoned.delete(jobId)) this.#removeFinished(jobId, "completed");
      return;
    }
    this.#step(jobId, (followed) => {
      const outcome = (typeof returnValue === "string" ? JSON.parse(returnValue) : returnValue) as
        | JobOutcome
        | null;
      if (outcome === null || typeof outcome !== "object" || !("ok" in outcome)) {
        this.#settle(jobId, false, new OsiisoError("the worker returned no osiiso outcome"));
      } else {
        followed.request.worker = outcome.worker ?? null;
        this.#settle(jobId, outcome.ok, fromWire(outcome.ok ? outcome.value : outcome.error));
      }
      this.#removeFinished(jobId, "completed");
    });
  }

  #onFailed(jobId: string, failedReason: string): void {
    if (!this.#followed.has(jobId)) {
      if (this.#abandoned.delete(jobId)) this.#removeFinished(jobId, "failed");
      return;
    }
    this.#step(jobId, () => {
      // BullMQ fails a job itself when its workers keep dying on it.
      const error = /stalled/.test(failedReason)
        ? new WorkerCrashedError(failedReason)
        : new OsiisoError(failedReason);
      this.#settle(jobId, false, error);
      this.#removeFinished(jobId, "failed");
    });
  }

  #settle(jobId: string, ok: boolean, value: unknown): void {
    const followed = this.#followed.get(jobId);
    if (followed === undefined) return;
    this.#followed.delete(jobId);
    followed.request.report(ok, value);
  }

  /** The engine gave up on a job (cancel, failFirst, run timeout): drop it if not yet running. */
  #abandon(jobId: string): void {
    if (!this.#followed.delete(jobId)) return;
    if (this.#unsent.delete(jobId)) return; // never reaches Redis
    if (this.#queue !== undefined) {
      this.#abandoned.add(jobId);
      this.#remove(jobId);
    }
  }

  /** Removes an abandoned job, so Redis does not grow. */
  #remove(jobId: string): void {
    // A running job is locked and stays; its completion comes back to #removeFinished.
    void this.#track(this.#queue!.remove(jobId, { removeChildren: false })).catch(() => {});
  }

  /**
   * Removes a finished job once its outcome is read, with the others read
   * within {@linkcode REMOVAL_INTERVAL_MS}: a ZREM from the finished set and a
   * DEL of the job hashes for all of them. A finished osiiso job is in one of
   * those sets and has no lock, children, logs or deduplication key, which is
   * what BullMQ's own removal (a script of ~15 Redis calls and a stream entry
   * per job) looks for.
   */
  #removeFinished(jobId: string, state: FinishedState): void {
    this.#finished[state].push(jobId);
    this.#removalTimer ??= setTimeout(() => this.#flushFinished(), REMOVAL_INTERVAL_MS);
  }

  #flushFinished(): void {
    clearTimeout(this.#removalTimer);
    this.#removalTimer = undefined;
    const { completed, failed } = this.#finished;
    const client = this.#queueClient;
    if (completed.length + failed.length === 0 || client === undefined) return;
    this.#finished = { completed: [], failed: [] };
    const multi = client.multi();
    if (completed.length > 0) multi.zrem(this.#key("completed"), ...completed);
    if (failed.length > 0) multi.zrem(this.#key("failed"), ...failed);
    multi.del(...completed.concat(failed).map((id) => this.#key(id)));
    void this.#track(multi.exec()).catch(() => {});
  }

  #failAll(error: unknown): void {
    const batch = this.#batch;
    this.#batch = [];
    this.#unsent.clear();
    for (const { opts } of batch) this.#settle(opts.jobId as string, false, error);
    for (const jobId of [...this.#followed.keys()]) this.#settle(jobId, false, error);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await this.#events?.close().catch(() => {});
    // The jobs whose outcome came until now are removed before the connection closes.
    this.#flushFinished();
    while (this.#pendingWrites.size > 0) {
      await Promise.allSettled([...this.#pendingWrites]);
    }
    await this.#queue?.close().catch(() => {});
    await Promise.allSettled([quit(this.#queueClient), quit(this.#eventsClient)]);
    this.#queue =
      this.#events =
      this.#queueClient =
      this.#eventsClient =
        undefined;
    this.#ready = undefined;
    this.#closed = false; // a queue reset after shutdown may connect again
  }
}

/** Ends a client: politely when connected, at once otherwise. */
async function quit(client: Redis | undefined): Promise<void> {
  if (client === undefined) return;
  if (client.status === "ready") {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}

/**
 * A queue whose tasks run as BullMQ jobs on workers anywhere (started with
 * `serveQueue` or the `worker` command): the same submit, map, group, run,
 * handles and `RunSummary` as the local queues. Tasks are task references
 * or self-contained functions; arguments and values cross with the
 * project's codec. BullMQ delays, prioritises, retries (with the task's
 * backoff) and recovers jobs whose worker died; hooks fire here.
 *
 * @example
 * ```ts ignore
 * import { DistributedQueue } from "@osiiso/osiiso/distributed";
 * await using q = new DistributedQueue({ name: "thumbs", connection: "redis://127.0.0.1:6379" });
 * q.map((n: number) => n * 2, [1, 2, 3], { retries: 2, timeout: 5_000 });
 * const summary = await q.run();
 * console.log(summary.values); // [2, 4, 6] in completion order
 * ```
 */
export class DistributedQueue extends TaskQueue {
  readonly #executor: BullExecutor;

  /** Creates the producer; it connects when started. */
  constructor(options: DistributedQueueOptions) {
    const given = (options ?? {}) as unknown as Record<string, unknown>;
    const resolved = resolveQueueOptions(given, OWN_OPTION_NAMES);
    const action = "create distributed queue";
    const name = checkString(action, "name", given.name);
    const connection = checkConnection(action, given.connection);
    const prefix = given.prefix === undefined
      ? "osiiso"
      : checkString(action, "prefix", given.prefix);
    // The rate limit is BullMQ's, across every worker, not the engine's.
    const { rate: _rate, burst: _burst, ...engineOptions } = given;
    const connectTimeout = given.connectTimeout === undefined
      ? CONNECT_TIMEOUT_MS
      : checkPositive(action, "connectTimeout", given.connectTimeout);
    const producerId = given.producerId === undefined
      ? crypto.randomUUID().slice(0, 13) // 48 random bits: no two producers share one
      : checkProducerId(action, given.producerId);
    const executor = new BullExecutor(
      name,
      connection,
      prefix,
      resolved.rate,
      resolved.burst,
      connectTimeout,
      producerId,
    );
    super(engineOptions as QueueOptions, executor, OWN_OPTION_NAMES);
    this.#executor = executor;
  }

  /** The id this producer's jobs on Redis start with (pass it to `attach` after a restart). */
  get producerId(): string {
    return this.#executor.producerId;
  }

  /**
   * Re-attaches to the jobs a producer with `options.producerId` submitted
   * before it stopped (crashed, restarted): each job still on Redis gets a
   * handle here, which settles with the job's outcome (at once for a job that
   * already finished), and counts in this queue's next `run()`. Returns the
   * queue; its handles are in `attached`.
   *
   * @example
   * ```ts ignore
   * import { DistributedQueue } from "@osiiso/osiiso/distributed";
   * const q = await DistributedQueue.attach({
   *   name: "thumbs",
   *   connection: "redis://127.0.0.1:6379",
   *   producerId: savedProducerId,
   * });
   * const summary = await q.run(); // the earlier jobs' results
   * ```
   */
  static async attach(
    options: DistributedQueueOptions & { producerId: string },
  ): Promise<DistributedQueue> {
    if (options?.producerId === undefined) {
      throw new TypeError(
        invalidMessage("attach distributed queue", "producerId", "a string", undefined),
      );
    }
    const queue = new DistributedQueue(options);
    try {
      const jobs = await queue.#executor.ownJobs();
      queue.#attached = jobs.map(({ id, name }) => {
        const job = new AttachedJob(id);
        return queue.submit(job as unknown as () => unknown, { name });
      });
    } catch (error) {
      await queue.shutdown({ force: true });
      throw error;
    }
    return queue;
  }

  #attached: readonly TaskHandle<unknown>[] = [];

  /** The handles of the jobs {@linkcode DistributedQueue.attach} found on Redis. */
  get attached(): readonly TaskHandle<unknown>[] {
    return this.#attached;
  }

  /**
   * Starts the queue and waits for it as the local queues do; rejects within
   * 10 s with `RedisUnavailableError` when Redis cannot be reached (the
   * queue's tasks then fail with that error).
   */
  override async run(options?: RunOptions): Promise<RunSummary<unknown>> {
    this.start();
    await this.#executor.connect();
    return await super.run(options);
  }

  /** Starts the queue and waits until nothing is outstanding; rejects as `run()` does. */
  override async join(): Promise<void> {
    this.start();
    await this.#executor.connect();
    await super.join();
  }
}

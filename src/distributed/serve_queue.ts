/**
 * The worker side of a distributed queue: a BullMQ worker that runs each job
 * on a local AsyncQueue, ThreadQueue or ProcessQueue, so that a timeout
 * really stops the work and CPU work does not block the lock renewal that
 * tells BullMQ the worker is alive.
 *
 * @module
 */

import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { CancelledError } from "../core/errors.ts";
import { startAttemptsAt } from "../core/handle.ts";
import type { Task } from "../core/queue_types.ts";
import type { TaskQueue } from "../core/task_queue.ts";
import { resolveTaskReference, reviveFunction, taskModule } from "../core/task_reference.ts";
import type { SourceDescriptor } from "../runtime/protocol.ts";
import {
  checkChoice,
  checkInteger,
  checkKnownNames,
  checkOptionsObject,
  checkPositive,
  checkString,
} from "../core/validate.ts";
import { AsyncQueue } from "../backends/async_queue.ts";
import { ProcessQueue } from "../backends/process_queue.ts";
import { ThreadQueue } from "../backends/thread_queue.ts";
import { fromWire, toWire } from "../core/codec.ts";
import { nodeProcess } from "../runtime/detect.ts";
import {
  checkConnection,
  checkEvictionPolicy,
  CONNECT_TIMEOUT_MS,
  createClient,
  type RedisConnection,
  whenConnected,
} from "./connection.ts";
import { throwable } from "./errors.ts";
import {
  BACKOFF_TYPE,
  JOB_FORMAT,
  type JobData,
  type JobOutcome,
  jobRetryDelay,
  STALLED_SETTINGS,
} from "./job.ts";

/** Where a worker runs its jobs: a local queue of that kind. */
export type WorkerBackend = "async" | "thread" | "process";

const BACKENDS: readonly WorkerBackend[] = ["async", "thread", "process"];
const OPTION_NAMES: ReadonlySet<string> = new Set([
  "name",
  "connection",
  "backend",
  "workers",
  "concurrency",
  "prefix",
  "connectTimeout",
]);

/** Options of {@linkcode serveQueue}. */
export interface ServeQueueOptions {
  /** The queue's name, as its producers use it. */
  name: string;
  /** Where Redis is: a `redis://` URL, or {@linkcode RedisConnectionOptions}. */
  connection: RedisConnection;
  /** The local queue that runs each job. Default `"process"`. */
  backend?: WorkerBackend;
  /** Workers (threads, children, async slots) of the local queue. Default: the CPU count. */
  workers?: number;
  /** Jobs taken from Redis at once. Default: `workers`. */
  concurrency?: number;
  /** Prefix of the queue's keys on Redis. Default `"osiiso"`. */
  prefix?: string;
  /** How long to wait for an unreachable Redis before rejecting, in ms. Default 10,000. */
  connectTimeout?: number;
}

/** A running worker of a distributed queue, from {@linkcode serveQueue}. */
export interface QueueWorker extends AsyncDisposable {
  /** The queue it serves. */
  readonly name: string;
  /** Jobs finished by this worker so far (succeeded or failed). */
  readonly processed: number;
  /**
   * Stops taking jobs, lets the running ones finish, then stops the local
   * queue and closes the connections. Calling it again is harmless.
   */
  close(): Promise<void>;
}

/**
 * Serves a distributed queue: takes its jobs from Redis and runs each on a
 * local queue (`backend`), `concurrency` at a time. Every worker uses the
 * same stalled-job settings, so a worker that dies mid-job has its jobs
 * taken over by another within a few seconds. Rejects within 10 s with
 * `RedisUnavailableError` when Redis cannot be reached.
 *
 * @example
 * ```ts ignore
 * import { serveQueue } from "@osiiso/osiiso/distributed";
 * const worker = await serveQueue({
 *   name: "thumbs",
 *   connection: "redis://127.0.0.1:6379",
 *   backend: "process",
 *   workers: 4,
 * });
 * // … later, to stop: running jobs finish first
 * await worker.close();
 * ```
 */
export async function serveQueue(options: ServeQueueOptions): Promise<QueueWorker> {
  const action = "serve queue";
  const given = checkOptionsObject(action, "options", options);
  checkKnownNames("serveQueue", given, OPTION_NAMES);
  const name = checkString(action, "name", given.name);
  const connection = checkConnection(action, given.connection);
  const backend = given.backend === undefined
    ? "process"
    : checkChoice(action, "backend", given.backend, BACKENDS);
  const workers = given.workers === undefined
    ? Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1)
    : checkInteger(action, "workers", given.workers, 1);
  const concurrency = given.concurrency === undefined
    ? workers
    : checkInteger(action, "concurrency", given.concurrency, 1);
  const prefix = given.prefix === undefined
    ? "osiiso"
    : checkString(action, "prefix", given.prefix);

  const connectTimeout = given.connectTimeout === undefined
    ? CONNECT_TIMEOUT_MS
    : checkPositive(action, "connectTimeout", given.connectTimeout);
  const client = createClient(connection);
  client.on("error", () => {});
  try {
    await whenConnected(client, connection, connectTimeout);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  await checkEvictionPolicy(client, connection, (message) => console.warn(message));
  const local = localQueue(backend, workers).start();
  // Async slots that never run short need no local queue for a plain job.
  const direct = backend === "async" && concurrency <= workers;
  return new JobRunner(name, client, local, prefix, concurrency, direct);
}

function localQueue(backend: WorkerBackend, workers: number): TaskQueue {
  const options = { workers, mode: "infinite" as const };
  if (backend === "async") return new AsyncQueue(options);
  if (backend === "thread") return new ThreadQueue(options);
  return new ProcessQueue(options);
}

/** A BullMQ worker whose jobs run on a local queue. */
class JobRunner implements QueueWorker {
  readonly name: string;
  readonly #client: Redis;
  readonly #local: TaskQueue;
  readonly #worker: Worker;
  readonly #pid = nodeProcess().pid;
  readonly #modules = new Map<string, Readonly<Record<string, unknown>>>();
  /**
   * Whether a job without a timeout or a context is called here rather than
   * on the local queue: true for the async backend when it has a slot for
   * every job taken at once, so the queue would start it at once on this
   * thread anyway and would add only its own cost: a quarter of this
   * process's CPU in a drain of trivial jobs (1,260 ms against 950 for 10,000 on Bun).
   */
  readonly #direct: boolean;
  // The functions of task references, once imported: a direct call skips the look-up's promise.
  readonly #functions = new Map<string, Map<string, (...args: unknown[]) => unknown>>();
  #processed = 0;
  #closing: Promise<void> | undefined;

  constructor(
    name: string,
    client: Redis,
    local: TaskQueue,
    prefix: string,
    concurrency: number,
    direct: boolean,
  ) {
    this.name = name;
    this.#client = client;
    this.#local = local;
    this.#direct = direct;
    this.#worker = new Worker(name, (job) => this.#run(job), {
      connection: client,
      prefix,
      concurrency,
      ...STALLED_SETTINGS,
      settings: {
        backoffStrategy: (attemptsMade, type, _error, job) =>
          type === BACKOFF_TYPE && job !== undefined
            ? jobRetryDelay(job.data as JobData, attemptsMade)
            : 0,
      },
    });
    // Connection trouble is retried by the client; a restarted Redis is found again.
    this.#worker.on("error", () => {});
  }

  get processed(): number {
    return this.#processed;
  }

  async #run(job: Job): Promise<JobOutcome> {
    const data = job.data as JobData;
    const attempt = job.attemptsMade + 1;
    let worker = this.#pid;
    let error: unknown;
    try {
      if (data.v !== JOB_FORMAT) {
        throw new TypeError(`job format ${String(data.v)} is not ${JOB_FORMAT}: update the worker`);
      }
      const args = fromWire(data.args) as unknown[];
      if (this.#direct && data.timeout === undefined && data.bind === undefined) {
        const value = await this.#call(data.source, args);
        return this.#done({ ok: true, value: toWire(value, "base64"), worker });
      }
      const handle = this.#local.submit(this.#task(data.source), args, {
        name: job.name,
        timeout: data.timeout,
        bind: data.bind,
      });
      // The job's attempt across workers: BullMQ counts each start, a start
      // on a worker that was lost included, as the producer's handle does.
      startAttemptsAt(handle, Math.max(job.attemptsStarted, attempt));
      const result = await handle.wait();
      // The local queue keeps no history: each job's result goes back to Redis.
      this.#local.clearResults();
      worker = result.worker ?? worker;
      if (result.status === "succeeded") {
        return this.#done({ ok: true, value: toWire(result.value, "base64"), worker });
      }
      error = result.status === "cancelled" ? new CancelledError(result.message) : result.exception;
    } catch (thrown) {
      error = thrown;
    }
    if (attempt < (job.opts.attempts ?? 1) && retryAllowed(data, error)) {
      throw throwable(error);
    }
    let encoded;
    try {
      encoded = toWire(error, "base64");
    } catch (encodeError) {
      encoded = toWire(encodeError, "base64");
    }
    return this.#done({ ok: false, error: encoded, worker });
  }

  /** The task a job names: its module's references are kept by URL, not rebuilt per job. */
  #task(source: SourceDescriptor): Task<unknown[], unknown> {
    if (source.kind === "inline") return reviveFunction(source.code) as Task<unknown[], unknown>;
    let module = this.#modules.get(source.url);
    if (module === undefined) {
      module = taskModule(source.url) as Readonly<Record<string, unknown>>;
      this.#modules.set(source.url, module);
    }
    return module[source.exportName] as Task<unknown[], unknown>;
  }

  /** Runs a job's task here, as the async backend's local queue would. */
  async #call(source: SourceDescriptor, args: unknown[]): Promise<unknown> {
    if (source.kind === "inline") return await reviveFunction(source.code)(...args);
    let exports = this.#functions.get(source.url);
    if (exports === undefined) this.#functions.set(source.url, exports = new Map());
    let fn = exports.get(source.exportName);
    if (fn === undefined) {
      fn = await resolveTaskReference(source);
      exports.set(source.exportName, fn);
    }
    return await fn(...args);
  }

  #done(outcome: JobOutcome): JobOutcome {
    this.#processed++;
    return outcome;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#worker.close();
    await this.#local.shutdown();
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Whether the task's `retryOn` (run here, on the worker) allows a retry of `error`. */
function retryAllowed(data: JobData, error: unknown): boolean {
  const retryOn = data.retry?.on;
  if (retryOn === undefined) return true;
  try {
    return reviveFunction(retryOn)(error) === true;
  } catch (hookError) {
    console.error("osiiso: retryOn threw; the task is not retried:", hookError);
    return false;
  }
}

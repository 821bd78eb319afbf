/**
 * W7: DistributedQueue against raw BullMQ, each with a private redis-server
 * (same configuration) and one worker process taking 16 jobs at a time.
 * - drain: 10k trivial jobs wait on Redis; the clock runs from the worker
 *   being ready to the last result at the producer.
 * - round trip: the worker is running; the clock runs from submitting 10k
 *   jobs to the last result.
 * - failover: a worker is SIGKILLed mid-job; the clock runs from the kill to
 *   the job's result, finished by the other worker (the job itself lasts 500 ms).
 *
 * @module
 */

import { type Program, startRedisServer, startWorkerProgram } from "../lib/programs.ts";
import type { Measurement, Workload } from "../types.ts";
import { cpuTimeMs, processCpuTimeMs } from "../lib/runtime.ts";
import type * as Tasks from "../lib/distributed_tasks.ts";

const JOBS = 10_000;
const CONCURRENCY = "16";
const rawWorkerScript = new URL("../lib/raw_bullmq_worker.ts", import.meta.url).pathname;
const ourWorkerScript = new URL("../../worker.ts", import.meta.url).pathname;
const ourWorkerArgs = ["--backend", "async", "--workers", CONCURRENCY];

/**
 * BullMQ, ioredis and the distributed backend, imported when a W7 row runs.
 * Every measurement process imports the workload registry, and so this
 * module: importing them up front would load Node's streams and sockets into
 * the processes of the other rows too, which a program that uses only the
 * local queues never loads (and the rows would not show what it pays).
 */
async function loadDistributed() {
  const [bullmq, ioredis, distributed, backend, references] = await Promise.all([
    import("bullmq"),
    import("ioredis"),
    import("../../distributed.ts"),
    import("../../src/distributed/distributed_queue.ts"),
    import("../../src/core/task_reference.ts"),
  ]);
  return {
    Queue: bullmq.Queue,
    QueueEvents: bullmq.QueueEvents,
    Redis: ioredis.Redis,
    DistributedQueue: distributed.DistributedQueue,
    EVENTS_KEPT: backend.EVENTS_KEPT,
    tasks: references.taskModule<typeof Tasks>(
      new URL("../lib/distributed_tasks.ts", import.meta.url),
    ),
  };
}

function startWorker(
  name: string,
  url: string,
  extra: readonly string[],
  script = ourWorkerScript,
): Promise<Program> {
  return startWorkerProgram(script, ["--name", name, "--connection", url, ...extra]);
}

async function withRedis<T>(body: (redis: Program & { url: string }) => Promise<T>): Promise<T> {
  const redis = await startRedisServer();
  try {
    return await body(redis);
  } finally {
    await redis.stop();
  }
}

/** CPU time used so far by the producer (this process), the worker and Redis, in ms. */
interface CpuClock {
  readonly producer: number;
  readonly worker: number | undefined;
  readonly redis: number | undefined;
}

function cpuNow(worker: Program | undefined, redis: Program): CpuClock {
  return {
    producer: cpuTimeMs(),
    worker: worker === undefined ? undefined : processCpuTimeMs(worker.pid),
    redis: processCpuTimeMs(redis.pid),
  };
}

/**
 * The CPU each process used since `from`, for the JSON output: on a shared
 * machine, wall time swings with what else runs; CPU time much less.
 */
function cpuSince(from: CpuClock, worker: Program, redis: Program): Record<string, number> {
  const to = cpuNow(worker, redis);
  const detail: Record<string, number> = { producerCpuMs: Math.round(to.producer - from.producer) };
  if (from.worker !== undefined && to.worker !== undefined) {
    detail.workerCpuMs = to.worker - from.worker;
  }
  if (from.redis !== undefined && to.redis !== undefined) detail.redisCpuMs = to.redis - from.redis;
  return detail;
}

function checkValues(values: readonly unknown[]): void {
  if (values.length !== JOBS) throw new Error(`${values.length} results, expected ${JOBS}`);
  const sum = values.reduce<number>((total, value) => total + (value as number), 0);
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong results (sum ${sum})`);
}

/** Ours: submit, start, optionally wait for Redis to hold every job and start the worker then. */
async function ours(drain: boolean): Promise<Measurement> {
  const { DistributedQueue, tasks } = await loadDistributed();
  return await withRedis(async (redis) => {
    const name = `w7-${drain ? "drain" : "trip"}`;
    let worker: Program | undefined = drain
      ? undefined
      : await startWorker(name, redis.url, ourWorkerArgs);
    const q = new DistributedQueue({ name, connection: redis.url });
    try {
      // Connected before the clock starts, as the raw producer's clients are.
      await q.join();
      const items = Array.from({ length: JOBS }, (_, i) => i);
      let cpu = cpuNow(worker, redis);
      let start = performance.now();
      q.map(tasks.double, items);
      const running = q.run();
      if (drain) {
        await waitForJobs(redis.url, name, "osiiso");
        worker = await startWorker(name, redis.url, ourWorkerArgs);
        cpu = cpuNow(worker, redis);
        start = performance.now();
      }
      const summary = await running;
      const ms = performance.now() - start;
      const detail = { ms, ...cpuSince(cpu, worker!, redis) };
      checkValues(summary.values);
      return { value: JOBS / (ms / 1_000), detail };
    } finally {
      await q.shutdown();
      await worker?.stop();
    }
  });
}

/** Raw BullMQ: addBulk, QueueEvents for the results, jobs removed on completion. */
async function raw(drain: boolean): Promise<Measurement> {
  const { EVENTS_KEPT, Queue, QueueEvents, Redis } = await loadDistributed();
  return await withRedis(async (redis) => {
    const name = `w7-raw-${drain ? "drain" : "trip"}`;
    const rawArgs = ["--concurrency", CONCURRENCY];
    let worker: Program | undefined = drain
      ? undefined
      : await startWorker(name, redis.url, rawArgs, rawWorkerScript);
    const queueClient = new Redis(redis.url, { maxRetriesPerRequest: null });
    const eventsClient = new Redis(redis.url, { maxRetriesPerRequest: null });
    // The event stream's cap DistributedQueue sets too: a producer that falls
    // behind BullMQ's default (10k) loses completions and would wait for ever.
    const queue = new Queue(name, {
      connection: queueClient,
      streams: { events: { maxLen: EVENTS_KEPT } },
    });
    // Events from the stream's start (this Redis is new): reading from '$', the
    // default, misses the completions that come before the first XREAD
    // reaches Redis, and the run then waits for ever.
    const events = new QueueEvents(name, { connection: eventsClient, lastEventId: "0-0" });
    try {
      await events.waitUntilReady();
      const values: unknown[] = [];
      const done = new Promise<void>((resolve) => {
        events.on("completed", ({ returnvalue }) => {
          values.push(typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue);
          if (values.length === JOBS) resolve();
        });
      });
      let cpu = cpuNow(worker, redis);
      let start = performance.now();
      const jobs = Array.from({ length: JOBS }, (_, n) => ({
        name: "double",
        data: { n },
        opts: { removeOnComplete: true },
      }));
      await queue.addBulk(jobs);
      if (drain) {
        worker = await startWorker(name, redis.url, rawArgs, rawWorkerScript);
        cpu = cpuNow(worker, redis);
        start = performance.now();
      }
      await done;
      const ms = performance.now() - start;
      const detail = { ms, ...cpuSince(cpu, worker!, redis) };
      checkValues(values);
      return { value: JOBS / (ms / 1_000), detail };
    } finally {
      await worker?.stop();
      await events.close();
      await queue.close();
      await Promise.all([queueClient.quit(), eventsClient.quit()]);
    }
  });
}

/** Waits until Redis holds all W7 jobs (waiting or prioritized). */
async function waitForJobs(url: string, name: string, prefix: string): Promise<void> {
  const { Queue, Redis } = await loadDistributed();
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: client, prefix });
  try {
    for (;;) {
      const counts = await queue.getJobCounts("waiting", "prioritized");
      if ((counts.waiting ?? 0) + (counts.prioritized ?? 0) >= JOBS) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await queue.close();
    await client.quit();
  }
}

async function failover(): Promise<Measurement> {
  const { DistributedQueue, tasks } = await loadDistributed();
  return await withRedis(async (redis) => {
    const name = "w7-failover";
    const args = ["--backend", "async", "--workers", "1"];
    const first = await startWorker(name, redis.url, args);
    const q = new DistributedQueue({ name, connection: redis.url });
    let second: Program | undefined;
    try {
      let began!: () => void;
      const started = new Promise<void>((resolve) => (began = resolve));
      const handle = q.submit(tasks.sleep, [500]);
      const running = q.run();
      // The first worker is the only one: the job starts there.
      const poll = setInterval(() => handle.status === "running" && began(), 5);
      await started;
      clearInterval(poll);
      second = await startWorker(name, redis.url, args);
      const killedAt = performance.now();
      await first.stop("SIGKILL");
      await running;
      const ms = performance.now() - killedAt;
      if (handle.result().worker !== second.pid) {
        throw new Error("the job was not finished by the other worker");
      }
      return { value: ms };
    } finally {
      await q.shutdown();
      await first.stop("SIGKILL");
      await second?.stop();
    }
  });
}

/** A W7 throughput workload: ours against raw BullMQ, draining or round trip. */
function throughput(describe: string, drain: boolean): Workload {
  return {
    describe,
    unit: "jobs/s",
    better: "higher",
    ours: "osiiso",
    target: "osiiso ≥ 0.8× raw BullMQ on the same runtime",
    timeoutMs: 120_000,
    formatCell: (value) => value.toFixed(0),
    impls: { osiiso: () => ours(drain), bullmq: () => raw(drain) },
  };
}

/** W7 round trip as the registry lists it. */
export const w7RoundTrip: Workload = throughput(
  `DistributedQueue round trip: ${JOBS} trivial jobs, 1 worker process, c = 16`,
  false,
);

/** W7 drain as the registry lists it. */
export const w7Drain: Workload = throughput(
  `DistributedQueue drain: ${JOBS} jobs waiting on Redis, 1 worker process, c = 16`,
  true,
);

/** W7 failover as the registry lists it. */
export const w7Failover: Workload = {
  describe: "DistributedQueue failover: SIGKILL a worker mid-job → result from the other",
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target: "within 5 s of the stalled interval (lock 4 s + check 1 s; the job lasts 0.5 s)",
  timeoutMs: 60_000,
  formatCell: (ms) => ms.toFixed(0),
  impls: { osiiso: failover },
};

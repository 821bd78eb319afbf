/**
 * DistributedQueue with real parts: a private redis-server, the `worker`
 * command in separate processes, the producer in this one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { DistributedQueue, RedisUnavailableError } from "../../distributed.ts";
import {
  type TaskHandle,
  taskModule,
  type TaskResult,
  TaskTimeoutError,
  WorkerCrashedError,
} from "../../mod.ts";
import { freePort, type RedisServer, startRedis } from "../helpers/redis_server.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { sortedNumbers } from "../helpers/asserts.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import type * as Tasks from "./fixtures/tasks.ts";
import { startWorker, type WorkerProcess } from "./workers.ts";

const tasks = taskModule<typeof Tasks>(new URL("./fixtures/tasks.ts", import.meta.url));
let queueCounter = 0;
const uniqueName = (label: string) => `${label}-${Date.now()}-${++queueCounter}`;

/** The jobs a queue holds on Redis, in any state. */
async function jobsOnRedis(url: string, name: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: client, prefix: "osiiso" });
  try {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((total, count) => total + count, 0);
  } finally {
    await queue.close();
    await client.quit();
  }
}

/** The keys a producer's jobs left on Redis (their ids start with its id). */
async function jobKeysOnRedis(url: string, name: string, producerId: string): Promise<string[]> {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  try {
    return await client.keys(`osiiso:${name}:${producerId}.*`);
  } finally {
    await client.quit();
  }
}

/**
 * Runs `q`, which holds `slow` (past its timeout) and `quick` (`double(21)`),
 * and checks that only `slow` failed, by its timeout; returns its result.
 */
async function runPastTimeout(
  q: DistributedQueue,
  slow: TaskHandle<unknown>,
  quick: TaskHandle<unknown>,
  message: string,
): Promise<TaskResult<unknown>> {
  const summary = await q.run();
  assert.equal(summary.failed, 1);
  assert.equal(await quick, 42);
  const result = slow.result();
  assert.equal(result.endedBy, "timeout");
  assert.ok(result.exception instanceof TaskTimeoutError);
  assert.equal(result.message, message);
  return result;
}

async function stopAll(workers: readonly WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.stop("SIGTERM")));
}

describe("DistributedQueue", () => {
  useLeakCheck();
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it(
    "runs tasks on two worker processes; the summary's counts are exact",
    { timeout: 30_000 },
    async () => {
      const name = uniqueName("basic");
      const workers = await Promise.all([
        startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
        startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
      ]);
      try {
        let started = 0;
        let completed = 0;
        const q = new DistributedQueue({
          name,
          connection: redis.url,
          onStart: () => void started++,
          onComplete: () => void completed++,
        });
        const handles = q.map(tasks.double, Array.from({ length: 16 }, (_, i) => i), {
          name: "double",
        });
        const inline = q.submit((a: number, b: number) => a + b, [20, 22]);
        const failing = q.submit(() => {
          throw new TypeError("bad input");
        });
        const summary = await q.run();
        await q.shutdown();
        assert.equal(summary.totalSubmitted, 18);
        assert.equal(summary.succeeded, 17);
        assert.equal(summary.failed, 1);
        assert.deepEqual(await Promise.all(handles), Array.from({ length: 16 }, (_, i) => i * 2));
        assert.equal(await inline, 42);
        const error = failing.exception();
        assert.ok(error instanceof TypeError);
        assert.equal((error as Error).message, "bad input");
        assert.equal(failing.result().endedBy, "threw");
        assert.equal(started, 18);
        assert.equal(completed, 18);
        const pids = new Set(summary.results.map((result) => result.worker));
        assert.ok([...pids].every((pid) => workers.some((worker) => worker.pid === pid)));
        // Finished jobs are removed once the producer has their results.
        assert.equal(await jobsOnRedis(redis.url, name), 0);
        assert.deepEqual(await jobKeysOnRedis(redis.url, name, q.producerId), []);
      } finally {
        await stopAll(workers);
      }
    },
  );

  it(
    "hands jobs to Redis at start; a worker started later runs them lowest priority number first",
    { timeout: 30_000 },
    async () => {
      await withTempDir("osiiso-order-", async (dir) => {
        const name = uniqueName("order");
        const log = join(dir, "order.log");
        const q = new DistributedQueue({ name, connection: redis.url });
        for (const priority of [5, 1, 3, 1, 0]) {
          q.submit(tasks.record, [log, `p${priority}`], { priority });
        }
        const running = q.run();
        // The worker must find all five on Redis, or it takes the first that arrives.
        const deadline = performance.now() + 20_000;
        while ((await jobsOnRedis(redis.url, name)) < 5) {
          assert.ok(performance.now() < deadline, "the jobs never reached Redis");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "1"]);
        try {
          const summary = await running;
          assert.equal(summary.succeeded, 5);
          assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
            "p0",
            "p1",
            "p1",
            "p3",
            "p5",
          ]);
        } finally {
          await q.shutdown();
          await worker.stop();
        }
      });
    },
  );

  it(
    "delays and runAt wait on Redis; retries use BullMQ with the task's backoff; retryOn runs on the worker",
    { timeout: 30_000 },
    async () => {
      await withTempDir("osiiso-retry-", async (dir) => {
        const name = uniqueName("retry");
        const worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "4"]);
        const retried: unknown[] = [];
        const q = new DistributedQueue({
          name,
          connection: redis.url,
          onRetry: (_handle, error) => void retried.push(error),
        });
        try {
          const delayed = q.submit(tasks.double, [1], { delay: 500 });
          const atTime = q.submit(tasks.double, [2], { runAt: new Date(Date.now() + 500) });
          const flaky = q.submit(tasks.failOnce, [join(dir, "flaky")], {
            retries: 2,
            retryDelay: 300,
          });
          const refused = q.submit(tasks.failOnce, [join(dir, "refused")], {
            retries: 2,
            retryOn: (error) => !(error instanceof RangeError),
          });
          // TaskContext.attempt on the worker is the job's attempt, not the local one.
          const counted = q.submit(tasks.secondAttempt, { bind: true, retries: 2 });
          const summary = await q.run();
          assert.equal(summary.succeeded, 4);
          assert.equal(summary.failed, 1);
          assert.equal(await counted, 2);
          assert.equal(counted.result().attempts, 2);
          for (const handle of [delayed, atTime]) {
            const result = handle.result();
            assert.ok(
              result.startedAt! - result.createdAt >= 450,
              `started after ${result.startedAt! - result.createdAt}ms`,
            );
          }
          assert.equal(await flaky, "second try");
          assert.equal(flaky.result().attempts, 2);
          assert.ok(flaky.result().duration >= 280, `retried after ${flaky.result().duration}ms`);
          assert.equal(retried.length, 2);
          assert.ok(retried.every((error) => error instanceof RangeError));
          assert.deepEqual(retried.map((error) => (error as Error).message).sort(), [
            "attempt 1 fails",
            "first attempt fails",
          ]);
          assert.equal(refused.result().attempts, 1);
          assert.ok(refused.exception() instanceof RangeError);
        } finally {
          await q.shutdown();
          await worker.stop();
        }
      });
    },
  );

  it("a timeout stops the work on the worker (process backend)", { timeout: 30_000 }, async () => {
    await withTempDir("osiiso-timeout-", async (dir) => {
      const name = uniqueName("timeout");
      const worker = await startWorker(name, redis.url, ["--backend", "process", "--workers", "1"]);
      const q = new DistributedQueue({ name, connection: redis.url });
      try {
        const marker = join(dir, "written");
        // Past the timeout (300 ms) and the kill grace that follows (1 s).
        const slow = q.submit(tasks.writeLater, [marker, 2_000], { timeout: 300 });
        const quick = q.submit(tasks.double, [21]);
        await runPastTimeout(q, slow, quick, "task 'writeLater' exceeded 300ms timeout");
        const waited = performance.timeOrigin + performance.now() - slow.result().startedAt!;
        await new Promise((resolve) => setTimeout(resolve, 2_400 - waited));
        assert.equal(existsSync(marker), false, "the timed-out task went on writing");
      } finally {
        await q.shutdown();
        await worker.stop();
      }
    });
  });

  it(
    "on the async backend a timeout settles the job at the limit, and jobs beyond the slots wait",
    { timeout: 30_000 },
    async () => {
      // Two jobs at once on one async slot: the second waits for the first.
      let name = uniqueName("async-slots");
      const narrow = await startWorker(name, redis.url, [
        "--backend",
        "async",
        "--workers",
        "1",
        "--concurrency",
        "2",
      ]);
      let q = new DistributedQueue({ name, connection: redis.url });
      try {
        const spans = q.map(tasks.span, [300, 300]);
        await q.run();
        const [first, second] = (await Promise.all(spans)).sort((a, b) => a[0] - b[0]);
        assert.ok(second[0] >= first[1], `overlapped: ${first} and ${second}`);
      } finally {
        await q.shutdown();
        await narrow.stop();
      }
      // A slot per job: a job with a timeout still has the local queue time it.
      name = uniqueName("async-timeout");
      const wide = await startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]);
      q = new DistributedQueue({ name, connection: redis.url });
      try {
        const slow = q.submit(tasks.double, [1, 2_000], { timeout: 200 });
        const quick = q.submit(tasks.double, [21]);
        const result = await runPastTimeout(q, slow, quick, "task 'double' exceeded 200ms timeout");
        assert.ok(result.duration < 1_500, `settled after ${result.duration}ms`);
      } finally {
        await q.shutdown();
        await wide.stop();
      }
    },
  );

  it(
    "a worker SIGKILLed mid-job has its job finished by another worker",
    { timeout: 30_000 },
    async () => {
      await withTempDir("osiiso-failover-", async (dir) => {
        const name = uniqueName("failover");
        const first = await startWorker(name, redis.url, ["--backend", "async", "--workers", "1"]);
        const retried: unknown[] = [];
        const q = new DistributedQueue({
          name,
          connection: redis.url,
          onRetry: (_handle, error) => void retried.push(error),
        });
        let second: WorkerProcess | undefined;
        try {
          const marker = join(dir, "pid");
          const handle = q.submit(tasks.attemptAfter, [marker, 1_500], { bind: true });
          const running = q.run();
          // Until the pid is written (the file exists a moment before).
          while (!existsSync(marker) || readFileSync(marker, "utf8") === "") {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.equal(Number(readFileSync(marker, "utf8")), first.pid);
          second = await startWorker(name, redis.url, ["--backend", "async", "--workers", "1"]);
          const killedAt = performance.now();
          assert.equal(await first.stop("SIGKILL"), "SIGKILL");
          const summary = await running;
          const failover = performance.now() - killedAt;
          assert.equal(summary.succeeded, 1);
          // The second worker runs the job's second attempt.
          assert.deepEqual(await handle, [second.pid, 2]);
          assert.equal(handle.result().worker, second.pid);
          assert.equal(handle.result().attempts, 2);
          assert.equal(retried.length, 1);
          assert.ok(retried[0] instanceof WorkerCrashedError);
          // Lock 4 s + stalled check every 1 s + the job's own 1.5 s.
          assert.ok(failover < 9_000, `taken over after ${Math.round(failover)}ms`);
        } finally {
          await q.shutdown();
          await first.stop("SIGKILL");
          await second?.stop();
        }
      });
    },
  );

  it("Redis restarted mid-run: the producer and workers reconnect and the run completes", {
    timeout: 60_000,
  }, async () => {
    const name = uniqueName("restart");
    const workers = await Promise.all([
      startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
      startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
    ]);
    const q = new DistributedQueue({ name, connection: redis.url });
    try {
      const items = Array.from({ length: 40 }, (_, i) => i);
      q.map(tasks.double, items.map((i) => i), { name: "double" });
      const handles = q.starmap(tasks.double, items.map((i) => [i, 100] as [number, number]));
      const running = q.run();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await redis.restart(500);
      const summary = await running;
      assert.equal(summary.succeeded, 80);
      assert.equal(summary.failed, 0);
      assert.deepEqual(await Promise.all(handles), items.map((i) => i * 2));
    } finally {
      await q.shutdown();
      await stopAll(workers);
    }
  });

  it("a producer that restarts re-attaches to its jobs", { timeout: 60_000 }, async () => {
    const name = uniqueName("attach");
    const producerId = `producer-${queueCounter}`;
    const script = fileURLToPath(new URL("./fixtures/producer.ts", import.meta.url));
    const args = [script, redis.url, name, producerId];
    const producer = spawn(
      process.execPath,
      "Deno" in globalThis ? ["run", "-A", "--node-modules-dir=manual", ...args] : args,
      { stdio: "ignore" },
    );
    const exited = new Promise((resolve) => producer.once("exit", resolve));
    let worker: WorkerProcess | undefined;
    let q: DistributedQueue | undefined;
    try {
      const deadline = performance.now() + 20_000;
      while ((await jobsOnRedis(redis.url, name)) < 6) {
        assert.ok(performance.now() < deadline, "the producer's jobs never reached Redis");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      producer.kill("SIGKILL");
      await exited;
      worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]);
      // Some jobs finish while no producer listens.
      await new Promise((resolve) => setTimeout(resolve, 300));
      q = await DistributedQueue.attach({ name, connection: redis.url, producerId });
      assert.equal(q.producerId, producerId);
      assert.equal(q.attached.length, 6);
      const summary = await q.run();
      assert.equal(summary.succeeded, 6);
      assert.deepEqual(
        sortedNumbers(summary.values),
        [2, 4, 6, 8, 10, 20],
      );
      assert.deepEqual(
        q.attached.map((handle) => handle.name).sort(),
        ["double", "double", "double", "double", "double", "slow double"],
      );
      await q.shutdown();
      assert.equal(await jobsOnRedis(redis.url, name), 0);
      assert.deepEqual(await jobKeysOnRedis(redis.url, name, producerId), []);
    } finally {
      producer.kill("SIGKILL");
      await exited;
      await q?.shutdown();
      await worker?.stop();
    }
  });

  it(
    "rate and burst hold across workers (BullMQ's global limiter)",
    { timeout: 30_000 },
    async () => {
      const name = uniqueName("rate");
      const workers = await Promise.all([
        startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
        startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]),
      ]);
      const q = new DistributedQueue({ name, connection: redis.url, rate: 5, burst: 1 });
      try {
        q.map(tasks.double, [1, 2, 3, 4, 5, 6]);
        const summary = await q.run();
        assert.equal(summary.succeeded, 6);
        const starts = summary.results.map((result) => result.startedAt!).sort((a, b) => a - b);
        // One start per 200 ms window: six starts span at least five windows.
        assert.ok(starts[5] - starts[0] >= 900, `six starts within ${starts[5] - starts[0]}ms`);
      } finally {
        await q.shutdown();
        await stopAll(workers);
      }
    },
  );

  it(
    "cancel, a run timeout and failFirst drop their jobs from Redis",
    { timeout: 30_000 },
    async () => {
      const name = uniqueName("cancel");
      const q = new DistributedQueue({ name, connection: redis.url });
      const cancelled = q.submit(tasks.double, [1], { delay: 5_000 });
      const timedOut = q.submit(tasks.double, [2], { delay: 5_000 });
      q.start();
      while ((await jobsOnRedis(redis.url, name)) < 2) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      cancelled.cancel();
      const summary = await q.run({ timeout: 300 });
      await q.shutdown();
      assert.equal(summary.timedOut, true);
      assert.equal(cancelled.cancelled(), true);
      assert.equal(timedOut.cancelled(), true);
      assert.equal(await jobsOnRedis(redis.url, name), 0);
      assert.deepEqual(await jobKeysOnRedis(redis.url, name, q.producerId), []);

      const failing = uniqueName("failfirst");
      const worker = await startWorker(failing, redis.url, [
        "--backend",
        "async",
        "--workers",
        "2",
      ]);
      const f = new DistributedQueue({
        name: failing,
        connection: redis.url,
        failPolicy: "failFirst",
      });
      try {
        f.submit(() => {
          throw new Error("first failure");
        });
        f.map(tasks.double, [1, 2, 3], { delay: 3_000 });
        const failed = await f.run();
        assert.equal(failed.failed, 1);
        assert.equal(failed.cancelled, 3);
        await f.shutdown();
        assert.equal(await jobsOnRedis(redis.url, failing), 0);
        assert.deepEqual(await jobKeysOnRedis(redis.url, failing, f.producerId), []);
      } finally {
        await f.shutdown();
        await worker.stop();
      }
    },
  );

  it("the worker command stops gracefully on SIGTERM: the running job finishes first", {
    timeout: 30_000,
  }, async () => {
    await withTempDir("osiiso-graceful-", async (dir) => {
      const name = uniqueName("graceful");
      const worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "1"]);
      const q = new DistributedQueue({ name, connection: redis.url });
      try {
        const marker = join(dir, "pid");
        const handle = q.submit(tasks.pidAfter, [marker, 800]);
        const running = q.run();
        while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(await worker.stop("SIGTERM"), 0);
        const summary = await running;
        assert.equal(summary.succeeded, 1);
        assert.equal(await handle, worker.pid);
        assert.equal(handle.result().attempts, 1);
      } finally {
        await q.shutdown();
        await worker.stop("SIGKILL");
      }
    });
  });

  it("a job whose module cannot be loaded fails that job only", { timeout: 30_000 }, async () => {
    const name = uniqueName("badmodule");
    const worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "2"]);
    const q = new DistributedQueue({ name, connection: redis.url });
    try {
      const missing = taskModule<{ gone(): void }>("file:///nonexistent/osiiso/tasks.ts");
      const bad = q.submit(missing.gone);
      const good = q.submit(tasks.double, [4]);
      const summary = await q.run();
      assert.equal(summary.succeeded, 1);
      assert.equal(summary.failed, 1);
      assert.equal(await good, 8);
      assert.match(bad.result().message, /nonexistent/);
    } finally {
      await q.shutdown();
      await worker.stop();
    }
  });
});

describe("DistributedQueue and serveQueue without Redis", () => {
  useLeakCheck();

  it("an unreachable Redis is a clear error within the connect timeout, and shutdown settles", {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    const connection = `redis://127.0.0.1:${port}`;
    const q = new DistributedQueue({ name: "nowhere", connection, connectTimeout: 500 });
    const handle = q.submit(tasks.double, [1]);
    const began = performance.now();
    await assert.rejects(q.run(), (error: unknown) => {
      assert.ok(error instanceof RedisUnavailableError);
      assert.match((error as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match((error as Error).message, /ECONNREFUSED/);
      return true;
    });
    assert.ok(performance.now() - began < 3_000);
    await q.shutdown();
    assert.ok(handle.exception() instanceof RedisUnavailableError);
    const { serveQueue } = await import("../../distributed.ts");
    await assert.rejects(
      serveQueue({ name: "nowhere", connection, connectTimeout: 500, backend: "async" }),
      RedisUnavailableError,
    );
  });
});

describe("A Redis that may evict keys", () => {
  useLeakCheck();

  it("gets a clear warning from the producer", { timeout: 30_000 }, async () => {
    const redis = await startRedis({ maxmemoryPolicy: "allkeys-lru" });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => void warnings.push(message);
    try {
      const q = new DistributedQueue({ name: uniqueName("evicting"), connection: redis.url });
      await q.run();
      await q.shutdown();
    } finally {
      console.warn = warn;
      await redis.stop();
    }
    // BullMQ prints a terse warning of its own; ours names the server and what to set.
    const ours = warnings.filter((message) => message.startsWith("osiiso:"));
    assert.equal(ours.length, 1);
    assert.match(ours[0], new RegExp(`Redis at ${redis.url.replaceAll(".", "\\.")}`));
    assert.match(ours[0], /maxmemory-policy 'allkeys-lru'; jobs may be evicted and lost/);
    assert.match(ours[0], /Set 'maxmemory-policy noeviction'/);
  });
});

describe("A producer that misses BullMQ's events", () => {
  useLeakCheck();

  it("still settles every job: it finds finished jobs on Redis", { timeout: 30_000 }, async () => {
    // Streams of one entry per node, trimmed to one entry: events vanish almost at once.
    const redis = await startRedis({ extraArgs: ["--stream-node-max-entries", "1"] });
    const name = uniqueName("trimmed");
    const q = new DistributedQueue({ name, connection: redis.url });
    let worker: WorkerProcess | undefined;
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const handles = q.map(tasks.double, Array.from({ length: 30 }, (_, i) => i));
      const running = q.run();
      while ((await jobsOnRedis(redis.url, name)) < 30) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await client.hset(`osiiso:${name}:meta`, "opts.maxLenEvents", "1");
      worker = await startWorker(name, redis.url, ["--backend", "async", "--workers", "4"]);
      const summary = await running;
      assert.equal(summary.succeeded, 30);
      assert.deepEqual(await Promise.all(handles), Array.from({ length: 30 }, (_, i) => i * 2));
      assert.ok(await client.xlen(`osiiso:${name}:events`) < 30, "the events were not trimmed");
    } finally {
      await q.shutdown();
      await worker?.stop();
      await client.quit();
      await redis.stop();
    }
  });
});

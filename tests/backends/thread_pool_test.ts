/**
 * The Web Worker pool, driven directly as the engine drives it: hand-made
 * attempt requests, no queue. Also the runtime facts the pool relies on
 * (how workers end, what terminate() stops), so that a runtime upgrade that
 * changes one shows here.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PoolOptions } from "../../src/backends/pool_options.ts";
import { ThreadPool } from "../../src/backends/thread_pool.ts";
import type { TaskSource } from "../../src/core/executor.ts";
import { TaskSerializationError, WorkerCrashedError } from "../../src/core/errors.ts";
import { abandonedLabels, liveResources } from "../../src/core/resources.ts";
import { taskModule } from "../../src/core/task_reference.ts";
import { outcome, rejection, request, runOn, withStartedPool } from "../helpers/attempt_request.ts";
import { sleep, waitFor } from "../helpers/timing.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import type * as Tasks from "../fixtures/thread_tasks.ts";

const tasks = taskModule<typeof Tasks>(new URL("../fixtures/thread_tasks.ts", import.meta.url));
const broken = taskModule<{ never(): number }>(
  new URL("../fixtures/thread_broken_module.ts", import.meta.url),
);
const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;

/** Runs `fn` with a started pool, and always force-closes it. */
function withPool<R>(
  options: PoolOptions & { workers?: number },
  fn: (pool: ThreadPool) => Promise<R>,
): Promise<R> {
  return withStartedPool(new ThreadPool(options), options.workers ?? 1, fn);
}

/** What a test sees of a `tasks.spinShared` run, and how it stops it. */
interface SharedSpin {
  /** The task's first argument: [stop, turns, left]. */
  readonly flags: Int32Array;
  /** How many turns the loop has made so far. */
  turns(): number;
  /** Whether the loop has ended (told to stop, or out of time). */
  left(): boolean;
  /**
   * Tells the loop to stop; on Deno, whose terminate() leaves the thread
   * spinning, also waits until it has left the loop, so that no thread spins
   * into the next test.
   */
  end(): Promise<void>;
}

/** Flags on a SharedArrayBuffer for `tasks.spinShared`: [stop, turns, left]. */
function sharedSpin(): SharedSpin {
  const flags = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const left = () => Atomics.load(flags, 2) === 1;
  return {
    flags,
    turns: () => Atomics.load(flags, 1),
    left,
    async end() {
      Atomics.store(flags, 0, 1);
      if (isDeno && Atomics.load(flags, 1) > 0) {
        await waitFor(left, 10_000, "the old thread ending");
      }
    },
  };
}

/** Resolves once `read()` has not changed for `quietMs`; throws after `timeoutMs`. */
async function waitForStill(
  read: () => number,
  quietMs: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let last = read();
  let changedAt = performance.now();
  await waitFor(
    () => {
      const now = read();
      if (now !== last) {
        last = now;
        changedAt = performance.now();
      }
      return performance.now() - changedAt >= quietMs;
    },
    timeoutMs,
    `${what} standing still for ${quietMs}ms`,
  );
}

describe("ThreadPool", () => {
  useLeakCheck();

  it("runs an inline function and a module export, and says which worker ran each", async () => {
    await withPool({ workers: 2 }, async (pool) => {
      const inline = request((a: number, b: number) => a * b, [6, 7]);
      const exported = request(tasks.add, [1, 2]);
      const asyncExport = request(tasks.echoLater, ["later", 5]);
      assert.deepEqual(
        await Promise.all([
          runOn(pool, inline),
          runOn(pool, exported),
          runOn(pool, asyncExport),
        ]),
        [42, 3, "later"],
      );
      assert.equal(inline.worker, 0);
      assert.equal(exported.worker, 1); // the second attempt found worker 0 busy: a new worker
      assert.ok(inline.begunAt !== undefined && exported.begunAt !== undefined);
      assert.equal(pool.liveWorkers(), 2);
    });
  });

  it("holds a window of attempts per worker and starts them one at a time, in order", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 4 }, async (pool) => {
      const requests = [0, 1, 2, 3].map((i) =>
        request(tasks.echoLater, [i, 30], { timeout: 5_000 })
      );
      const done: number[] = [];
      const promises = requests.map((r, i) =>
        runOn(pool, r).then((value) => {
          done[i] = performance.now();
          return value;
        })
      );
      assert.deepEqual(await Promise.all(promises), [0, 1, 2, 3]);
      for (let i = 1; i < 4; i++) {
        const begun = requests[i].begunAt!;
        // Each starts only when the one before it has ended (a timer's slack aside).
        assert.ok(begun >= done[i - 1] - 5, `attempt ${i} began before its predecessor ended`);
        assert.ok(begun - requests[i - 1].begunAt! >= 25, `attempt ${i} began too early`);
      }
      assert.ok(requests.every((r) => r.worker === 0));
    });
  });

  it("sizes its window from how long tasks take: long ones one at a time", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 8 }, async (pool) => {
      assert.equal(pool.capacity(2), 2, "one per worker until tasks are known to be short");
      for (let i = 0; i < 40; i++) {
        await Promise.all(
          Array.from({ length: pool.capacity(1) }, () => runOn(pool, request(tasks.add, [i, 1]))),
        );
      }
      assert.equal(pool.capacity(2), 16, "tiny tasks: the whole window");
      for (let i = 0; i < 3; i++) await runOn(pool, request(tasks.echoLater, [i, 20]));
      assert.equal(pool.capacity(2), 2, "20 ms tasks: one per worker");
    });
  });

  it("rebuilds errors with their class, message, stack, cause and data fields", async () => {
    await withPool({}, async (pool) => {
      const error = await rejection(runOn(pool, request(tasks.failWithCause)));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "outer problem");
      assert.match(String(error.stack), /thread_tasks\.ts/);
      assert.deepEqual(
        {
          code: (error as unknown as { code: string }).code,
          details: (error as { details?: unknown }).details,
        },
        { code: "E_OUTER", details: { retryable: false } },
      );
      const cause = error.cause;
      assert.ok(cause instanceof RangeError);
      assert.equal(cause.message, "inner problem");
      assert.equal((cause as unknown as { code: string }).code, "E_INNER");
      assert.equal(Object.keys(error).includes("cause"), false, "cause stays non-enumerable");
    });
  });

  it("keeps the name of an error class it does not know, and non-Error throws as they are", async () => {
    await withPool({}, async (pool) => {
      const custom = await rejection(runOn(pool, request(tasks.failCustom)));
      assert.ok(custom instanceof Error);
      assert.equal(custom.name, "QuotaError");
      assert.equal(custom.message, "over quota");
      assert.equal((custom as unknown as { limit: number }).limit, 10);
      assert.match(String(custom), /^QuotaError: over quota/);
      const plain = await rejection(runOn(pool, request(tasks.throwPlain)));
      assert.deepEqual(plain, { reason: "plain object", code: 7 });
    });
  });

  it("moves a buffer listed in transfer instead of copying it", async () => {
    await withPool({}, async (pool) => {
      const buffer = new Uint8Array([1, 2, 3, 250]).buffer;
      const moved = request(tasks.sumBytes, [buffer], { transfer: [buffer] });
      assert.equal(await runOn(pool, moved), 256);
      assert.equal(buffer.byteLength, 0, "the buffer was detached: moved, not copied");
      const copied = new Uint8Array([5, 5]).buffer;
      assert.equal(await runOn(pool, request(tasks.sumBytes, [copied])), 10);
      assert.equal(copied.byteLength, 2);
    });
  });

  it("fails only the attempt whose argument cannot be cloned", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const before = request(tasks.add, [1, 1]);
      const bad = request(tasks.add, [() => 1, 2]);
      const after = request(tasks.add, [2, 2]);
      const results = await Promise.all([before, bad, after].map((r) => outcome(runOn(pool, r))));
      assert.deepEqual(results[0], { ok: true, value: 2 });
      assert.deepEqual(results[2], { ok: true, value: 4 });
      const error = (results[1] as { error: unknown }).error;
      assert.ok(error instanceof TaskSerializationError, String(error));
      assert.match(error.message, /task 'add' could not be sent to a worker/);
      assert.equal(await runOn(pool, request(tasks.add, [3, 3])), 6);
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("fails only the attempt whose result cannot be cloned", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const [bad, good] = await Promise.all([
        outcome(runOn(pool, request(tasks.returnFunction))),
        outcome(runOn(pool, request(tasks.add, [1, 2]))),
      ]);
      assert.equal(bad.ok, false);
      const error = (bad as { error: unknown }).error;
      assert.ok(error instanceof TaskSerializationError);
      assert.match(error.message, /task result could not be cloned/);
      assert.deepEqual(good, { ok: true, value: 3 });
    });
  });

  it("fails an inline function that uses a variable from its surroundings", async () => {
    // An object, not a number: Bun's transpiler inlines numeric constants.
    const settings = { factor: 3 };
    await withPool({}, async (pool) => {
      const error = await rejection(
        runOn(pool, request((x: number) => x * settings.factor, [2], { name: "scale" })),
      );
      assert.ok(error instanceof TaskSerializationError);
      assert.match(error.message, /'scale'.*'settings'.*taskModule/);
      // start() boots one worker ahead of work; the refused task started no other.
      assert.equal(pool.liveWorkers(), 1, "nothing was sent, no further worker was needed");
    });
  });

  it("refuses a promise or a non-function as a task before anything runs", () => {
    const pool = new ThreadPool();
    assert.throws(
      () => pool.validateSource(Promise.resolve(1), "submit task"),
      (error: unknown) => error instanceof TypeError && /already running/.test(error.message),
    );
    assert.throws(() => pool.validateSource(42, "submit task"), TypeError);
    pool.validateSource(tasks.add, "submit task");
    pool.validateSource((a: number) => a, "submit task");
  });

  it("gives a bound task its context in the worker", async () => {
    await withPool({}, async (pool) => {
      const bound = request(tasks.describeContext, ["x"], { bind: true });
      assert.deepEqual(await runOn(pool, bound), {
        id: bound.taskId,
        name: "describeContext",
        attempt: 1,
        aborted: false,
        extra: "x",
      });
    });
  });

  it("aborts a bound task's signal in the worker with the engine's reason", async () => {
    await withPool({ workers: 1, killGrace: 5_000 }, async (pool) => {
      const waiting = request(tasks.waitForAbort, [], { bind: true });
      const settled = outcome(runOn(pool, waiting));
      while (waiting.begunAt === undefined) await sleep(5);
      await sleep(20);
      waiting.abort();
      const result = await settled;
      assert.equal(result.ok, false, "an abandoned attempt settles, as a failure");
      // The task saw the abort and stopped by itself: same worker, no kill.
      assert.equal(await runOn(pool, request(tasks.lastAbortSeen)), "TaskTimeoutError");
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("drops an aborted attempt that had not started", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      // The first task holds the worker until the test lets it go.
      const gate = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
      const open = () => void (Atomics.store(gate, 0, 1), Atomics.notify(gate, 0));
      const first = request(tasks.waitForGate, [gate, "first"]);
      const second = request(tasks.countCall);
      const third = request(tasks.countCall);
      const results = [first, second, third].map((r) => outcome(runOn(pool, r)));
      try {
        await waitFor(() => first.begunAt !== undefined, 10_000, "the first task running");
        second.abort();
      } finally {
        open();
      }
      assert.deepEqual(await results[0], { ok: true, value: "first" });
      assert.equal((await results[1]).ok, false);
      assert.deepEqual(await results[2], { ok: true, value: 1 }, "the dropped task never ran");
      assert.equal(second.begunAt, undefined);
    });
  });

  it("fails a task whose module cannot be imported, and keeps the worker", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const error = await rejection(runOn(pool, request(broken.never)));
      assert.ok(error instanceof Error && !(error instanceof WorkerCrashedError));
      assert.match(error.message, /cannot import task module .*this module cannot load/);
      assert.equal(await runOn(pool, request(tasks.add, [1, 1])), 2);
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("terminates a worker whose aborted task does not stop, and re-dispatches its queue", async () => {
    const spin = sharedSpin();
    try {
      await withPool({ workers: 1, killGrace: 100 }, async (pool) => {
        const stuck = request(tasks.spinShared, [spin.flags, 60_000], { timeout: 50 });
        const queued = [request(tasks.countCall), request(tasks.countCall)];
        const stuckOutcome = outcome(runOn(pool, stuck));
        const queuedValues = Promise.all(queued.map((r) => runOn(pool, r)));
        await waitFor(() => spin.turns() > 0, 10_000, "the task spinning");
        stuck.abort();
        assert.equal((await stuckOutcome).ok, false);
        // Fresh worker: its call counter starts again at 1.
        assert.deepEqual(await queuedValues, [1, 2]);
        // Re-dispatched after the kill grace: the stuck task never ended by itself.
        assert.equal(spin.left(), false, "the queued tasks waited for the stuck one to end");
        assert.ok(queued.every((r) => r.begunAt !== undefined && r.worker === 0));
      });
    } finally {
      await spin.end();
    }
  });

  it(
    isDeno
      ? "replaces a worker stuck in sync code (Deno: terminate cannot stop it; the thread spins on)"
      : "stops a worker stuck in sync code when it terminates it",
    async () => {
      const spin = sharedSpin();
      try {
        await withPool({ workers: 1, killGrace: 50 }, async (pool) => {
          const stuck = request(tasks.spinShared, [spin.flags, 60_000], { timeout: 50 });
          const settled = outcome(runOn(pool, stuck));
          await waitFor(() => spin.turns() > 0, 10_000, "the task spinning");
          stuck.abort();
          assert.equal((await settled).ok, false);
          // The pool goes on without waiting for the old thread: a new worker answers.
          assert.equal(await runOn(pool, request(tasks.add, [2, 3])), 5);
          assert.equal(pool.liveWorkers(), 1);
          if (isDeno) {
            // Deno's terminate() does not stop synchronous code (denoland/deno
            // PR #35657): the old thread still counts. If this fails, Deno
            // fixed it: update the docs.
            assert.equal(spin.left(), false, "the old thread left its loop by itself");
            const seen = spin.turns();
            await waitFor(() => spin.turns() > seen, 10_000, "the old thread counting on");
          } else {
            // The count stands still once the thread is gone, and the loop never ended.
            await waitForStill(spin.turns, 250, 10_000, "the old thread's count");
            assert.equal(spin.left(), false);
          }
        });
      } finally {
        await spin.end();
      }
    },
  );

  it("reports a killed worker as abandoned only where it may spin on (Deno, synchronous code)", async () => {
    await withPool({ workers: 1, killGrace: 50 }, async (pool) => {
      const label = (name: string) => `ThreadQueue worker 0 running task '${name}'`;
      // Ignores its abort but yields: terminate() stops it on both runtimes.
      const sleeper = request(tasks.echoLater, ["x", 5_000], { name: "sleeper" });
      const slept = outcome(runOn(pool, sleeper));
      while (sleeper.begunAt === undefined) await sleep(5);
      sleeper.abort();
      await slept;
      assert.equal(await runOn(pool, request(tasks.add, [1, 1])), 2); // replaced
      assert.equal(abandonedLabels().includes(label("sleeper")), false);
      // Synchronous: on Deno the terminated thread spins on.
      const spin = sharedSpin();
      try {
        const spinner = request(tasks.spinShared, [spin.flags, 60_000], { name: "spinner" });
        const spun = outcome(runOn(pool, spinner));
        await waitFor(() => spin.turns() > 0, 10_000, "the spinner spinning");
        spinner.abort();
        await spun;
        assert.equal(await runOn(pool, request(tasks.add, [1, 1])), 2);
        assert.equal(abandonedLabels().includes(label("spinner")), isDeno);
      } finally {
        await spin.end();
      }
    });
  });

  const crashes: {
    name: string;
    source: TaskSource;
    args: unknown[];
    message: RegExp;
    only?: boolean;
  }[] = [
    {
      name: "process.exit()",
      source: tasks.exitProcess,
      args: [3],
      message: /worker 0 exited: the task called process\.exit\(\) \(exit code 3\)/,
    },
    {
      name: "the exit imported from node:process",
      source: tasks.exitImported,
      args: [5],
      message: /worker 0 exited: the task called process\.exit\(\) \(exit code 5\)/,
    },
    {
      name: "Deno.exit()",
      source: tasks.exitDeno,
      args: [4],
      message: /worker 0 exited: the task called Deno\.exit\(\) \(exit code 4\)/,
      only: isDeno,
    },
    {
      name: "self.close()",
      source: tasks.closeSelf,
      args: [],
      message: /worker 0 exited: the task called self\.close\(\)/,
      only: isDeno, // Bun has no self.close() in workers
    },
    {
      name: "an error thrown from a timer",
      source: tasks.throwFromTimer,
      args: [],
      message: /worker 0 crashed: uncaught Error: thrown from a timer/,
    },
    {
      name: "an unhandled rejection",
      source: tasks.rejectFromTimer,
      args: [],
      message: /worker 0 crashed: uncaught Error: stray rejection/,
    },
  ];
  for (const crash of crashes) {
    if (crash.only === false) continue;
    it(`fails the running task on ${crash.name} and re-dispatches the others`, async () => {
      await withPool({ workers: 1, maxInFlightPerWorker: 8 }, async (pool) => {
        const warm = request(tasks.countCall);
        assert.equal(await runOn(pool, warm), 1);
        const crashing = request(crash.source, crash.args);
        const others = [
          request(tasks.countCall),
          request(tasks.countCall),
          request(tasks.add, [1, 2]),
        ];
        const crashed = outcome(runOn(pool, crashing));
        const values = Promise.all(others.map((r) => runOn(pool, r)));
        const error = await rejection(
          crashed.then((o) => (o.ok ? o.value : Promise.reject(o.error))),
        );
        assert.ok(error instanceof WorkerCrashedError, String(error));
        assert.match(error.message, crash.message);
        assert.equal(error.worker, 0);
        // They ran on a replacement (its counter starts again), unstarted before.
        assert.deepEqual(await values, [1, 2, 3]);
        assert.equal(pool.liveWorkers(), 1);
      });
    });
  }

  it("recycles a worker after maxTasksPerWorker attempts", async () => {
    await withPool({ workers: 1, maxTasksPerWorker: 3 }, async (pool) => {
      const values = await Promise.all(
        Array.from({ length: 7 }, () => runOn(pool, request(tasks.countCall))),
      );
      assert.deepEqual(values, [1, 2, 3, 1, 2, 3, 1]);
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("shrinks to zero workers when idle and starts one again on demand", async () => {
    await withPool({ workers: 2, idleTimeout: 150 }, async (pool) => {
      await Promise.all([
        runOn(pool, request(tasks.add, [1, 1])),
        runOn(pool, request(tasks.add, [1, 1])),
      ]);
      // (One may already be gone if the other took long to start.)
      assert.ok(pool.liveWorkers() > 0);
      assert.equal(liveResources().workers, pool.liveWorkers());
      const deadline = performance.now() + 2_000;
      while (pool.liveWorkers() > 0 && performance.now() < deadline) await sleep(10);
      assert.equal(pool.liveWorkers(), 0);
      assert.equal(liveResources().workers, 0);
      assert.equal(liveResources().timers, 0);
      assert.equal(await runOn(pool, request(tasks.countCall)), 1);
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("runs the initializer once in each worker before its tasks; its state is theirs", async () => {
    await withPool({ workers: 2, initializer: tasks.setup, initArgs: ["db"] }, async (pool) => {
      const states = await Promise.all(
        Array.from({ length: 4 }, () => runOn(pool, request(tasks.initState))),
      );
      assert.deepEqual(states, Array(4).fill({ tag: "db", calls: 1 }));
      assert.equal(pool.liveWorkers(), 2);
    });
  });

  it("fails the tasks sent to a worker whose initializer throws, then tries a fresh worker", async () => {
    await withPool({ workers: 1, initializer: tasks.failingSetup }, async (pool) => {
      const first = await rejection(runOn(pool, request(tasks.add, [1, 1])));
      assert.ok(first instanceof Error);
      assert.equal(first.message, "setup failed (1)");
      // A fresh worker (its module state is new, so the count is 1 again).
      const second = await rejection(runOn(pool, request(tasks.add, [1, 1])));
      assert.equal((second as Error).message, "setup failed (1)");
    });
  });

  it("blames the first task when a worker dies while starting, so nothing loops", async () => {
    await withPool({ workers: 1, initializer: tasks.crashingSetup }, async (pool) => {
      const results = await Promise.all(
        [1, 2, 3].map(() => outcome(runOn(pool, request(tasks.add, [1, 1])))),
      );
      for (const result of results) {
        assert.equal(result.ok, false);
        const error = (result as { error: unknown }).error;
        assert.ok(error instanceof WorkerCrashedError);
        assert.match(error.message, /setup crashed/);
      }
    });
  });

  it("settles every attempt and stops every worker on a forced close", async () => {
    const pool = new ThreadPool({ maxInFlightPerWorker: 4 });
    pool.start(2);
    const requests = Array.from({ length: 6 }, () => request(tasks.echoLater, ["x", 10_000]));
    const outcomes = requests.map((r) => outcome(runOn(pool, r)));
    await sleep(50);
    assert.equal(pool.liveWorkers(), 2);
    await pool.close(true);
    const settled = await Promise.all(outcomes);
    assert.ok(settled.every((o) => !o.ok && o.error instanceof WorkerCrashedError));
    assert.equal(pool.liveWorkers(), 0);
    assert.equal(liveResources().workers, 0);
  });

  it("waits for an aborted task (up to the kill grace) on a graceful close", async () => {
    const spin = sharedSpin();
    const pool = new ThreadPool({ killGrace: 100 });
    pool.start(1);
    try {
      const stuck = request(tasks.spinShared, [spin.flags, 60_000], { timeout: 10 });
      const settled = outcome(runOn(pool, stuck));
      await waitFor(() => spin.turns() > 0, 10_000, "the task spinning");
      stuck.abort();
      assert.equal((await settled).ok, false);
      await pool.close(false);
      // The close waited for the kill grace, not for the task: it is still in its loop.
      assert.equal(spin.left(), false, "the close waited for the task to end");
      assert.equal(pool.liveWorkers(), 0);
    } finally {
      await spin.end();
    }
  });

  it("can be used again after close", async () => {
    const pool = new ThreadPool();
    pool.start(1);
    assert.equal(await runOn(pool, request(tasks.add, [1, 2])), 3);
    await pool.close(false);
    pool.start(1);
    assert.equal(await runOn(pool, request(tasks.add, [2, 2])), 4);
    await pool.close(false);
    assert.equal(liveResources().workers, 0);
  });

  it("does not keep a finished program alive when nobody shuts the queue down", () => {
    const script = new URL("../fixtures/thread_idle_exit_main.ts", import.meta.url).pathname;
    const args = isDeno ? ["run", "-A", script] : [script];
    const child = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 20_000 });
    assert.equal(child.signal, null, `the program did not end by itself: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), "value 42 3\nvalue 42 3");
  });
});

describe("Web Worker facts the pool relies on", () => {
  const rawWorkerUrl = new URL("../fixtures/thread_raw_worker.ts", import.meta.url);

  /** Starts a bare worker, waits until it answers, and records every event it gives after. */
  async function rawWorker(): Promise<{ worker: Worker; events: string[] }> {
    const worker = new Worker(rawWorkerUrl, { type: "module" });
    // The first start can take a while (Deno type-checks the module).
    await new Promise((resolve) => {
      worker.addEventListener("message", resolve, { once: true });
      worker.postMessage("ping");
    });
    const events: string[] = [];
    worker.addEventListener("message", (event) => events.push(`message:${event.data}`));
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      events.push("error");
    });
    worker.addEventListener("close", () => events.push("close"));
    return { worker, events };
  }

  it(
    isDeno
      ? "Deno: a worker that calls self.close() vanishes without any event"
      : "Bun: a worker has no self.close()",
    async () => {
      const { worker, events } = await rawWorker();
      try {
        worker.postMessage("has-close");
        await waitFor(() => events.length > 0, 10_000, "the answer to has-close");
        worker.postMessage("close");
        await sleep(300); // nothing to wait for: a close or error event would come in this time
        worker.postMessage("ping");
        await sleep(200);
        if (isDeno) assert.deepEqual(events, ["message:function"], "no close/error event, no pong");
        else assert.equal(events[0], "message:undefined");
      } finally {
        worker.terminate();
      }
    },
  );

  it(
    isDeno
      ? "Deno: process.exit() in a worker ends it without any event"
      : "Bun: process.exit() in a worker ends only the worker, with a close event",
    async () => {
      const { worker, events } = await rawWorker();
      try {
        worker.postMessage("exit");
        // Bun gives a close event; Deno gives none, so it is given time to.
        if (isDeno) await sleep(300);
        else await waitFor(() => events.length > 0, 10_000, "the close event");
        worker.postMessage("ping");
        await sleep(200);
        assert.deepEqual(events, isDeno ? [] : ["close"]);
      } finally {
        worker.terminate();
      }
    },
  );

  it(
    isDeno ? "Deno: a Web Worker has no unref()" : "Bun: a Web Worker has unref() and ref()",
    async () => {
      const { worker } = await rawWorker();
      try {
        const methods = worker as unknown as { unref?: unknown; ref?: unknown };
        assert.equal(typeof methods.unref, isDeno ? "undefined" : "function");
        assert.equal(typeof methods.ref, isDeno ? "undefined" : "function");
      } finally {
        worker.terminate();
      }
    },
  );

  it(
    isDeno
      ? "Deno: an uncaught worker error crashes the parent unless its listener calls preventDefault()"
      : "Bun: an uncaught worker error does not crash the parent",
    () => {
      const script = new URL("../fixtures/thread_raw_error_main.ts", import.meta.url).pathname;
      const run = (mode: string) =>
        spawnSync(process.execPath, isDeno ? ["run", "-A", script, mode] : [script, mode], {
          encoding: "utf8",
          timeout: 20_000,
        });
      const prevented = run("prevent");
      assert.equal(prevented.status, 0, prevented.stderr);
      assert.equal(prevented.stdout.trim(), "survived");
      const plain = run("none");
      if (isDeno) {
        assert.notEqual(plain.status, 0);
        assert.doesNotMatch(plain.stdout, /survived/);
      } else {
        assert.equal(plain.status, 0, plain.stderr);
        assert.equal(plain.stdout.trim(), "survived");
      }
    },
  );

  it("structured clone keeps no own data fields of an Error (and Bun drops cause)", () => {
    const error = Object.assign(new Error("outer", { cause: new Error("inner") }), { code: 7 });
    const copy = structuredClone(error) as Error & { code?: number };
    assert.equal(copy.code, undefined);
    if (isBun) assert.equal(copy.cause, undefined);
  });
});

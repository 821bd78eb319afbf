/**
 * The subprocess pool, driven directly as the engine drives it: hand-made
 * attempt requests, no queue. Also the runtime facts about subprocesses the
 * pool relies on (process-group kills, EOF on stdin when
 * the parent dies, no pipe keeping a finished program alive), so that a
 * runtime upgrade that changes one shows here. The process table is checked
 * as well as the library's own ledger.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProcessPool, type ProcessPoolOptions } from "../../src/backends/process_pool.ts";
import { ProcessQueue } from "../../src/backends/process_queue.ts";
import {
  TaskSerializationError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "../../src/core/errors.ts";
import { liveResources } from "../../src/core/resources.ts";
import { taskModule } from "../../src/core/task_reference.ts";
import { spawnChild } from "../../src/runtime/spawn.ts";
import { outcome, rejection, request, runOn, withStartedPool } from "../helpers/attempt_request.ts";
import { sleep, waitFor } from "../helpers/timing.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { processesInGroups, processTable } from "../helpers/process_table.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import type * as Tasks from "../fixtures/process_tasks.ts";

const tasksUrl = new URL("../fixtures/process_tasks.ts", import.meta.url).href;
const tasks = taskModule<typeof Tasks>(tasksUrl);
const isDeno = "Deno" in globalThis;

/** Runs `fn` with a started pool, always force-closes it, and checks nothing is left. */
async function withPool<R>(
  options: ProcessPoolOptions & { workers?: number },
  fn: (pool: ProcessPool) => Promise<R>,
): Promise<R> {
  try {
    return await withStartedPool(new ProcessPool(options), options.workers ?? 1, fn);
  } finally {
    assert.equal(liveResources().children, 0, "close() resolves once every child has exited");
  }
}

function isAlive(pid: number): boolean {
  const entry = processTable().find((candidate) => candidate.pid === pid);
  return entry !== undefined && entry.state !== "Z";
}

/** Waits until none of `pids` is alive and no process is left in their groups. */
async function waitUntilGone(pids: readonly number[], ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const alive = pids.filter(isAlive);
    const inGroups = processesInGroups(pids).filter((entry) => entry.state !== "Z");
    if (alive.length === 0 && inGroups.length === 0) return;
    await sleep(20);
  }
  const left = [...pids.filter(isAlive), ...processesInGroups(pids).map((entry) => entry.pid)];
  assert.fail(`${what}: still alive after ${ms}ms: ${[...new Set(left)].join(", ")}`);
}

/** The command that runs a fixture script as its own process on this runtime. */
function fixtureCommand(name: string, denoFlags: readonly string[] = ["-A"]): string[] {
  const path = new URL(`../fixtures/${name}`, import.meta.url).pathname;
  return isDeno ? [process.execPath, "run", ...denoFlags, path] : [process.execPath, path];
}

/**
 * Runs a fixture program that never shuts its queue down; checks that it
 * ended by itself, successfully, and returns the JSON it printed.
 */
function runsToItsEnd<T>(name: string): T {
  const [command, ...args] = fixtureCommand(name);
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  assert.equal(result.status, 0, `exit ${result.status} ${result.signal}: ${result.stderr}`);
  assert.ok(performance.now() - started < 20_000, "the program ended by itself");
  return JSON.parse(result.stdout.trim()) as T;
}

describe("ProcessPool", () => {
  useLeakCheck();

  it("runs inline functions and module exports in children and records their pids", async () => {
    await withPool({ workers: 2 }, async (pool) => {
      const requests = [
        request((a: number, b: number) => a * b, [6, 7]),
        request(tasks.double, [21]),
        request(tasks.sleepThen, [5, "later"]),
        request(tasks.pid),
      ];
      const values = await Promise.all(requests.map((r) => runOn(pool, r)));
      assert.deepEqual(values.slice(0, 3), [42, 42, "later"]);
      const pids = new Set(requests.map((r) => r.worker));
      assert.ok(pids.size >= 1 && pids.size <= 2, `two children at most, got ${[...pids]}`);
      for (const r of requests) {
        assert.equal(typeof r.worker, "number");
        assert.notEqual(r.worker, process.pid);
        assert.ok(r.begunAt !== undefined, "began() was called");
      }
      assert.ok(pids.has(values[3] as number), "the pid recorded is the child's own");
      assert.equal(pool.liveWorkers(), pids.size);
      assert.equal(liveResources().children, pids.size);
    });
  });

  it("keeps module state in a child between its attempts (a persistent pool)", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const pids = [];
      for (let i = 0; i < 4; i++) pids.push(await runOn(pool, request(tasks.pid)));
      assert.equal(new Set(pids).size, 1);
    });
  });

  it("starts a child's queued attempts one at a time, calling began() at each start", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 4 }, async (pool) => {
      const first = request(tasks.sleepThen, [150, "first"], { timeout: 5_000 });
      const second = request(tasks.sleepThen, [0, "second"], { timeout: 5_000 });
      const values = await Promise.all([runOn(pool, first), runOn(pool, second)]);
      assert.deepEqual(values, ["first", "second"]);
      assert.ok(
        second.begunAt! - first.begunAt! >= 120,
        `the second began ${second.begunAt! - first.begunAt!}ms after the first`,
      );
    });
  });

  it("carries every supported value type both ways", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const shared = { tag: "shared" };
      const value = {
        json: { s: "✓", n: 1.5, list: [1, null, true] },
        undef: undefined,
        numbers: [NaN, -0, Infinity, -Infinity],
        big: 2n ** 80n,
        date: new Date(1_234),
        regexp: /x+/g,
        map: new Map<unknown, unknown>([["a", 1], [shared, new Set([2])]]),
        set: new Set([shared]),
        bytes: Uint8Array.of(1, 2, 3),
        floats: Float64Array.of(0.5),
        buffer: Uint16Array.of(7).buffer,
        error: Object.assign(new TypeError("bad", { cause: new Error("root") }), { code: 9 }),
        shared,
      };
      const back = await runOn(pool, request(tasks.echo, [value])) as typeof value;
      assert.deepEqual(back.json, value.json);
      assert.ok("undef" in back && back.undef === undefined);
      assert.ok(Number.isNaN(back.numbers[0]) && Object.is(back.numbers[1], -0));
      assert.equal(back.numbers[3], -Infinity);
      assert.equal(back.big, 2n ** 80n);
      assert.equal(back.date.getTime(), 1_234);
      assert.equal(String(back.regexp), "/x+/g");
      assert.equal([...back.map.keys()][1], back.shared, "shared references stay shared");
      assert.equal([...back.set][0], back.shared);
      assert.deepEqual(back.bytes, Uint8Array.of(1, 2, 3));
      assert.deepEqual(back.floats, Float64Array.of(0.5));
      assert.deepEqual(new Uint16Array(back.buffer), Uint16Array.of(7));
      assert.ok(back.error instanceof TypeError);
      assert.equal((back.error.cause as Error).message, "root");
      assert.equal((back.error as TypeError & { code: number }).code, 9);
    });
  });

  it("an error thrown in a child arrives with its class, cause and fields", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const error = await rejection(runOn(pool, request(tasks.throwsRich))) as RangeError & {
        code: string;
        details: { when: Date; ids: Set<number> };
      };
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, "outer failure");
      assert.ok(error.cause instanceof TypeError);
      assert.equal(error.code, "E_RICH");
      assert.ok(error.details.when instanceof Date);
      assert.deepEqual(error.details.ids, new Set([1, 2]));
      assert.match(String(error.stack), /throwsRich/);
    });
  });

  it("an argument that cannot cross fails only its own attempt", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const before = request(tasks.pid);
      const bad = request(tasks.echo, [{ callback: () => 1 }]);
      const after = request(tasks.pid);
      const [first, error, last] = await Promise.all([
        runOn(pool, before),
        rejection(runOn(pool, bad)),
        runOn(pool, after),
      ]);
      assert.ok(error instanceof TaskSerializationError);
      assert.match((error as Error).message, /task 'echo' could not be sent to a child process/);
      assert.match(
        (error as Error).message,
        /a function \(callback\).*found at args\[0\]\.callback/,
      );
      assert.equal(first, last, "the child was not disturbed");
      assert.equal(bad.worker, null, "the attempt never reached a child");
    });
  });

  it("a result that cannot cross fails only its own attempt", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const bad = request(tasks.returnsFunction);
      const error = await rejection(runOn(pool, bad));
      assert.ok(error instanceof TaskSerializationError, String(error));
      assert.match((error as Error).message, /could not be (cloned|sent)/);
      assert.equal(await runOn(pool, request(tasks.pid)), bad.worker);
    });
  });

  it("an inline function that uses its surroundings fails with TaskSerializationError", async () => {
    await withPool({ workers: 1 }, async (pool) => {
      // An object, so no transpiler can fold it into the function's text.
      const factor = { by: 3 };
      const booted = pool.liveWorkers(); // start() boots one child ahead of work
      const error = await rejection(runOn(pool, request((x: number) => x * factor.by, [2])));
      assert.ok(error instanceof TaskSerializationError);
      assert.match((error as Error).message, /factor/);
      assert.equal(pool.liveWorkers(), booted, "no child was started for it");
    });
  });

  it("kill -9 of a child mid-task: its running attempt crashes, the rest run elsewhere", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 8 }, async (pool) => {
      const running = request(tasks.sleepThen, [10_000, "never"], { timeout: 60_000 });
      const queued = [1, 2, 3, 4].map((x) => request(tasks.double, [x]));
      const runningDone = outcome(runOn(pool, running));
      const queuedDone = queued.map((r) => runOn(pool, r));
      while (running.begunAt === undefined) await sleep(10);
      const victim = running.worker!;
      process.kill(victim, "SIGKILL");
      const result = await runningDone;
      assert.equal(result.ok, false);
      const error = (result as { error: unknown }).error as WorkerCrashedError;
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.equal(error.message, "worker process died (signal SIGKILL)");
      assert.equal(error.worker, victim);
      assert.equal(error.signal, "SIGKILL");
      assert.deepEqual(await Promise.all(queuedDone), [2, 4, 6, 8]);
      for (const r of queued) assert.notEqual(r.worker, victim, "re-dispatched to a new child");
      assert.equal(pool.liveWorkers(), 1, "the pool is back to its size");
      await waitUntilGone([victim], 2_000, "the killed child");
      // Each attempt's outcome was reported once, the re-dispatched ones included.
      for (const r of [running, ...queued]) assert.equal(r.reports, 1);
    });
  });

  for (
    const [via, task, called] of [
      ["the runtime's exit", tasks.exitWith, isDeno ? "Deno.exit()" : "process.exit()"],
      ["process.exit()", tasks.processExit, "process.exit()"],
      ["the exit imported from node:process", tasks.processExitImported, "process.exit()"],
    ] as const
  ) {
    it(`a task that ends its child (${via}) fails as worker-crashed; the next runs in a new child`, async () => {
      await withPool({ workers: 1 }, async (pool) => {
        const crash = request(task, [7]);
        const error = await rejection(runOn(pool, crash)) as WorkerCrashedError;
        assert.ok(error instanceof WorkerCrashedError, String(error));
        assert.equal(
          error.message,
          `worker process died (exit code 7): the task called ${called}`,
        );
        assert.equal(error.exitCode, 7);
        assert.equal(error.worker, crash.worker);
        const next = request(tasks.pid);
        assert.equal(await runOn(pool, next), next.worker);
        assert.notEqual(next.worker, crash.worker);
      });
    });
  }

  it("replies a child sent before it exited still arrive", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 16 }, async (pool) => {
      const quick = [1, 2, 3, 4, 5].map((x) => request(tasks.double, [x]));
      const crash = request(tasks.exitWith, [3]);
      const results = await Promise.all([...quick, crash].map((r) => outcome(runOn(pool, r))));
      assert.deepEqual(results.slice(0, 5), [2, 4, 6, 8, 10].map((value) => ({ ok: true, value })));
      assert.ok((results[5] as { error: unknown }).error instanceof WorkerCrashedError);
    });
  });

  it("a new child is told the task modules seen at submission (initializer first, each once, at most 8, no data: or long URLs)", async () => {
    const told: (readonly string[] | undefined)[] = [];
    const spawn: typeof spawnChild = (options) => {
      told.push(options.preload === undefined ? undefined : [...options.preload]);
      return spawnChild(options);
    };
    const modules = Array.from({ length: 10 }, (_, i) => `${tasksUrl}?module=${i}`);
    const pool = new ProcessPool({ spawn, initializer: tasks.configure, initArgs: [1] });
    pool.validateSource(tasks.double, "submit task");
    pool.validateSource(tasks.echo, "submit task");
    pool.validateSource((n: number) => n, "submit task");
    // Neither a data: URL nor a long one goes into a child's arguments.
    pool.validateSource(taskModule("data:text/javascript,export const marked = 1;").marked, "x");
    pool.validateSource(taskModule(`${tasksUrl}?${"x".repeat(3_000)}`).marked, "x");
    for (const url of modules) pool.validateSource(taskModule(url).marked, "submit task");
    await withStartedPool(pool, 1, async () => {
      assert.equal(await runOn(pool, request(tasks.double, [2])), 4);
    });
    assert.deepEqual(told, [[tasksUrl, ...modules.slice(0, 7)]]);
  });

  it("a child imports the modules it is told at its start, before any task needs them", async () => {
    const marker = taskModule(new URL("../fixtures/preload_marker.ts", import.meta.url));
    const pool = new ProcessPool();
    pool.validateSource(marker.marked, "submit task");
    await withStartedPool(pool, 1, async () => {
      const seen = await runOn(
        pool,
        request(async () => {
          const global = globalThis as { osiisoPreloadMark?: string };
          for (let i = 0; i < 300 && global.osiisoPreloadMark === undefined; i++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          return global.osiisoPreloadMark ?? "not imported";
        }),
      );
      assert.equal(seen, "imported");
    });
  });

  it("a large reply sent just before the child exits still arrives (the exit waits for the channel)", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 16 }, async (pool) => {
      const size = 16 << 20;
      const big = request((n: number) => "x".repeat(n), [size]);
      const crash = request(tasks.processExit, [3]);
      const [text, crashed] = await Promise.all([big, crash].map((r) => outcome(runOn(pool, r))));
      const value = (text as { value?: string }).value;
      assert.equal(typeof value, "string", "the large reply was lost");
      assert.equal(value!.length, size);
      const error = (crashed as { error: unknown }).error;
      assert.ok(error instanceof WorkerCrashedError);
      assert.match(error.message, /process\.exit\(\)/, "the child said why it ended");
    });
  });

  for (
    const [kind, task] of [["error", tasks.throwLater], ["rejection", tasks.rejectLater]] as const
  ) {
    it(`an uncaught ${kind} outside a task's promise ends the child as a crash`, async () => {
      await withPool({ workers: 1 }, async (pool) => {
        const r = request(task, ["stray"]);
        const error = await rejection(runOn(pool, r)) as WorkerCrashedError;
        assert.ok(error instanceof WorkerCrashedError, String(error));
        assert.match(
          error.message,
          /^worker process died \(exit code 1\): uncaught \w*Error: stray/,
        );
        assert.ok(error.cause instanceof Error);
        assert.equal(await runOn(pool, request(tasks.double, [1])), 2);
      });
    });
  }

  it("abort of an attempt not yet started drops it; the child stays", async () => {
    await withPool({ workers: 1, maxInFlightPerWorker: 4 }, async (pool) => {
      const first = request(tasks.sleepThen, [300, "first"]);
      const dropped = request(tasks.double, [2]);
      const firstDone = runOn(pool, first);
      const droppedDone = outcome(runOn(pool, dropped));
      const reason = new Error("given up");
      dropped.abort(reason);
      const result = await droppedDone;
      assert.equal(result.ok, false);
      assert.equal((result as { error: unknown }).error, reason);
      assert.equal(await firstDone, "first");
      const next = request(tasks.pid);
      assert.equal(await runOn(pool, next), first.worker, "same child, nothing was killed");
    });
  });

  it("abort of a running attempt reaches its signal in the child; no kill when it stops", async () => {
    await withPool({ workers: 1, killGrace: 5_000 }, async (pool) => {
      const r = request(tasks.untilAborted, [10_000], { bind: true });
      const done = outcome(runOn(pool, r));
      while (r.begunAt === undefined) await sleep(10);
      await sleep(50);
      r.abort();
      const started = performance.now();
      const result = await done;
      assert.equal(result.ok, false, "an abandoned attempt rejects with its abort reason");
      assert.ok((result as { error: unknown }).error instanceof TaskTimeoutError);
      assert.ok(performance.now() - started < 2_000, "settled when the task stopped");
      assert.equal(await runOn(pool, request(tasks.pid)), r.worker, "the child lives on");
    });
  });

  it("a running attempt that ignores its abort: after killGrace the whole process group is killed", async () => {
    await withPool({ workers: 1, killGrace: 300, maxInFlightPerWorker: 4 }, async (pool) => {
      const hanging = request(tasks.grandchildThenHang, [30], { timeout: 100 });
      const queued = [5, 6].map((x) => request(tasks.double, [x]));
      const hangingDone = outcome(runOn(pool, hanging));
      const queuedDone = queued.map((r) => runOn(pool, r));
      while (hanging.begunAt === undefined) await sleep(10);
      const group = hanging.worker!;
      const grandchildren = () => processesInGroups([group]).filter((entry) => entry.pid !== group);
      await waitFor(
        () => grandchildren().length >= 1,
        10_000,
        "the task starting a grandchild in the child's group",
      );
      const sleepers = grandchildren();
      const abortedAt = performance.now();
      hanging.abort();
      const result = await hangingDone;
      assert.equal(result.ok, false);
      assert.deepEqual(
        await Promise.all(queuedDone),
        [10, 12],
        "the queued attempts ran elsewhere",
      );
      for (const r of queued) assert.notEqual(r.worker, group);
      await waitUntilGone(
        [group, ...sleepers.map((entry) => entry.pid)],
        3_000,
        "child and grandchild",
      );
      assert.ok(performance.now() - abortedAt >= 250, "the kill waited for killGrace");
      assert.equal(pool.liveWorkers(), 1);
    });
  });

  it("a spinning task (no chance to see its signal) is stopped by the kill", async () => {
    await withTempDir("osiiso-spin-", async (dir) => {
      await withPool({ workers: 1, killGrace: 100 }, async (pool) => {
        const mark = join(dir, "spinning");
        const spinning = request(tasks.spinAfterMark, [mark, 60_000], { timeout: 50 });
        const done = outcome(runOn(pool, spinning));
        // began() says only that the child was sent the task: an abort before
        // the loop starts would just drop it. The mark says it is in the loop.
        await waitFor(() => existsSync(mark), 10_000, "the task spinning");
        spinning.abort();
        await done;
        await waitUntilGone([spinning.worker!], 3_000, "the spinning child");
        const next = request((x: number) => x + 1, [1]);
        assert.equal(await runOn(pool, next), 2);
      });
    });
  });

  // Bun's default 5 s per test is not enough on a loaded machine for 200 MB through pipes.
  it("carries a 50 MB argument and a 50 MB result", { timeout: 60_000 }, async () => {
    await withPool({ workers: 1 }, async (pool) => {
      const size = 50 * 1024 * 1024;
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
      let sum = 0;
      for (let i = 0; i < size; i += 4096) sum = (sum + bytes[i]) % 1_000_003;
      const back = await runOn(pool, request(tasks.checksumAndReturn, [bytes])) as {
        length: number;
        sum: number;
        bytes: Uint8Array;
      };
      assert.equal(back.length, size);
      assert.equal(back.sum, sum);
      assert.equal(back.bytes.length, size);
      assert.equal(back.bytes[size - 4096], bytes[size - 4096]);
      const text = "ab".repeat(size / 2);
      const longer = await runOn(pool, request(tasks.appendText, [text, "!"])) as string;
      assert.equal(longer.length, size + 1);
      assert.equal(longer.slice(-3), "ab!");
    });
  });

  it("runs the initializer once in each child; its state is visible to the tasks", async () => {
    await withPool(
      { workers: 2, initializer: tasks.configure, initArgs: [{ mode: "configured" }] },
      async (pool) => {
        const requests = [1, 2, 3, 4].map(() => request(tasks.readConfigured));
        const values = await Promise.all(requests.map((r) => runOn(pool, r)));
        for (const value of values) {
          assert.deepEqual(value, { value: { mode: "configured" }, initCalls: 1 });
        }
      },
    );
  });

  it("a failing initializer fails the attempt that started the child, every time", async () => {
    await withPool(
      { workers: 1, initializer: tasks.failingInit, initArgs: ["no config"] },
      async (pool) => {
        for (let i = 0; i < 2; i++) {
          const r = request(tasks.double, [1]);
          const error = await rejection(runOn(pool, r));
          assert.ok(error instanceof TypeError, String(error));
          assert.equal((error as Error).message, "no config");
        }
      },
    );
  });

  it("maxTasksPerWorker replaces a child after that many attempts", async () => {
    await withPool({ workers: 1, maxTasksPerWorker: 2 }, async (pool) => {
      const pids: unknown[] = [];
      for (let i = 0; i < 5; i++) pids.push(await runOn(pool, request(tasks.pid)));
      assert.equal(pids[0], pids[1]);
      assert.notEqual(pids[1], pids[2]);
      assert.equal(pids[2], pids[3]);
      assert.notEqual(pids[3], pids[4]);
      await waitUntilGone([pids[0] as number, pids[2] as number], 3_000, "recycled children");
    });
  });

  it("idleTimeout stops idle children; they start again on demand", async () => {
    await withPool({ workers: 1, idleTimeout: 100 }, async (pool) => {
      const first = await runOn(pool, request(tasks.pid)) as number;
      const deadline = performance.now() + 3_000;
      while (pool.liveWorkers() > 0 && performance.now() < deadline) await sleep(20);
      assert.equal(pool.liveWorkers(), 0);
      await waitUntilGone([first], 3_000, "the idle child");
      while (liveResources().children > 0 && performance.now() < deadline) await sleep(20);
      assert.equal(liveResources().children, 0, "its exit was seen");
      const second = await runOn(pool, request(tasks.pid));
      assert.notEqual(second, first);
    });
  });

  it("passes env (added to this process's) and cwd to the children", async () => {
    const cwd = processTable().length > 0 ? "/" : "/";
    await withPool({ workers: 1, env: { OSIISO_PROCESS_TEST: "yes" }, cwd }, async (pool) => {
      assert.equal(await runOn(pool, request(tasks.readEnv, ["OSIISO_PROCESS_TEST"])), "yes");
      assert.equal(
        await runOn(pool, request(tasks.readEnv, ["PATH"])),
        process.env.PATH ?? null,
        "the parent's environment is kept",
      );
      assert.equal(await runOn(pool, request(tasks.readCwd)), cwd);
    });
  });

  it("close(false) asks children to stop; close(true) kills their groups now; none is left", async () => {
    for (const force of [false, true]) {
      const pool = new ProcessPool({});
      pool.start(2);
      const requests = [1, 2, 3].map(() => request(tasks.pid));
      await Promise.all(requests.map((r) => runOn(pool, r)));
      const pids = [...new Set(requests.map((r) => r.worker!))];
      await pool.close(force);
      assert.equal(pool.liveWorkers(), 0);
      assert.equal(liveResources().children, 0);
      await waitUntilGone(pids, 2_000, `children after close(${force})`);
    }
  });

  it("a forced close settles the attempts still running", async () => {
    const pool = new ProcessPool({});
    pool.start(1);
    const r = request(tasks.sleepThen, [30_000, "never"]);
    const done = outcome(runOn(pool, r));
    while (r.begunAt === undefined) await sleep(10);
    await pool.close(true);
    const result = await done;
    assert.equal(result.ok, false);
    assert.ok((result as { error: unknown }).error instanceof WorkerCrashedError);
    await sleep(50);
    assert.equal(r.reports, 1, "reported once, also after the child's exit was seen");
    await waitUntilGone([r.worker!], 2_000, "the running child");
  });
});

/** The part of `Bun.spawn` the Bun IPC fact test uses. */
interface BunSpawner {
  spawn(command: string[], options: {
    stdin: "ignore";
    stdout: "inherit";
    stderr: "inherit";
    serialization: "json";
    ipc(message: unknown[]): void;
  }): { send(message: unknown): void; readonly exited: Promise<number> };
}

/** The part of `Bun.build` the bytecode fact test uses. */
interface BunBuilder {
  build(options: { entrypoints: string[]; target: "bun"; bytecode: boolean }): Promise<{
    readonly success: boolean;
    readonly outputs: readonly { readonly kind: string; arrayBuffer(): Promise<ArrayBuffer> }[];
  }>;
}

if (!isDeno) {
  describe("Bun facts the built entries rely on (src/runtime/bundled/)", () => {
    it("Bun: a program runs with its bytecode cache, and as before when the cache is unusable", async () => {
      const bun = (globalThis as unknown as { Bun: BunBuilder }).Bun;
      const probe = new URL("../fixtures/bytecode_probe.ts", import.meta.url).pathname;
      const built = await bun.build({ entrypoints: [probe], target: "bun", bytecode: true });
      assert.ok(built.success);
      const bytes = async (kind: string) =>
        new Uint8Array(await built.outputs.find((output) => output.kind === kind)!.arrayBuffer());
      await withTempDir("osiiso-bytecode-", async (dir) => {
        const program = join(dir, "probe.js");
        writeFileSync(program, await bytes("entry-point"));
        writeFileSync(`${program}.jsc`, await bytes("bytecode"));
        const run = () => spawnSync(process.execPath, [program], { encoding: "utf8" });
        assert.equal(readFileSync(program, "utf8").split("\n")[0], "// @bun @bytecode @bun-cjs");
        assert.equal(run().stdout.trim(), "ran 42", "with the cache");
        // What a Bun with another engine version sees: a cache it cannot use.
        writeFileSync(`${program}.jsc`, new Uint8Array(4096).map((_, i) => (i * 7919) % 251));
        const fallback = run();
        assert.equal(fallback.status, 0, fallback.stderr);
        assert.equal(fallback.stdout.trim(), "ran 42", "without a usable cache");
      });
    });
  });

  describe("Bun IPC facts the child relies on (child_entry_bun.ts)", () => {
    /**
     * What a bare IPC child sent before it exited, by how it exited. Messages
     * may arrive after the exit: waits until `expected` have (or 5 s passed),
     * then a little longer for any more.
     */
    async function sentBeforeExit(how: "now" | "flush", expected: number): Promise<string[]> {
      const bun = (globalThis as unknown as { Bun: BunSpawner }).Bun;
      const got: string[] = [];
      const child = bun.spawn(fixtureCommand("bun_ipc_exit_child.ts"), {
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        serialization: "json",
        ipc: (message: unknown[]) => got.push(String(message[0])),
      });
      child.send([10_000_000, how]);
      await child.exited;
      const deadline = performance.now() + 5_000;
      while (got.length < expected && performance.now() < deadline) await sleep(10);
      await sleep(100);
      return got;
    }

    it("Bun: a child that exits right after a large send loses what was still queued", async () => {
      assert.deepEqual(await sentBeforeExit("now", 0), []);
    });

    it("Bun: exiting in the callback of an empty send made last delivers everything before it", async () => {
      assert.deepEqual(await sentBeforeExit("flush", 3), ["big", "small", "undefined"]);
    });
  });
}

describe("ProcessQueue and its children seen from outside", () => {
  useLeakCheck();

  it("what tasks print (and a grandchild writing to the child's stdout) reaches stderr, never the channel", () => {
    const [command, ...args] = fixtureCommand("process_print_main.ts");
    const result = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `only the result line on stdout: ${result.stdout}`);
    const parsed = JSON.parse(lines[0]) as { ok: boolean; values: unknown[] };
    assert.equal(parsed.ok, true);
    assert.equal(parsed.values.length, 20 + 4 + 3);
    assert.deepEqual(parsed.values[0], { i: 0, text: "quiet 0" });
    for (
      const printed of [
        "console.log from a task",
        "console.info from a task",
        "console.error from a task",
        "process.stdout.write from a task",
        "grandchild output on the child's stdout",
      ]
    ) {
      assert.ok(result.stderr.includes(printed), `stderr has '${printed}'`);
    }
    if (isDeno) assert.ok(result.stderr.includes("Deno.stdout.writeSync from a task"));
  });

  it("idle children do not keep a finished program alive, and end with it", async () => {
    const parsed = runsToItsEnd<{ values: number[]; pids: number[] }>("process_idle_main.ts");
    assert.deepEqual(parsed.values, [2, 4, 6, 8]);
    await waitUntilGone(parsed.pids, 3_000, "children of the finished program");
  });

  it("start() boots one child ahead of work; it does not keep the program alive and ends with it", async () => {
    const parsed = runsToItsEnd<{ booted: number; pids: number[]; watchdogs: number[] }>(
      "process_started_main.ts",
    );
    assert.equal(parsed.booted, 1);
    assert.equal(parsed.pids.length, 1, `children right after start(): ${parsed.pids}`);
    await waitUntilGone(
      [...parsed.pids, ...parsed.watchdogs],
      3_000,
      "the child booted by start(), and its watchdog",
    );
  });

  for (const busy of ["waits", "spins in synchronous code"]) {
    it(`a child whose parent is killed while its task ${busy} ends, with its group`, async () => {
      const [command, ...args] = fixtureCommand("process_orphan_main.ts");
      const spin = busy.startsWith("spins") ? ["spin"] : [];
      const parent = spawn(command, [...args, ...spin], { stdio: ["ignore", "pipe", "inherit"] });
      let output = "";
      parent.stdout!.setEncoding("utf8");
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no pids from the fixture")), 30_000);
        parent.stdout!.on("data", (chunk: string) => {
          output += chunk;
          if (output.includes("\n")) {
            clearTimeout(timer);
            resolve(output.split("\n")[0]);
          }
        });
      });
      const { child, grandchild } = JSON.parse(line) as { child: number; grandchild: number };
      assert.ok(isAlive(child) && isAlive(grandchild));
      const exited = new Promise((resolve) => parent.on("exit", resolve));
      parent.kill("SIGKILL");
      await exited;
      await waitUntilGone([child, grandchild], 3_000, "the orphaned child and its grandchild");
    });
  }

  it("a grandchild that escaped a killed child's group and holds its pipes does not keep the program alive", () => {
    const seconds = 6;
    const [command, ...args] = fixtureCommand("process_escape_main.ts");
    const started = performance.now();
    const result = spawnSync(command, [...args, String(seconds)], {
      encoding: "utf8",
      timeout: 30_000,
      // The grandchild holds this pipe too: wait for the program's exit, not for EOF.
      stdio: ["ignore", "pipe", "inherit"],
    });
    const elapsed = performance.now() - started;
    assert.equal(result.status, 0, `exit ${result.status} ${result.signal}`);
    assert.deepEqual(JSON.parse(result.stdout.trim().split("\n")[0]), { endedBy: "timeout" });
    assert.ok(elapsed < (seconds - 1) * 1000, `the program took ${elapsed}ms`);
  });

  if (isDeno) {
    it("Deno: children inherit the parent's permissions, which a queue may narrow but not widen", () => {
      const [command, ...args] = fixtureCommand("process_permissions_main.ts", [
        "--allow-run",
        "--allow-read",
      ]);
      const result = spawnSync(command, args, {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, NO_COLOR: "1" },
      });
      assert.equal(result.status, 0, result.stderr);
      const outcome = JSON.parse(result.stdout.trim()) as Record<string, string>;
      assert.match(outcome.net, /^RangeError: Cannot create queue as 'permissions\.net' must be/);
      assert.match(outcome["env list"], /^RangeError: .*'permissions\.env'/);
      assert.equal(outcome.inheritedRead, "true", "read was inherited");
      assert.equal(
        outcome.inheritedEnv,
        "NotCapable",
        "env was not granted to the parent, nor the child",
      );
    });

    it("Deno: permissions 'none' leaves a child without file access", async () => {
      await withPool({ workers: 1, permissions: "none" }, async (pool) => {
        const path = new URL(import.meta.url).pathname;
        const error = await rejection(
          runOn(pool, request((file: string) => Deno.readTextFileSync(file), [path])),
        );
        assert.match(String((error as Error).name), /NotCapable|PermissionDenied/);
      });
    });
  }

  it("checks its own options when the queue is created", () => {
    const cases: readonly [Record<string, unknown>, new (...args: never[]) => Error, RegExp][] = [
      [
        { maxTasksPerWorker: 0 },
        RangeError,
        /^Cannot create queue as 'maxTasksPerWorker' must be a positive integer: current value is 0$/,
      ],
      [
        { maxInFlightPerWorker: 1.5 },
        RangeError,
        /'maxInFlightPerWorker' must be a positive integer/,
      ],
      [{ idleTimeout: -1 }, RangeError, /'idleTimeout' must be a non-negative number/],
      [
        { killGrace: "1s" },
        TypeError,
        /'killGrace' must be a non-negative number: current value is '1s'/,
      ],
      [{ initArgs: "x" }, TypeError, /'initArgs' must be an array/],
      [{ initializer: 42 }, TypeError, /'initializer' must be a function or a task reference/],
      [{ env: { A: 1 } }, TypeError, /'env\.A' must be a string: current value is 1/],
      [{ env: ["A=1"] }, TypeError, /'env' must be an object of strings/],
      [{ cwd: 7 }, TypeError, /'cwd' must be a string/],
      [{ permissions: "all" }, TypeError, /'permissions' must be 'inherit', 'none' or an object/],
      [{ permissions: { disk: true } }, TypeError, /^Unknown permission name\(s\): disk$/],
      [
        { permissions: { read: 1 } },
        TypeError,
        /'permissions\.read' must be 'inherit', a boolean or an array of strings/,
      ],
      [{ threads: 2 }, TypeError, /^Unknown queue option\(s\): threads$/],
    ];
    for (const [options, errorClass, message] of cases) {
      assert.throws(() => new ProcessQueue(options as never), (error: unknown) => {
        assert.ok(error instanceof errorClass, `${JSON.stringify(options)}: ${error}`);
        assert.match((error as Error).message, message);
        return true;
      });
    }
    assert.equal(liveResources().children, 0, "a rejected queue started nothing");
  });

  it("a queue's results record the child's pid", async () => {
    await using q = new ProcessQueue({ workers: 1 });
    const h = q.submit(tasks.pid);
    await q.run();
    assert.equal(h.result().worker, h.value());
  });
});

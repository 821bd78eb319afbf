/**
 * ProcessQueue: the shared behaviour suite on persistent subprocesses, plus
 * what only the process backend does (pids on results, crashes seen through
 * the engine, pmap).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ProcessQueue } from "../../src/backends/process_queue.ts";
import { pmap } from "../../src/backends/shortcuts.ts";
import { ExecutionError, WorkerCrashedError } from "../../src/core/errors.ts";
import { behaviourSuite, behaviourTasks } from "../behaviour/suite.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

behaviourSuite({
  name: "process",
  make: (options) => new ProcessQueue(options),
  tasks: behaviourTasks,
  shortcut: (fn, items, options) => pmap(fn as never, items, options),
});

describe("ProcessQueue only", () => {
  useLeakCheck();

  it("records the child's pid for each attempt, one persistent child per worker", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      q.map((n: number) => n * 2, [1, 2, 3, 4]);
      const summary = await q.run();
      assert.deepEqual([...summary.values].sort(), [2, 4, 6, 8]);
      const pids = new Set(summary.results.map((r) => r.worker));
      assert.equal(pids.size, 1);
      const [pid] = pids;
      assert.ok(typeof pid === "number" && pid > 0 && pid !== process.pid);
    });
  });

  it("a huge sparse array crosses both ways in a moment, holes and named properties kept", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const sparse: number[] & { label?: string } = [];
      sparse[1e8] = 1;
      sparse.label = "kept";
      const started = performance.now();
      const h = q.submit((a: number[] & { label?: string }) => {
        a[5] = 5;
        return a;
      }, [sparse]);
      await q.run();
      assert.ok(performance.now() - started < 5_000, "the parent did not walk 10⁸ holes");
      const back = h.value();
      assert.equal(back.length, 1e8 + 1);
      assert.deepEqual(Object.keys(back), ["5", "100000000", "label"]);
    });
  });

  it("a task that exits its child fails as worker-crashed; the next task runs in a new child", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const crash = q.submit(() => {
        (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(13);
      });
      const after = q.submit((n: number) => n * 2, [4]);
      const summary = await q.run();
      assert.equal(summary.failed, 1);
      assert.equal(summary.succeeded, 1);
      const result = crash.result();
      assert.ok(result.exception instanceof WorkerCrashedError, String(result.exception));
      assert.equal(result.endedBy, "worker-crashed");
      assert.match(result.message, /worker process died/);
      assert.equal(after.value(), 8);
      assert.notEqual(after.result().worker, result.worker);
    });
  });

  it("pmap returns values in input order and raises ExecutionError on a failure", async () => {
    assert.deepEqual(await pmap((n: number) => n * 2, [3, 1, 2], { workers: 2 }), [6, 2, 4]);
    await assert.rejects(
      pmap(
        (n: number) => {
          if (n === 2) throw new Error("two");
          return n;
        },
        [1, 2, 3],
        { workers: 2 },
      ),
      ExecutionError,
    );
  });
});

if (!("Deno" in globalThis)) {
  describe("ProcessQueue in a packaged program (Bun)", () => {
    const fixture = new URL("../fixtures/packaged_app.ts", import.meta.url).pathname;
    const bundled = new URL("../../src/runtime/bundled/", import.meta.url).pathname;

    /** Builds the fixture with `bun build` plus `flags` into a temporary directory. */
    function withBuild(
      flags: string[],
      out: string,
      body: (dir: string, app: string) => void,
    ): Promise<void> {
      return withTempDir("osiiso-packaged-", (dir) => {
        const app = join(dir, out);
        const built = spawnSync(process.execPath, ["build", fixture, ...flags, "--outfile", app], {
          encoding: "utf8",
          timeout: 60_000,
        });
        assert.equal(built.status, 0, built.stderr);
        body(dir, app);
      });
    }

    it("bun build --compile: the constructor throws InvalidStateError, and no child starts", async () => {
      await withBuild(["--compile"], "app", (_dir, app) => {
        const ran = spawnSync(app, [], { encoding: "utf8", timeout: 30_000 });
        const output = ran.stdout + ran.stderr;
        assert.doesNotMatch(output, /started as a child/);
        assert.match(
          ran.stdout,
          /^process: InvalidStateError: ProcessQueue cannot start child processes in a standalone executable/,
        );
        assert.equal(ran.status, 0, output);
      });
    });

    it("bun build to one file: tasks fail cleanly without bundled/ next to it, and run with it", async () => {
      await withBuild(["--target", "bun"], "app.js", (dir, app) => {
        const run = () => spawnSync(process.execPath, [app], { encoding: "utf8", timeout: 30_000 });
        const missing = run();
        assert.equal(missing.status, 0, missing.stderr);
        assert.match(missing.stdout, /^process: 0 succeeded, 1 failed$/m);
        assert.match(missing.stdout, /^thread: 0 succeeded, 1 failed$/m);
        assert.match(missing.stderr, /bundled\/child_entry_bun\.js/, "the child names the file");
        cpSync(bundled, join(dir, "bundled"), { recursive: true });
        const copied = run();
        assert.equal(copied.status, 0, copied.stderr);
        assert.match(copied.stdout, /^process: 1 succeeded, 0 failed$/m);
        assert.match(copied.stdout, /^thread: 1 succeeded, 0 failed$/m);
      });
    });
  });
}

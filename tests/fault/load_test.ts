/**
 * Load with injected faults (per-commit sizes; `deno task soak` runs the
 * long mode): 10 % failures, 5 % timeouts, 2 % flaky tasks that succeed on
 * retry, 1 % cancellations and random priorities. Every handle settles
 * exactly once with its injected outcome, the summary counts equal the
 * injected ones, nothing is lost, and the heap retained per finished task
 * stays within the package's memory target (≤ 1 KiB). Peak RSS and bytes
 * per task are printed.
 */

import assert from "node:assert/strict";
import { describe } from "node:test";
import { useLeakCheck } from "../helpers/leaks.ts";
import { faultBackends } from "./backends.ts";
import { faultTest } from "./harness.ts";
import { formatLoadReport, type LoadReport, runLoad } from "./load_driver.ts";

/** The memory target: at most 1 KiB retained per finished task. */
const MAX_BYTES_PER_TASK = 1_024;

function assertReport(report: LoadReport): void {
  console.log(formatLoadReport(report));
  assert.equal(report.lost, 0, "handles that never settled");
  assert.equal(report.repeated, 0, "handles that settled more than once");
  assert.equal(report.wrong, 0, "handles whose outcome is not the injected one");
  assert.equal(report.settled, report.tasks);
  assert.deepEqual(report.summary, {
    total: report.tasks,
    ...report.expected,
    timedOut: false,
  });
  assert.equal(report.completions, report.tasks, "onComplete once per task");
  assert.equal(report.results, report.tasks, "one result per task");
  assert.ok(report.injected.timeout > 0 && report.injected.fail > 0 && report.injected.cancel > 0);
}

for (const backend of faultBackends()) {
  describe(`load on ${backend.name}`, () => {
    useLeakCheck();

    faultTest(`${backend.load.suite.toLocaleString("en-US")} tasks submitted at once`, async () => {
      const report = await runLoad(backend, {
        tasks: backend.load.suite,
        workers: backend.load.workers,
      });
      assertReport(report);
      assert.ok(
        report.bytesPerTask <= MAX_BYTES_PER_TASK,
        `${report.bytesPerTask.toFixed(0)} bytes retained per finished task`,
      );
    });

    faultTest("a producer feeding a bounded queue while it runs", async () => {
      const size = 1_000;
      const report = await runLoad(backend, {
        tasks: Math.ceil(backend.load.suite / 4),
        workers: backend.load.workers,
        bounded: size,
        seed: 11,
      });
      assertReport(report);
      assert.ok(report.peakOutstanding <= size, `${report.peakOutstanding} outstanding at once`);
    });
  });
}

// The timeline of a real ProcessQueue run, as Chromium renders it: tasks
// that return, throw and retry, time out and crash their child; the test
// reads back one lane per child and each attempt's bar and colour.

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { ProcessQueue, taskModule } from "../../mod.ts";
import type * as ProcessTasks from "../fixtures/process_tasks.ts";
import { OUTCOME_COLOURS } from "../../src/core/timeline.ts";
import { behaviourTasks as t } from "../behaviour/suite.ts";
import { probeTimeline, rgb, screenshotPage } from "../helpers/chromium.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const processTasks = taskModule<typeof ProcessTasks>(
  new URL("../fixtures/process_tasks.ts", import.meta.url),
);

describe("the timeline of a real ProcessQueue run in Chromium", () => {
  useLeakCheck();

  it("has a lane per child and a bar per attempt, coloured by outcome", {
    timeout: 120_000,
  }, async () => {
    await withQueue(() => new ProcessQueue({ workers: 3, killGrace: 200 }), async (q) => {
      q.map(t.slow, Array.from({ length: 24 }, (_, i) => 20 + (i % 5) * 10));
      q.submit(t.failAfter, [30, "upstream said no"], { retries: 2, retryDelay: 60 });
      q.submit(t.slow, [5_000], { timeout: 120, retries: 1, retryDelay: 40 });
      q.submit(processTasks.exitWith, [3], { retries: 1 });
      const summary = await q.run();
      assert.equal(summary.succeeded, 24);
      assert.equal(summary.failed, 3);

      // What the results say happened, per outcome and per child.
      const expected: Record<string, number> = {};
      const children = new Set<string>();
      for (const result of summary.results) {
        for (const h of [...result.history, result]) {
          expected[h.endedBy!] = (expected[h.endedBy!] ?? 0) + 1;
          children.add(String(h.worker));
        }
      }
      assert.deepEqual(expected, { returned: 24, threw: 3, timeout: 2, "worker-crashed": 2 });

      await withTempDir("osiiso-run-timeline-", async (dir) => {
        const html = summary.timeline({ title: "ProcessQueue run", width: 900 });
        const report = await probeTimeline(dir, html);
        assert.deepEqual(
          report.lanes.map((lane) => lane.lane),
          [...children].sort((a, b) => Number(a) - Number(b)),
          "one lane per child that ran an attempt, by pid",
        );
        const shown: Record<string, number> = {};
        for (const [outcome, { bars, merged, fills }] of Object.entries(report.outcomes)) {
          shown[outcome] = bars + merged;
          assert.deepEqual(fills, [rgb(OUTCOME_COLOURS[outcome as keyof typeof OUTCOME_COLOURS])]);
        }
        assert.deepEqual(shown, expected);
        assert.equal(report.misplaced, 0, "every bar lies inside its lane");
        assert.equal(report.untitled, 0, "every bar is named on hover");
        // Waits that overlap in a lane are drawn as one line; the totals count each.
        assert.ok(report.waits >= 1, "retry waits are drawn");
        const retries = summary.results.reduce((n, r) => n + r.history.length, 0);
        assert.equal(retries, 4);
        assert.match(html, /, 4 retry waits, /);
        const crashed = summary.results.find((r) => r.endedBy === "worker-crashed")!;
        assert.match(
          report.titleOf[`${crashed.taskId}#2`] ?? "",
          /^exitWith \(.+\), attempt 2: [\d.]+ (ms|µs), worker-crashed: worker process died/,
        );

        const bytes = await screenshotPage(dir, html, 1100, 300);
        assert.ok(bytes.length > 10_000, `a screenshot of ${bytes.length} bytes is nearly blank`);
      });
    });
  });
});

// The timeline page as a real browser renders it: headless Chromium loads
// the page, a probe appended by the test measures what was laid out, and
// the test reads the probe's report from the DOM Chromium dumps.

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { type AttemptRecord, OUTCOME_COLOURS, renderTimeline } from "../../src/core/timeline.ts";
import {
  type ProbeReport,
  probeTimeline as probe,
  rgb,
  screenshotPage,
} from "../helpers/chromium.ts";
import { outcomeCounts, simulateRun } from "../helpers/simulated_run.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

function assertRendered(report: ProbeReport, records: readonly AttemptRecord[], workers: number) {
  assert.deepEqual(
    report.lanes.map((l) => l.lane),
    Array.from({ length: workers }, (_, i) => `${i}`),
  );
  for (let i = 1; i < report.lanes.length; i++) {
    assert.ok(report.lanes[i].top >= report.lanes[i - 1].bottom, "lanes do not overlap");
  }
  const shown: Record<string, number> = {};
  for (const [outcome, { bars, merged, fills }] of Object.entries(report.outcomes)) {
    shown[outcome] = bars + merged;
    assert.deepEqual(fills, [rgb(OUTCOME_COLOURS[outcome as keyof typeof OUTCOME_COLOURS])]);
  }
  assert.deepEqual(shown, outcomeCounts(records));
  assert.equal(report.misplaced, 0);
  assert.equal(report.untitled, 0);
  assert.equal(report.scripts, 0);
}

describe("timeline in Chromium", () => {
  it(
    "shows every lane, attempt and outcome colour of a run with retries, timeouts, a crash and a cancellation",
    {
      timeout: 120_000,
    },
    async () => {
      const { records, totals } = simulateRun({
        tasks: 120,
        workers: 4,
        minMs: 5,
        maxMs: 40,
        retryDelay: 30,
        seed: 2,
        rates: { threw: 0.08, timeout: 0.03, "worker-crashed": 0.02, cancelled: 0.01 },
      });
      assert.deepEqual(
        Object.keys(outcomeCounts(records)).sort(),
        ["cancelled", "returned", "threw", "timeout", "worker-crashed"],
      );
      const html = renderTimeline(records, totals, { title: "retries <and> crashes" });
      await withTempDir("osiiso-timeline-", async (dir) => {
        const report = await probe(dir, html);
        assertRendered(report, records, 4);
        // Nothing merged at this scale: one bar per attempt, each named on hover.
        assert.ok(Object.values(report.outcomes).every((o) => o.merged === 0));
        assert.ok(report.waits > 0, "retry waits are drawn");
        assert.equal(report.boldElements, 0, "a message's markup stays text");
        const named = records.find((r) => r.name.includes("<"))!;
        assert.match(
          report.titleOf[`${named.taskId}#${named.attempt}`],
          new RegExp(
            `^fetch <page \\d+> & "parse" \\(${named.taskId}\\), attempt ${named.attempt}: `,
          ),
        );
        assert.equal(report.svg.width, 130 + 1000 + 24);

        const bytes = await screenshotPage(dir, html, 1200, 330);
        assert.ok(bytes.length > 10_000, `a screenshot of ${bytes.length} bytes is nearly blank`);
      });
    },
  );

  it("stays exact and laid out at 20,000 tasks, where narrow bars merge", {
    timeout: 120_000,
  }, async () => {
    const { records, totals } = simulateRun({ tasks: 20_000, workers: 8, minMs: 0.5, maxMs: 5 });
    const html = renderTimeline(records, totals);
    await withTempDir("osiiso-timeline-", async (dir) => {
      const report = await probe(dir, html);
      assertRendered(report, records, 8);
      assert.ok(report.outcomes.returned.merged > 0, "sub-pixel bars merged");
    });
  });
});

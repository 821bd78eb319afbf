// The timeline page as a real browser renders it: headless Chromium loads
// the page, a probe appended by the test measures what was laid out, and
// the test reads the probe's report from the DOM Chromium dumps.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type AttemptRecord, OUTCOME_COLOURS, renderTimeline } from "../../src/core/timeline.ts";
import { dumpDom, screenshot } from "../helpers/chromium.ts";
import { outcomeCounts, simulateRun } from "../helpers/simulated_run.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** What the probe measures in the rendered page. */
interface ProbeReport {
  lanes: { lane: string; top: number; bottom: number }[];
  /** Per outcome: single bars, merged attempts, and the computed fills seen. */
  outcomes: Record<string, { bars: number; merged: number; fills: string[] }>;
  /** Bars whose box lies outside their lane's band, or that have no width. */
  misplaced: number;
  untitled: number;
  waits: number;
  svg: { width: number; height: number };
  boldElements: number;
  scripts: number;
  titleOf: Record<string, string>;
}

// Runs in Chromium after the page loaded; it writes its report as JSON into <pre id="probe">.
const PROBE = `<script>
(() => {
  const report = { lanes: [], outcomes: {}, misplaced: 0, untitled: 0, titleOf: {} };
  const entry = (o) => (report.outcomes[o] ??= { bars: 0, merged: 0, fills: [] });
  const noteFill = (o, el) => {
    const fill = getComputedStyle(el).fill;
    if (!entry(o).fills.includes(fill)) entry(o).fills.push(fill);
  };
  for (const lane of document.querySelectorAll("[data-lane]")) {
    const { top, bottom } = lane.querySelector("rect.band").getBoundingClientRect();
    report.lanes.push({ lane: lane.dataset.lane, top, bottom });
    for (const el of lane.querySelectorAll("[data-ended-by], [data-merged-ended-by]")) {
      const box = el.getBoundingClientRect();
      if (box.width <= 0 || box.top < top || box.bottom > bottom) report.misplaced++;
    }
  }
  for (const bar of document.querySelectorAll("[data-ended-by]")) {
    entry(bar.dataset.endedBy).bars++;
    noteFill(bar.dataset.endedBy, bar);
    const title = bar.querySelector("title");
    if (!title) report.untitled++;
    else report.titleOf[bar.dataset.taskId + "#" + bar.dataset.attempt] = title.textContent;
  }
  for (const slice of document.querySelectorAll("[data-merged-ended-by]")) {
    entry(slice.dataset.mergedEndedBy).merged += Number(slice.dataset.mergedCount);
    noteFill(slice.dataset.mergedEndedBy, slice);
  }
  report.waits = document.querySelectorAll("[data-retry-wait]").length;
  const svg = document.querySelector("svg[role=img]").getBoundingClientRect();
  report.svg = { width: svg.width, height: svg.height };
  report.boldElements = document.querySelectorAll("b").length;
  report.scripts = document.scripts.length - 1;
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(report);
  document.body.append(pre);
})();
</script>`;

function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

function decodeText(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/** Writes the page with the probe to `dir`, opens it in Chromium and returns the report. */
async function probe(dir: string, html: string): Promise<ProbeReport> {
  const file = join(dir, "probed.html");
  writeFileSync(file, html.replace("</body>", `${PROBE}</body>`));
  const dom = await dumpDom(file);
  const found = /<pre id="probe">([^<]*)<\/pre>/.exec(dom);
  assert.ok(found, `the probe wrote no report; the DOM was:\n${dom.slice(0, 2000)}`);
  return JSON.parse(decodeText(found[1]));
}

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

        const png = join(dir, "timeline.png");
        const page = join(dir, "timeline.html");
        writeFileSync(page, html);
        await screenshot(page, png, 1200, 330);
        const bytes = readFileSync(png);
        assert.equal(bytes.subarray(1, 4).toString("latin1"), "PNG");
        assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [1200, 330]);
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

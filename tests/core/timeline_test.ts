import { describe, it } from "node:test";
import assert from "node:assert/strict";

import type { EndedBy } from "../../src/core/executor.ts";
import {
  type AttemptRecord,
  escapeHtml,
  OUTCOME_COLOURS,
  renderTimeline,
  retryWaits,
  tickStep,
} from "../../src/core/timeline.ts";
import { outcomeCounts, simulateRun } from "../helpers/simulated_run.ts";

const NO_TOTALS = { succeeded: 0, failed: 0, cancelled: 0 };

function attempt(
  taskId: string,
  attemptNumber: number,
  worker: number | string,
  startedAt: number,
  finishedAt: number,
  endedBy: EndedBy = "returned",
  name = "job",
  message = "",
): AttemptRecord {
  return { taskId, name, attempt: attemptNumber, worker, startedAt, finishedAt, endedBy, message };
}

/** Attempts per outcome as the page shows them: single bars plus merged slices. */
function countOutcomes(html: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, outcome] of html.matchAll(/data-ended-by="([a-z-]+)"/g)) {
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  const slices = html.matchAll(/data-merged-ended-by="([a-z-]+)" data-merged-count="(\d+)"/g);
  for (const [, outcome, count] of slices) counts[outcome] = (counts[outcome] ?? 0) + +count;
  return counts;
}

describe("renderTimeline", () => {
  it("draws one lane per worker that ran an attempt, numbers first in order, then names", () => {
    const html = renderTimeline([
      attempt("a", 1, 7, 0, 10),
      attempt("b", 1, "pid-9", 5, 20),
      attempt("c", 1, 2, 10, 30),
      attempt("d", 1, 7, 30, 40),
    ], { succeeded: 4, failed: 0, cancelled: 0 });
    const lanes = [...html.matchAll(/data-lane="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(lanes, ["2", "7", "pid-9"]);
    // Only the lane groups carry data-lane.
    assert.equal(html.match(/<g data-lane=/g)?.length, 3);
  });

  it("draws one bar per attempt with its task, attempt and ending, and a hover title", () => {
    const html = renderTimeline([
      attempt("t1", 1, 0, 1_000, 1_250, "threw", "fetch", "socket hang up"),
      attempt("t1", 2, 1, 1_300, 1_312.5, "returned", "fetch"),
      attempt("t2", 1, 0, 1_260, 1_500, "timeout", "parse", "timed out after 240 ms"),
    ], { succeeded: 1, failed: 1, cancelled: 0 });
    const bars = [...html.matchAll(
      /<rect [^>]*fill="(#[0-9a-f]+)" data-task-id="([^"]+)" data-attempt="(\d+)" data-ended-by="([a-z-]+)"><title>([^<]*)<\/title>/g,
    )].map(([, fill, task, number, endedBy, title]) => ({ fill, task, number, endedBy, title }));
    assert.deepEqual(bars, [
      {
        fill: OUTCOME_COLOURS.threw,
        task: "t1",
        number: "1",
        endedBy: "threw",
        title: "fetch (t1), attempt 1: 250 ms, threw: socket hang up",
      },
      {
        fill: OUTCOME_COLOURS.timeout,
        task: "t2",
        number: "1",
        endedBy: "timeout",
        title: "parse (t2), attempt 1: 240 ms, timeout: timed out after 240 ms",
      },
      {
        fill: OUTCOME_COLOURS.returned,
        task: "t1",
        number: "2",
        endedBy: "returned",
        title: "fetch (t1), attempt 2: 12.5 ms, returned",
      },
    ]);
    assert.equal(html.match(/data-attempt=/g)?.length, 3);
  });

  it("places bars by time: x from the start, width from the duration", () => {
    // 1000 px over 0..500 ms: 2 px per ms, after a 130 px gutter.
    const html = renderTimeline([attempt("a", 1, 0, 100, 150)], NO_TOTALS, {
      start: 0,
      end: 500,
    });
    assert.match(html, /<rect x="330" y="28" width="100" height="14" /);
  });

  it("derives the retry waits: from an attempt's end to the next attempt's start", () => {
    const records = [
      attempt("t1", 2, 1, 300, 320),
      attempt("t1", 1, 0, 0, 100, "threw"),
      attempt("t1", 3, 0, 500, 510, "returned"),
      attempt("t2", 1, 0, 100, 200),
    ];
    assert.deepEqual(retryWaits(records), [
      { taskId: "t1", name: "job", afterAttempt: 1, from: 100, to: 300, worker: 1 },
      { taskId: "t1", name: "job", afterAttempt: 2, from: 320, to: 500, worker: 0 },
    ]);
  });

  it("draws retry waits as titled lines that are not attempt bars", () => {
    const html = renderTimeline([
      attempt("t1", 1, 0, 0, 100, "threw", "fetch"),
      attempt("t1", 2, 0, 350, 400, "returned", "fetch"),
    ], { succeeded: 1, failed: 0, cancelled: 0 });
    const waits = [...html.matchAll(/<line [^>]*data-retry-wait="([^"]*)"[^>]*><title>([^<]*)</g)];
    assert.deepEqual(waits.map((m) => [m[1], m[2]]), [
      ["t1", "fetch (t1) waited 250 ms before attempt 2"],
    ]);
    assert.doesNotMatch(html, /<line [^>]*data-attempt/);
    assert.equal(html.match(/data-attempt=/g)?.length, 2);
  });

  it("escapes every user string: names, messages, lane labels and the title", () => {
    const html = renderTimeline(
      [attempt(`id"<x>`, 1, "pid<1>", 0, 10, "threw", `<script>alert("x")</script>`, "a & b <b>")],
      { succeeded: 0, failed: 1, cancelled: 0 },
      { title: "run <one> & 'two'" },
    );
    assert.doesNotMatch(html, /<script|<b>|<x>|<one>|pid<1>/);
    assert.match(html, /data-task-id="id&quot;&lt;x&gt;"/);
    assert.match(html, /data-lane="pid&lt;1&gt;"/);
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(html, /threw: a &amp; b &lt;b&gt;/);
    assert.match(html, /<title>run &lt;one&gt; &amp; &#39;two&#39;<\/title>/);
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });

  it("merges a lane's runs of sub-pixel attempts and keeps the counts exact", () => {
    // 1000 px over 10 s: 0.1 px per ms, so 2 ms attempts are 0.2 px wide.
    const records: AttemptRecord[] = [];
    for (let i = 0; i < 300; i++) {
      records.push(attempt(`t${i}`, 1, 0, i * 2, i * 2 + 2, i % 50 === 0 ? "threw" : "returned"));
    }
    records.push(attempt("wide", 1, 0, 5_000, 5_100)); // 10 px: its own bar
    const html = renderTimeline(records, NO_TOTALS, { start: 0, end: 10_000 });
    assert.deepEqual(countOutcomes(html), { returned: 295, threw: 6 });
    // 300 attempts over 60 px merge into bars of at most 3 px: about 20 groups, not 300 bars.
    const groups = [...html.matchAll(/<g class="merged" data-merged-count="(\d+)">/g)];
    assert.ok(groups.length >= 15 && groups.length <= 30, `${groups.length} merged bars`);
    assert.equal(groups.reduce((sum, [, n]) => sum + +n, 0), 300);
    assert.equal(html.match(/data-attempt=/g)?.length, 1);
    assert.match(
      html,
      /<title>\d+ attempts merged over [\d.]+ ms: \d+ returned(, 1 threw)?<\/title>/,
    );
  });

  it("a merged bar gives each outcome a slice of at least 2 px, in the outcome's colour", () => {
    const records = Array.from(
      { length: 100 },
      (_, i) =>
        attempt(`t${i}`, 1, 0, i * 0.01, i * 0.01 + 0.01, i === 50 ? "timeout" : "returned"),
    );
    const html = renderTimeline(records, NO_TOTALS, { start: 0, end: 10_000 });
    const slices = [...html.matchAll(
      /height="([\d.]+)" fill="(#[0-9a-f]+)" data-merged-ended-by="([a-z-]+)" data-merged-count="(\d+)"/g,
    )].map(([, height, fill, outcome, count]) => ({
      height: +height,
      fill,
      outcome,
      count: +count,
    }));
    assert.deepEqual(slices, [
      { height: 11.9, fill: OUTCOME_COLOURS.returned, outcome: "returned", count: 99 },
      { height: 2.1, fill: OUTCOME_COLOURS.timeout, outcome: "timeout", count: 1 },
    ]);
  });

  it("at 20,000 tasks the counts stay exact and the page stays under 1.5 MB", () => {
    for (const workers of [2, 8]) {
      const { records, totals } = simulateRun({ tasks: 20_000, workers, minMs: 0.5, maxMs: 5 });
      const html = renderTimeline(records, totals);
      assert.deepEqual(countOutcomes(html), outcomeCounts(records));
      assert.equal(html.match(/<g data-lane=/g)?.length, workers);
      assert.ok(html.length < 1_500_000, `${html.length} bytes with ${workers} workers`);
    }
  });

  it("has a time axis with 1-2-5 ticks, a legend and the totals", () => {
    assert.equal(tickStep(8_400), 1_000);
    assert.equal(tickStep(840), 100);
    assert.equal(tickStep(1_500), 200);
    assert.equal(tickStep(40_000), 5_000);
    assert.equal(tickStep(1), 0.1);
    const html = renderTimeline([
      attempt("a", 1, 0, 1_000, 1_400, "threw"),
      attempt("a", 2, 1, 1_450, 2_500, "worker-crashed"),
      attempt("b", 1, 0, 1_400, 1_500),
    ], { succeeded: 1, failed: 1, cancelled: 3 });
    const ticks = [...html.matchAll(/text-anchor="middle">([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(ticks, ["0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1 s", "1.2 s", "1.4 s"]);
    for (const outcome of Object.keys(OUTCOME_COLOURS)) {
      assert.match(
        html,
        new RegExp(`background:${OUTCOME_COLOURS[outcome as EndedBy]}"></span>${outcome}<`),
      );
    }
    assert.match(html, /<\/span>retry wait</);
    assert.match(
      html,
      /<p class="totals">5 tasks: 1 succeeded, 1 failed, 3 cancelled\. 3 attempts \(1 returned, 1 threw, 1 worker-crashed\), 1 retry waits, 2 workers, 1\.5 s\.<\/p>/,
    );
  });

  it("is self-contained: no script, no link, nothing loaded", () => {
    const { records, totals } = simulateRun({ tasks: 200, workers: 3 });
    const html = renderTimeline(records, totals);
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script|<link|<img|src=|href=|url\(/i);
    assert.equal(html.match(/https?:/g)?.join(), "http:"); // the SVG namespace only
  });

  it("renders an empty run as an empty picture with zero totals", () => {
    const html = renderTimeline([], NO_TOTALS);
    assert.doesNotMatch(html, /data-lane|data-attempt/);
    assert.match(html, /0 tasks: 0 succeeded, 0 failed, 0 cancelled\. 0 attempts, 0 retry waits/);
  });
});

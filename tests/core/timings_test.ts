import { describe, it } from "node:test";
import assert from "node:assert/strict";

import type { EndedBy } from "../../src/core/executor.ts";
import type { AttemptRecord } from "../../src/core/timeline.ts";
import { computeTimings, percentiles, type TimedResult } from "../../src/core/timings.ts";
import { TaskResult } from "../../src/core/result.ts";

function attempt(
  taskId: string,
  n: number,
  worker: number | string,
  startedAt: number,
  finishedAt: number,
  endedBy: EndedBy = "returned",
): AttemptRecord {
  return { taskId, name: taskId, attempt: n, worker, startedAt, finishedAt, endedBy, message: "" };
}

// A ran at once; B was delayed to 50 and retried; C waited for a slot; D was cancelled unstarted.
const RESULTS: TimedResult[] = [
  { status: "succeeded", createdAt: 0, scheduledFor: null, startedAt: 10, finishedAt: 40 },
  { status: "failed", createdAt: 0, scheduledFor: 50, startedAt: 55, finishedAt: 100 },
  { status: "succeeded", createdAt: 5, scheduledFor: null, startedAt: 20, finishedAt: 30 },
  { status: "cancelled", createdAt: 0, scheduledFor: null, startedAt: null, finishedAt: 60 },
];
const ATTEMPTS = [
  attempt("A", 1, 0, 10, 40),
  attempt("C", 1, 0, 20, 30),
  attempt("B", 1, 1, 55, 70, "threw"),
  attempt("B", 2, 1, 80, 100, "threw"),
];

describe("computeTimings", () => {
  it("gives nearest-rank percentiles of durations and waits over the tasks that started", () => {
    const timings = computeTimings(RESULTS, ATTEMPTS);
    // Durations 30, 45, 10; waits 10, 5 (from the due time 50), 15.
    assert.deepEqual(timings.duration, { p50: 30, p90: 45, p99: 45, max: 45 });
    assert.deepEqual(timings.wait, { p50: 10, p90: 15, p99: 15, max: 15 });
  });

  it("counts succeeded and failed tasks per second of the window", () => {
    assert.equal(computeTimings(RESULTS, ATTEMPTS, { start: 0, end: 200 }).throughput, 15);
    // By default the window runs from the first start (10) to the last finish (100).
    assert.equal(computeTimings(RESULTS, ATTEMPTS).throughput, 3 / 0.09);
  });

  it("gives each lane its busy share, overlapping attempts counted once", () => {
    const { busy } = computeTimings(RESULTS, ATTEMPTS, { start: 0, end: 200 });
    // Lane 0: 10..40 covers 20..30, so 30 ms; lane 1: 15 + 20 ms.
    assert.deepEqual(busy, { "0": 0.15, "1": 0.175 });
  });

  it("counts only the part of an attempt inside the window", () => {
    const { busy } = computeTimings([], [attempt("x", 1, "pid-7", 50, 150)], {
      start: 100,
      end: 300,
    });
    assert.deepEqual(busy, { "pid-7": 0.25 });
  });

  it("reads TaskResult fields directly", () => {
    const result = new TaskResult({
      taskId: "t",
      name: "t",
      status: "succeeded",
      createdAt: 100,
      startedAt: 160,
      finishedAt: 400,
      worker: 0,
    });
    const timings = computeTimings([result], [attempt("t", 1, 0, 160, 400)]);
    assert.deepEqual(timings.duration, { p50: 240, p90: 240, p99: 240, max: 240 });
    assert.deepEqual(timings.wait, { p50: 60, p90: 60, p99: 60, max: 60 });
    assert.deepEqual(timings.busy, { "0": 1 });
  });

  it("is all zeros for a run with nothing in it", () => {
    assert.deepEqual(computeTimings([], []), {
      duration: { p50: 0, p90: 0, p99: 0, max: 0 },
      wait: { p50: 0, p90: 0, p99: 0, max: 0 },
      throughput: 0,
      busy: {},
    });
  });
});

describe("percentiles", () => {
  it("picks the value at rank ceil(p/100 * n), so always one of the values", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(percentiles(hundred), { p50: 50, p90: 90, p99: 99, max: 100 });
    assert.deepEqual(percentiles([4, 1, 3, 2]), { p50: 2, p90: 4, p99: 4, max: 4 });
    assert.deepEqual(percentiles([7]), { p50: 7, p90: 7, p99: 7, max: 7 });
  });
});

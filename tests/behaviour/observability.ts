/**
 * Seeing a run: each earlier attempt of a retried task in
 * `TaskResult.history`, `summary.timings`, `summary.timeline()` drawn from a
 * real run, and the `progress` line as a program's stderr carries it.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { QueueOptions, RunSummary, TaskResult } from "../../mod.ts";
import type { BackendUnderTest } from "./backend.ts";
import { withQueue } from "../helpers/leaks.ts";
import { uniqueKey } from "../helpers/asserts.ts";
import { runProgram } from "../helpers/subprocess.ts";

const PROGRESS_PROGRAM = new URL("../fixtures/progress_queue_program.ts", import.meta.url)
  .pathname;

/** The attempt bars of a timeline page: `taskId#attempt endedBy`, sorted. */
function barsOf(html: string): string[] {
  const bars = html.matchAll(
    /data-task-id="([^"]+)" data-attempt="(\d+)" data-ended-by="([\w-]+)"/g,
  );
  return [...bars].map(([, id, attempt, endedBy]) => `${id}#${attempt} ${endedBy}`).sort();
}

/** Attempts per outcome in a timeline page: single bars plus the slices of merged ones. */
function outcomeCountsOf(html: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, endedBy] of html.matchAll(/data-ended-by="([\w-]+)"/g)) {
    counts[endedBy] = (counts[endedBy] ?? 0) + 1;
  }
  const slices = html.matchAll(/data-merged-ended-by="([\w-]+)" data-merged-count="(\d+)"/g);
  for (const [, endedBy, count] of slices) {
    counts[endedBy] = (counts[endedBy] ?? 0) + Number(count);
  }
  return counts;
}

/** Every attempt the results describe, in the same form as {@linkcode barsOf}. */
function attemptsOf(summary: RunSummary<unknown>): string[] {
  const attempts: string[] = [];
  for (const result of summary.results) {
    for (const earlier of result.history) {
      attempts.push(`${result.taskId}#${earlier.attempt} ${earlier.endedBy}`);
    }
    if (result.attempts > result.history.length) {
      attempts.push(`${result.taskId}#${result.attempts} ${result.endedBy}`);
    }
  }
  return attempts.sort();
}

/** Defines the observability tests for `b`. */
export function observabilityTests(b: BackendUnderTest): void {
  const t = b.tasks;

  describe("attempt history", () => {
    it("keeps each earlier attempt of a retried task, and nothing for a task that ran once", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const flaky = q.submit(t.flaky, [uniqueKey("history"), 2], {
          retries: 3,
          retryDelay: 40,
        });
        const once = q.submit(t.double, [4]);
        const other = q.submit(t.double, [5]);
        await q.run();
        const result = flaky.result();
        assert.equal(result.attempts, 3);
        assert.deepEqual(result.history.map((h) => [h.attempt, h.endedBy]), [
          [1, "threw"],
          [2, "threw"],
        ]);
        const [first, second] = result.history;
        assert.equal(first.startedAt, result.startedAt);
        for (const h of result.history) {
          assert.ok(h.startedAt <= h.finishedAt);
          assert.match(h.message, /flaky/);
          if (b.name === "async") assert.equal(h.worker, null);
          else assert.equal(typeof h.worker, "number");
        }
        assert.ok(second.startedAt >= first.finishedAt + 35, "the retry delay lies between");
        assert.ok(result.finishedAt >= second.finishedAt + 35);
        assert.ok(Object.isFrozen(result.history) && Object.isFrozen(first));
        assert.deepEqual(result.toJSON().history, result.history.map((h) => ({ ...h })));
        // A task that ran once stores no history of its own.
        assert.deepEqual(once.result().history, []);
        assert.equal(once.result().history, other.result().history);
      });
    });

    it("records a timed-out attempt before its retry", async () => {
      await withQueue(() => b.make({ workers: 1 }), async (q) => {
        const h = q.submit(t.slow, [5_000], { timeout: 60, retries: 1 });
        const summary = await q.run();
        const result = h.result();
        assert.equal(result.endedBy, "timeout");
        assert.equal(result.history.length, 1);
        assert.equal(result.history[0].endedBy, "timeout");
        assert.equal(result.history[0].message, "task 'slow' exceeded 60ms timeout");
        assert.ok(result.history[0].finishedAt - result.history[0].startedAt >= 50);
        assert.match(summary.format(), /attempt 1: timeout: task 'slow' exceeded 60ms timeout/);
      });
    });
  });

  describe("timings", () => {
    it("measures task time, queue wait, throughput and each worker's busy share", async () => {
      // A pool sees a task start when it sends it to a ready worker, or else with the worker's
      // "ready" or the reply before it, which a loaded machine may deliver together with the
      // task's own reply (a 60 ms task then measured 0 ms). So both workers are booted first,
      // and each holds one attempt at a time.
      const oneAtATime = b.name === "async" ? {} : { maxInFlightPerWorker: 1 };
      await withQueue(() => b.make({ workers: 2, ...oneAtATime } as QueueOptions), async (q) => {
        q.start();
        await Promise.all(q.map(t.double, [1, 2]));
        q.map(t.slow, [60, 60, 60, 60]);
        const summary = await q.run();
        const { duration, wait, throughput, busy } = summary.timings;
        assert.ok(duration.p50 >= 50 && duration.max >= duration.p90, JSON.stringify(duration));
        // Four tasks on two workers: the last two wait for the first two.
        assert.ok(wait.max >= 50, JSON.stringify(wait));
        assert.ok(wait.p50 <= wait.max);
        const seconds = summary.duration / 1000;
        assert.ok(Math.abs(throughput - 4 / seconds) < 0.01 * throughput, `${throughput}/s`);
        const shares = Object.values(busy);
        assert.equal(shares.length, 2, JSON.stringify(busy));
        for (const share of shares) assert.ok(share > 0 && share <= 1, JSON.stringify(busy));
        // A worker runs one attempt at a time: the shares add up to the time the attempts took.
        const ran = summary.results.reduce((sum, r) => sum + r.duration, 0);
        const busyTime = shares.reduce((sum, share) => sum + share, 0) * summary.duration;
        assert.ok(Math.abs(busyTime - ran) < 0.01 * ran, `${busyTime} ms busy, ${ran} ms run`);
        assert.deepEqual(JSON.parse(JSON.stringify(summary)).timings, summary.timings);
        assert.match(summary.format(), /Task time {3}: p50 \d+ms/);
      });
    });
  });

  describe("timeline", () => {
    it("draws one lane per worker and one bar per attempt, coloured by how it ended", async () => {
      await withQueue(() => b.make({ workers: 2 }), async (q) => {
        q.submit(t.failUntilAttempt, [2], { bind: true, retries: 1, retryDelay: 30 });
        q.submit(t.slow, [5_000], { timeout: 50 });
        q.submit(t.failAlways, ["nope"]);
        q.map(t.slow, [20, 30, 40]);
        const summary = await q.run();
        const html = summary.timeline({ title: `${b.name} run` });
        // Attempts far shorter than a pixel merge into one bar (a pool's run lasts
        // a kill grace longer): each single bar is an attempt, and the counts are exact.
        const attempts = attemptsOf(summary);
        for (const bar of barsOf(html)) assert.ok(attempts.includes(bar), bar);
        const expected: Record<string, number> = {};
        for (const attempt of attempts) {
          const endedBy = attempt.split(" ")[1];
          expected[endedBy] = (expected[endedBy] ?? 0) + 1;
        }
        assert.deepEqual(outcomeCountsOf(html), expected);
        assert.deepEqual(expected, { returned: 4, threw: 2, timeout: 1 });
        const lanes = [...html.matchAll(/data-lane="([^"]+)"/g)].map((m) => m[1]);
        if (b.name === "async") {
          assert.deepEqual(lanes, ["0", "1"], "two slots for two workers");
        } else {
          const workers = new Set<string>();
          for (const result of summary.results as readonly TaskResult<unknown>[]) {
            workers.add(String(result.worker));
            for (const h of result.history) workers.add(String(h.worker));
          }
          assert.deepEqual(lanes, [...workers].sort((x, y) => Number(x) - Number(y)));
        }
        const laneName = { async: "slot", thread: "thread", process: "pid" }[b.name];
        assert.match(html, new RegExp(`>${laneName} ${lanes[0]}</text>`), "lanes named by backend");
        assert.match(html, /data-retry-wait="/);
        assert.match(html, /6 tasks: 4 succeeded, 2 failed, 0 cancelled/);
      });
    });
  });

  describe("progress line", { timeout: 60_000 }, () => {
    it("is drawn on stderr with progress: true, and erased at the end", async () => {
      const outcome = await runProgram(PROGRESS_PROGRAM, [], {
        PROGRESS_BACKEND: b.name,
        PROGRESS_MODE: "true",
      });
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /^finished 24 tasks, 1 failed$/m);
      // Each redraw erases the line before it; the last write erases the line for good.
      const frames = outcome.stderr.split("\r\x1b[J").filter((frame) => frame !== "");
      assert.ok(frames.length >= 2, JSON.stringify(outcome.stderr));
      assert.ok(outcome.stderr.endsWith("\r\x1b[J"), JSON.stringify(outcome.stderr));
      for (const frame of frames) {
        assert.match(frame, /^\d+\/24 \d+% .* failed \| \d+ retrying \| .*\/s \| ETA .* active$/);
      }
    });

    it("prints nothing when stderr is a pipe and progress is left at 'auto'", async () => {
      const outcome = await runProgram(PROGRESS_PROGRAM, [], {
        PROGRESS_BACKEND: b.name,
        PROGRESS_MODE: "auto",
        PROGRESS_TASK_MS: "200", // the run lasts over 2 s, when "auto" would draw on a terminal
      });
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /^finished 24 tasks, 1 failed$/m);
      assert.equal(outcome.stderr, "");
    });
  });
}

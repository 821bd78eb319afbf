import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../mod.ts";
import { runProgram as runProgramWith } from "./helpers/subprocess.ts";

const program = new URL("./fixtures/runner_program.ts", import.meta.url).pathname;
const runProgram = (signals: NodeJS.Signals[]) => runProgramWith(program, signals);
const producerProgram = new URL("./fixtures/runner_producer_program.ts", import.meta.url).pathname;

describe("run(main)", () => {
  it("returns main's value and removes its listeners", async () => {
    assert.equal(await run(() => 42), 42);
    assert.equal(await run(async () => "async"), "async");
  });

  it("rethrows what main throws", async () => {
    await assert.rejects(run(() => Promise.reject(new RangeError("nope"))), RangeError);
  });

  it("rejects a non-function main with a TypeError", async () => {
    await assert.rejects(() => run(42 as unknown as () => void), TypeError);
  });

  it("turns SIGTERM into a run timeout that spares mustComplete, then exits 143", async () => {
    const outcome = await runProgram(["SIGTERM"]);
    assert.equal(outcome.code, 143, outcome.stderr);
    const summary = JSON.parse(outcome.stdout.split("\n").find((l) => l.startsWith("{")) ?? "{}");
    assert.equal(summary.timedOut, true);
    assert.deepEqual(summary.statuses, {
      protected: "succeeded",
      endless: "cancelled",
      queued: "cancelled",
    });
    assert.ok(!outcome.stdout.includes("not reached"));
  });

  it("passes main an AbortSignal that is still unaborted when no signal came", async () => {
    let seen: AbortSignal | undefined;
    await run((signal) => {
      seen = signal;
    });
    assert.ok(seen instanceof AbortSignal);
    assert.equal(seen.aborted, false);
  });

  it("on SIGTERM closes every queue, then aborts main's signal; results say why", async () => {
    const outcome = await runProgramWith(producerProgram, ["SIGTERM"]);
    assert.equal(outcome.code, 143, outcome.stderr);
    const line = outcome.stdout.split("\n").find((l) => l.startsWith("{"));
    assert.ok(line !== undefined, `the program printed its report: ${outcome.stdout}`);
    const report = JSON.parse(line);
    assert.ok(report.produced > 0, "the producer ran before the signal");
    const closed = "ClosedError: queue is shutting down (SIGTERM)";
    assert.equal(report.atAbort, closed, "the queue was closed before main's signal aborted");
    assert.equal(report.afterRun, closed, "still closed after its run returned");
    assert.match(report.reason, /received SIGTERM/);
    assert.equal(report.interrupted, "signal");
    assert.equal(report.json, "signal");
    assert.equal(report.timedOut, true);
    assert.equal(report.formatted, true);
    assert.equal(report.cancelReasons.endless, "signal");
    assert.equal(report.statuses.protected, "succeeded");
  });

  it("on SIGINT the message names SIGINT", async () => {
    const outcome = await runProgramWith(producerProgram, ["SIGINT"]);
    assert.equal(outcome.code, 130, outcome.stderr);
    const report = JSON.parse(outcome.stdout.split("\n").find((l) => l.startsWith("{")) ?? "{}");
    assert.equal(report.afterRun, "ClosedError: queue is shutting down (SIGINT)");
  });

  it("exits 130 on SIGINT", async () => {
    const outcome = await runProgram(["SIGINT"]);
    assert.equal(outcome.code, 130, outcome.stderr);
  });

  it("forces everything down on a second signal", async () => {
    const outcome = await runProgram(["SIGTERM", "SIGTERM"]);
    assert.equal(outcome.code, 143, outcome.stderr);
    // The second signal arrives while the protected task still runs: it is cancelled too.
    const line = outcome.stdout.split("\n").find((l) => l.startsWith("{"));
    if (line !== undefined) {
      assert.equal(JSON.parse(line).statuses.protected, "cancelled");
    }
  });
});

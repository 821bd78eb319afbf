import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../mod.ts";
import { runProgram as runProgramWith } from "./helpers/subprocess.ts";

const program = new URL("./fixtures/runner_program.ts", import.meta.url).pathname;
const runProgram = (signals: NodeJS.Signals[]) => runProgramWith(program, signals);

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

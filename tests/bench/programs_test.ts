/**
 * The programs a bench measurement starts (a redis-server, workers) die
 * with it when the harness stops it at its timeout.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { processTable } from "../helpers/process_table.ts";
import { runProgram } from "../helpers/subprocess.ts";

const program = new URL("../fixtures/bench_program_main.ts", import.meta.url).pathname;

function isRunning(pid: number): boolean {
  return processTable().some((entry) => entry.pid === pid && entry.state !== "Z");
}

describe("bench programs", () => {
  it("a measurement stopped by SIGTERM kills the programs it started, and exits 143", async () => {
    const outcome = await runProgram(program, ["SIGTERM"]);
    assert.equal(outcome.code, 143, outcome.stderr);
    const pid = Number(/ready (\d+)/.exec(outcome.stdout)?.[1]);
    assert.ok(pid > 0, `the program printed its child's pid: ${outcome.stdout}`);
    // Killed before the measurement exited; give the kernel a moment to reap it.
    for (let i = 0; i < 40 && isRunning(pid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(isRunning(pid), false, `program ${pid} is left running`);
  });
});

/**
 * The runner under real signals with all three queues: SIGTERM (and a second
 * one) to a program using run(main). Checks the exit code, which tasks
 * finished, and — through the process table — that no child process or
 * grandchild of the program is left once it has exited.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { runProgram } from "../helpers/subprocess.ts";

const program = new URL("../fixtures/runner_pools_program.ts", import.meta.url).pathname;

/** Pids of live processes whose environment carries `mark` (our own never does). */
function markedProcesses(mark: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue; // a zombie holds nothing
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`OSIISO_TEST_MARK=${mark}`)) {
        found.push(Number(entry));
      }
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

async function expectNothingLeft(mark: string): Promise<void> {
  // The program has exited; give the kernel a moment to reap what it killed.
  for (let i = 0; i < 40 && markedProcesses(mark).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(markedProcesses(mark), [], "no child or grandchild of the program is left");
}

describe("run(main) under signals, with thread and process queues", () => {
  it("SIGTERM: mustComplete tasks finish, the rest are cancelled, exit 143, nothing left", async () => {
    const mark = crypto.randomUUID();
    const outcome = await runProgram(program, ["SIGTERM"], { OSIISO_TEST_MARK: mark });
    assert.equal(outcome.code, 143, outcome.stderr);
    const line = outcome.stdout.split("\n").find((l) => l.startsWith("{"));
    assert.ok(line !== undefined, `the program printed its summaries: ${outcome.stdout}`);
    const { statuses, timedOut } = JSON.parse(line);
    assert.deepEqual(statuses, {
      "protected-process": "succeeded",
      "hangs-with-grandchild": "cancelled",
      "protected-thread": "succeeded",
      "endless-thread": "cancelled",
      "endless-async": "cancelled",
    });
    assert.deepEqual(timedOut, [true, true, true]);
    await expectNothingLeft(mark);
  });

  it("a second signal forces everything down at once; nothing left", async () => {
    const mark = crypto.randomUUID();
    const outcome = await runProgram(program, ["SIGTERM", "SIGTERM"], { OSIISO_TEST_MARK: mark });
    assert.equal(outcome.code, 143, outcome.stderr);
    await expectNothingLeft(mark);
  });
});

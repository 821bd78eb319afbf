/**
 * The runner under real signals with all three queues: SIGTERM (and a second
 * one) to a program using run(main). Checks the exit code, which tasks
 * finished, and — through the process table — that no child process or
 * grandchild of the program is left once it has exited.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

const isDeno = "Deno" in globalThis;
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

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the program; once it says "ready", sends `signals`; Deno's exit codes come back as signals. */
function runProgram(mark: string, signals: NodeJS.Signals[]): Promise<Outcome> {
  const args = isDeno ? ["run", "-A", program] : [program];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OSIISO_TEST_MARK: mark },
  });
  let stdout = "";
  let stderr = "";
  let sent = false;
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    if (!sent && stdout.includes("ready")) {
      sent = true;
      signals.forEach((signal, index) => setTimeout(() => child.kill(signal), 50 + index * 60));
    }
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The exit status as a code: Deno's node:child_process reports exit(143) as SIGTERM. */
function exitCode(outcome: Outcome): number | null {
  if (outcome.code !== null) return outcome.code;
  return outcome.signal === "SIGTERM" ? 143 : outcome.signal === "SIGINT" ? 130 : null;
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
    const outcome = await runProgram(mark, ["SIGTERM"]);
    assert.equal(exitCode(outcome), 143, outcome.stderr);
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
    const outcome = await runProgram(mark, ["SIGTERM", "SIGTERM"]);
    assert.equal(exitCode(outcome), 143, outcome.stderr);
    await expectNothingLeft(mark);
  });
});

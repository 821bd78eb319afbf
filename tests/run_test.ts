import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { run } from "../mod.ts";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

const isDeno = "Deno" in globalThis;
const program = new URL("./fixtures/runner_program.ts", import.meta.url).pathname;

/** Runs the fixture program, sends `signals` once it says "ready", and collects the outcome. */
function runProgram(signals: NodeJS.Signals[]): Promise<Outcome> {
  return isDeno ? runProgramDeno(signals) : runProgramNode(signals);
}

/**
 * Deno's node:child_process reports a child's exit(143) as "killed by
 * SIGTERM" (RUNTIME_NOTES.md), so on Deno the real exit code is read through
 * Deno.Command.
 */
async function runProgramDeno(signals: NodeJS.Signals[]): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", program],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const decoder = new TextDecoder();
  const stderrText = new Response(child.stderr).text();
  let sent = false;
  for await (const chunk of child.stdout) {
    stdout += decoder.decode(chunk, { stream: true });
    if (!sent && stdout.includes("ready")) {
      sent = true;
      signals.forEach((signal, index) =>
        setTimeout(() => {
          try {
            child.kill(signal as Deno.Signal);
          } catch { /* already gone */ }
        }, 20 + index * 40)
      );
    }
  }
  const status = await child.status;
  return { code: status.code, stdout, stderr: await stderrText };
}

function runProgramNode(signals: NodeJS.Signals[]): Promise<Outcome> {
  const args = isDeno ? ["run", "-A", program] : [program];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let sent = false;
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    if (!sent && stdout.includes("ready")) {
      sent = true;
      signals.forEach((signal, index) => setTimeout(() => child.kill(signal), 20 + index * 40));
    }
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

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

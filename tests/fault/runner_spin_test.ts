/**
 * A busy loop that never yields, in a ThreadQueue under run(main): the task
 * settles as a timeout, the next task runs on a replacement worker, and the
 * program still exits (Deno: run(main) ends the process, naming the task;
 * Bun: terminate() stops the thread).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";

const isDeno = "Deno" in globalThis;
const program = new URL("../fixtures/runner_spin_program.ts", import.meta.url).pathname;

describe("run(main) with a worker stuck in synchronous code", () => {
  it("settles the task, runs the next one, and the program exits", async () => {
    const args = isDeno ? ["run", "-A", program] : [program];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s]))
    );
    clearTimeout(killer);
    assert.equal(signal, null, `the program hung and was killed: ${stderr}`);
    assert.equal(code, 0, stderr);
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    assert.ok(line !== undefined, stdout);
    assert.deepEqual(JSON.parse(line), { spin: "timeout", after: 42 });
    if (isDeno) {
      // The thread could not be stopped: run(main) ended the process and said why.
      assert.match(stderr, /could not be stopped.*spinner/);
    }
  });
});

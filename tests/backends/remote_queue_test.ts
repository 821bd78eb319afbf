/**
 * Worker-side submission beyond the shared behaviour suite: a ThreadQueue
 * task handed the port submits into another queue, and a program whose
 * worker ended without closing its side still exits by itself.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { AsyncQueue, taskModule, ThreadQueue } from "../../mod.ts";
import type * as RemoteTasks from "../fixtures/remote_tasks.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";

const remoteTasks = taskModule<typeof RemoteTasks>(
  new URL("../fixtures/remote_tasks.ts", import.meta.url),
);
const isDeno = "Deno" in globalThis;

describe("connectQueue", () => {
  useLeakCheck();

  it("a ThreadQueue task handed the port submits into another queue", async () => {
    await withQueue(() => new AsyncQueue().start(), async (outer) => {
      await withQueue(() => new ThreadQueue({ workers: 1 }), async (threads) => {
        const port = outer.connect();
        const handle = threads.submit(remoteTasks.doubleThrough, [port, 5], { transfer: [port] });
        await threads.run();
        assert.deepEqual(handle.value(), [0, 2, 4, 6, 8]);
        assert.equal(outer.results.length, 5);
        assert.deepEqual(outer.results.map((result) => result.name), Array(5).fill("double"));
      });
    });
  });

  it("a worker ended without close(): its tasks run, and no port keeps the program alive", {
    timeout: 30_000,
  }, async () => {
    const program = new URL("../fixtures/remote_abandon_main.ts", import.meta.url).pathname;
    const child = spawn(process.execPath, isDeno ? ["run", "-A", program] : [program], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]))
    );
    clearTimeout(timer);
    assert.equal(signal, null, `the program did not exit by itself: ${output}`);
    assert.equal(code, 0, output);
    assert.match(output, /^ran 5$/m);
  });
});

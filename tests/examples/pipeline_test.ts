/**
 * The offline pipeline example (`deno task pipeline`) end to end, on the
 * runtime running the tests: a first run fetches everything, a second one
 * restores it from the checkpoint, `--reset-checkpoint` starts afresh, and
 * a run killed while fetching resumes with what it had recorded.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";

import { withTempDir } from "../helpers/temp_dir.ts";

const isDeno = "Deno" in globalThis;
const program = new URL("../../examples/pipeline/main.ts", import.meta.url).pathname;

interface Outcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly output: string;
}

/** Runs the pipeline; with `killAfter`, SIGKILLs it that many ms after it starts fetching items. */
function pipeline(
  args: string[],
  options: { killAfter?: number; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    isDeno ? ["run", "-A", program, ...args] : [program, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  let output = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const collect = (chunk: unknown) => {
    output += chunk;
    if (
      options.killAfter !== undefined && timer === undefined && /Fetching \d+ items/.test(output)
    ) {
      timer = setTimeout(() => child.kill("SIGKILL"), options.killAfter);
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    })
  );
}

function restored(output: string, what: "items" | "users"): [number, number] {
  const match = output.match(new RegExp(`${what} restored: (\\d+)/(\\d+)`));
  assert.ok(match, `no '${what} restored' line in:\n${output}`);
  return [Number(match[1]), Number(match[2])];
}

describe("the pipeline example", () => {
  it("fetches, persists and analyses; a second run restores; a reset starts afresh", {
    timeout: 120_000,
  }, async () => {
    await withTempDir("osiiso-pipeline-", async (dir) => {
      const args = ["--database", join(dir, "hn.db"), "--checkpoint", join(dir, "cp.db")];
      const first = await pipeline(args);
      assert.equal(first.code, 0, first.output);
      assert.deepEqual(restored(first.output, "items"), [0, 6]);
      assert.match(first.output, /retrying fetch-item: HTTP 503/);
      assert.match(first.output, /retrying fetch-user: task 'fetch-user' exceeded 250ms timeout/);
      assert.match(first.output, /SQLite counts: \{"items":6,"users":6,"metrics":1\}/);
      assert.match(first.output, /Score summary: \{"count":6,/);
      assert.equal(first.output.match(/^ {2}\d+: [\d.]+ - /gm)?.length, 5);

      const second = await pipeline(args);
      assert.equal(second.code, 0, second.output);
      assert.deepEqual(restored(second.output, "items"), [6, 6]);
      const [users, allUsers] = restored(second.output, "users");
      assert.equal(users, allUsers);
      assert.match(second.output, /"items":0,"users":0/);
      const report = (output: string) => output.slice(output.indexOf("SQLite counts"));
      assert.equal(report(second.output), report(first.output));

      const reset = await pipeline([...args, "--reset-checkpoint"]);
      assert.equal(reset.code, 0, reset.output);
      assert.match(reset.output, /Cleared \d+ checkpoint record\(s\)\./);
      assert.deepEqual(restored(reset.output, "items"), [0, 6]);

      const without = await pipeline([...args, "--no-checkpoint"]);
      assert.equal(without.code, 0, without.output);
      assert.doesNotMatch(without.output, /Checkpoint:/);
    });
  });

  it(
    "a run killed while fetching resumes with what it recorded",
    { timeout: 120_000 },
    async () => {
      await withTempDir("osiiso-pipeline-kill-", async (dir) => {
        const args = [
          "--limit",
          "40",
          "--database",
          join(dir, "hn.db"),
          "--checkpoint",
          join(dir, "cp.db"),
        ];
        const env = { PIPELINE_ITEM_DELAY_MS: "40" };
        let resumedWith = 0;
        for (let attempt = 0; attempt < 5 && resumedWith === 0; attempt++) {
          const killed = await pipeline(args, { killAfter: 150, env });
          assert.equal(killed.signal, "SIGKILL", killed.output);
          const resumed = await pipeline(args, { env });
          assert.equal(resumed.code, 0, resumed.output);
          const [items, total] = restored(resumed.output, "items");
          assert.equal(total, 40);
          assert.match(resumed.output, /SQLite counts: \{"items":40,/);
          resumedWith = items;
          if (items > 0) {
            assert.ok(items < 40, `all 40 were done before the kill:\n${resumed.output}`);
          }
        }
        assert.ok(resumedWith > 0, "no killed run had recorded anything");
      });
    },
  );
});

/**
 * Checkpointed runs killed with SIGKILL at random moments, on every backend:
 * the file still opens, and the run started again executes exactly the items
 * that were not recorded, once each.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { seededRandom } from "../helpers/random.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const isDeno = "Deno" in globalThis;
const program = new URL("../fixtures/checkpoint_run_main.ts", import.meta.url).pathname;
const ITEMS = 200;

interface Outcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the program; with `killAfter`, SIGKILLs it that many ms after its first task finished. */
function runProgram(args: string[], killAfter?: number): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    isDeno ? ["run", "-A", program, ...args] : [program, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
    if (killAfter !== undefined && timer === undefined && stdout.includes("running\n")) {
      timer = setTimeout(() => child.kill("SIGKILL"), killAfter);
    }
  });
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    })
  );
}

/** The recorded keys of the run's namespace, read straight from the file. */
function recordedItems(path: string): Set<number> {
  const database = new DatabaseSync(path);
  try {
    const check = database.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
    assert.equal(check.integrity_check, "ok");
    const rows = database.prepare(
      "SELECT key, value FROM completions WHERE namespace = 'slowDouble'",
    ).all() as unknown as { key: string; value: string }[];
    for (const row of rows) assert.equal(JSON.parse(row.value), Number(row.key) * 2);
    return new Set(rows.map((row) => Number(row.key)));
  } catch (error) {
    if (/no such table/.test(String(error))) return new Set();
    throw error;
  } finally {
    database.close();
  }
}

function loggedItems(log: string): number[] {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch { /* nothing started */ }
  return text.split("\n").filter((line) => line !== "").map(Number);
}

const ROUNDS: Record<string, number> = { async: 12, thread: 6, process: 6 };

describe("a checkpointed run killed and resumed", () => {
  for (const backend of ["async", "thread", "process"]) {
    it(
      `${backend}: a resume runs exactly what was not recorded`,
      { timeout: 120_000 },
      async () => {
        const seed = Date.now() % 100_000;
        const random = seededRandom(seed);
        let killedHalfway = 0;
        await withTempDir("osiiso-checkpoint-resume-", async (dir) => {
          for (let round = 0; round < ROUNDS[backend]; round++) {
            const where = `seed ${seed}, ${backend} round ${round}`;
            const path = join(dir, `run-${round}.db`);
            const log = join(dir, `log-${round}`);
            const killed = await runProgram(
              [path, log, backend, String(ITEMS)],
              Math.floor(random() * 120),
            );
            const recorded = recordedItems(path);
            if (killed.signal === "SIGKILL") {
              if (recorded.size > 0 && recorded.size < ITEMS) killedHalfway++;
              // Only what ran can be recorded.
              const ran = new Set(loggedItems(log));
              for (const item of recorded) assert.ok(ran.has(item), `${where}: ${item} never ran`);
            } else {
              assert.equal(killed.code, 0, `${where}: ${killed.stderr}`);
              assert.equal(recorded.size, ITEMS, where);
            }

            rmSync(log, { force: true });
            const resumed = await runProgram([path, log, backend, String(ITEMS)]);
            assert.equal(resumed.code, 0, `${where}: ${resumed.stderr}`);
            const missing = Array.from({ length: ITEMS }, (_, i) => i).filter((i) =>
              !recorded.has(i)
            );
            assert.match(resumed.stdout, new RegExp(`done ${missing.length}\\n`), where);
            assert.deepEqual(loggedItems(log).sort((a, b) => a - b), missing, where);
            assert.equal(recordedItems(path).size, ITEMS, where);
          }
        });
        assert.ok(killedHalfway > 0, `seed ${seed}: no round was killed halfway through`);
      },
    );
  }
});

/**
 * Checkpoint files under processes: a writer SIGKILLed at random moments
 * leaves a file that opens with exactly the batches it committed, and two
 * processes writing one file at once both succeed (WAL, busy timeout).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { Checkpoint } from "../../mod.ts";
import { checkpointStore } from "../../src/core/checkpoint.ts";
import { seededRandom } from "../helpers/random.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const isDeno = "Deno" in globalThis;
const writer = new URL("../fixtures/checkpoint_writer.ts", import.meta.url).pathname;

interface Writer {
  /** The `flushed N` lines so far. */
  readonly flushed: number[];
  readonly started: Promise<number>;
  readonly firstFlush: Promise<void>;
  readonly exited: Promise<[number | null, string | null]>;
  readonly stderr: () => string;
  kill(): void;
}

function startWriter(
  path: string,
  namespace: string,
  batch: number,
  limit: number,
  waitFor?: string,
): Writer {
  const args = [
    writer,
    path,
    namespace,
    String(batch),
    String(limit),
    ...(waitFor ? [waitFor] : []),
  ];
  const child = spawn(process.execPath, isDeno ? ["run", "-A", ...args] : args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const flushed: number[] = [];
  let stdout = "";
  let stderr = "";
  let onStart: (count: number) => void = () => {};
  let onFlush: () => void = () => {};
  const started = new Promise<number>((resolve) => (onStart = resolve));
  const firstFlush = new Promise<void>((resolve) => (onFlush = resolve));
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
    const lines = stdout.split("\n");
    stdout = lines.pop()!;
    for (const line of lines) {
      const [word, count] = line.split(" ");
      if (word === "start") onStart(Number(count));
      if (word === "flushed") {
        flushed.push(Number(count));
        onFlush();
      }
    }
  });
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    child.on("close", (code, signal) => resolve([code, signal]))
  );
  return {
    flushed,
    started,
    firstFlush,
    exited,
    stderr: () => stderr,
    kill: () => child.kill("SIGKILL"),
  };
}

function integrity(path: string): string {
  const database = new DatabaseSync(path);
  try {
    return (database.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
      .integrity_check;
  } finally {
    database.close();
  }
}

describe("Checkpoint across processes", () => {
  it(
    "survives SIGKILL at random moments with exactly the committed batches",
    { timeout: 60_000 },
    async () => {
      const kills = 30;
      const batch = 50;
      const seed = Date.now() % 100_000;
      const random = seededRandom(seed);
      await withTempDir("osiiso-checkpoint-kill-", async (dir) => {
        const path = join(dir, "run.db");
        let committed = 0; // rows the file held when the last round ended
        for (let round = 0; round < kills; round++) {
          const child = startWriter(path, "ns", batch, 0);
          const start = await Promise.race([child.started, child.exited.then(() => -1)]);
          const where = `seed ${seed}, round ${round}`;
          assert.equal(start, committed, `${where}: resumed after ${start}: ${child.stderr()}`);
          await child.firstFlush;
          await new Promise((resolve) => setTimeout(resolve, random() * 40));
          child.kill();
          const [, signal] = await child.exited;
          assert.equal(signal, "SIGKILL", child.stderr());

          assert.equal(integrity(path), "ok", where);
          const reported = child.flushed.at(-1)!;
          await using checkpoint = new Checkpoint(path);
          const count = await checkpoint.count("ns");
          // What it reported is in; at most the batch it was killed before reporting is too.
          assert.ok(
            count === reported || count === reported + batch,
            `${where}: ${count} rows, last reported ${reported}`,
          );
          assert.equal(await checkpoint.isDone("ns", String(count - 1)), true);
          assert.equal(await checkpoint.isDone("ns", String(count)), false);
          const hits = await checkpoint.lookup("ns", [String(count - 1)]);
          assert.equal((hits.get(String(count - 1))?.value as { i: number }).i, count - 1);
          committed = count;
        }
      });
    },
  );

  it("lets two processes write one file at the same time", { timeout: 30_000 }, async () => {
    const rows = 3_000;
    await withTempDir("osiiso-checkpoint-two-", async (dir) => {
      const path = join(dir, "run.db");
      new DatabaseSync(path).close(); // both children then create the table at once
      const children = [
        startWriter(path, "a", 10, rows, "b"),
        startWriter(path, "b", 10, rows, "a"),
      ];
      const outcomes = await Promise.all(children.map((child) => child.exited));
      children.forEach((child, index) => {
        assert.deepEqual(outcomes[index], [0, null], child.stderr());
        assert.equal(child.flushed.at(-1), rows);
      });
      const database = new DatabaseSync(path);
      const spans = database.prepare(
        "SELECT MIN(recorded_at) AS first, MAX(recorded_at) AS last FROM completions " +
          "GROUP BY namespace ORDER BY namespace",
      ).all() as unknown as { first: number; last: number }[];
      database.close();
      const [a, b] = spans;
      assert.ok(
        a.first <= b.last && b.first <= a.last,
        `the writers overlapped in time: ${JSON.stringify(spans)}`,
      );
      assert.equal(integrity(path), "ok");
      await using checkpoint = new Checkpoint(path);
      assert.equal(await checkpoint.count("a"), rows);
      assert.equal(await checkpoint.count("b"), rows);
    });
  });
});

describe("Checkpoint and a lock held elsewhere", () => {
  it("waits 5 s for another connection's write lock, then fails and keeps the batch", {
    timeout: 30_000,
  }, async () => {
    await withTempDir("osiiso-checkpoint-lock-", async (dir) => {
      const path = join(dir, "run.db");
      await using checkpoint = new Checkpoint(path);
      const store = checkpointStore(checkpoint);
      const other = new DatabaseSync(path);
      try {
        other.exec("BEGIN IMMEDIATE");
        store.recordLater("ns", "k", 1, null);
        const started = performance.now();
        assert.throws(() => store.flush(), /database is locked/);
        const waited = performance.now() - started;
        assert.ok(waited >= 4_900, `gave up after ${waited} ms`);
        assert.equal(store.pending, 1);
        other.exec("COMMIT");
      } finally {
        other.close();
      }
      assert.equal(await checkpoint.count(), 1, "written by the next flush");
    });
  });
});

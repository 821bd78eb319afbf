import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { AsyncQueue, Checkpoint } from "../../mod.ts";
import { checkpointStore } from "../../src/core/checkpoint.ts";
import { checkpointKeyFor } from "../../src/core/checkpoint_key.ts";
import { InvalidStateError } from "../../src/core/errors.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const CLOSED = "checkpoint is closed — close it after the queue has finished, not before";

/** The table as the Python osiiso creates it, as SQL text. */
const PYTHON_SCHEMA = `CREATE TABLE IF NOT EXISTS completions (
    namespace   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       BLOB,
    encoding    TEXT NOT NULL,
    name        TEXT,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;`;

/** Runs `fn` with `console.warn` collected; returns what was warned. */
async function collectWarnings(fn: () => unknown): Promise<string[]> {
  const warned: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warned.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return warned;
}

/** Opens a checkpoint file in a fresh temporary directory, closed afterwards. */
function withFile<T>(fn: (path: string) => T | Promise<T>): Promise<T> {
  return withTempDir("osiiso-checkpoint-", (dir) => fn(join(dir, "run.db")));
}

interface RawRow {
  namespace: string;
  key: string;
  value: unknown;
  encoding: string;
  name: string | null;
  recorded_at: number;
  value_type: string;
}

function rawRows(path: string): RawRow[] {
  const database = new DatabaseSync(path);
  try {
    return database.prepare(
      "SELECT *, typeof(value) AS value_type FROM completions ORDER BY namespace, key",
    ).all() as unknown as RawRow[];
  } finally {
    database.close();
  }
}

/** The JSON text the checkpoint writes for a value JSON carries as it is, else `undefined`. */
function primitiveJsonOf(value: unknown): string | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0) ? JSON.stringify(value) : undefined;
  }
  return value === null || typeof value === "string" || typeof value === "boolean"
    ? JSON.stringify(value)
    : undefined;
}

describe("Checkpoint", () => {
  useLeakCheck();

  describe("opening", () => {
    it("defaults to an in-memory checkpoint that stores values", async () => {
      await using checkpoint = new Checkpoint();
      assert.equal(checkpoint.path, ":memory:");
      assert.equal(checkpoint.storeValues, true);
      assert.equal(checkpoint.closed, false);
      assert.equal(await checkpoint.count(), 0);
    });

    it("keeps two in-memory checkpoints apart", async () => {
      await using a = new Checkpoint(":memory:");
      await using b = new Checkpoint(":memory:");
      await a.record("ns", "k");
      assert.equal(await b.isDone("ns", "k"), false);
    });

    it("validates its arguments", () => {
      const cases: [() => unknown, ErrorConstructor, string][] = [
        [
          () => new Checkpoint(5 as never),
          TypeError,
          "'path' must be a string: current value is 5",
        ],
        [
          () => new Checkpoint(":memory:", [] as never),
          TypeError,
          "'options' must be an object: current value is array(0)",
        ],
        [
          () => new Checkpoint(":memory:", { storeValues: 1 as never }),
          TypeError,
          "'storeValues' must be a boolean: current value is 1",
        ],
        [
          () => new Checkpoint(":memory:", { encode: "json" as never }),
          TypeError,
          "'encode' must be a function: current value is 'json'",
        ],
        [
          () => new Checkpoint(":memory:", { decode: {} as never }),
          TypeError,
          "'decode' must be a function: current value is an object",
        ],
      ];
      for (const [fn, kind, tail] of cases) {
        assert.throws(fn, new kind(`Cannot open checkpoint as ${tail}`));
      }
      assert.throws(
        () => new Checkpoint(":memory:", { storeValue: false, zip: 1 } as never),
        new TypeError("Unknown checkpoint option(s): storeValue, zip"),
      );
    });

    it("fails with SQLite's error for a path it cannot open", () => {
      assert.throws(() => new Checkpoint("/nonexistent-dir/x/run.db"), /unable to open/i);
    });
  });

  describe("recording and looking up", () => {
    it("records, then reports the key as done", async () => {
      await using checkpoint = new Checkpoint();
      assert.equal(await checkpoint.isDone("ns", "a"), false);
      assert.equal(await checkpoint.record("ns", "a", 1), true);
      assert.equal(await checkpoint.isDone("ns", "a"), true);
      assert.equal(await checkpoint.isDone("other", "a"), false);
    });

    it("looks up hits with their values; missing keys are absent", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("ns", "a", { n: 1 });
      await checkpoint.record("ns", "b", "two");
      const hits = await checkpoint.lookup("ns", new Set(["a", "b", "c"]));
      assert.deepEqual(
        hits,
        new Map([["a", { value: { n: 1 }, hasValue: true }], ["b", {
          value: "two",
          hasValue: true,
        }]]),
      );
      assert.deepEqual(await checkpoint.lookup("ns", []), new Map());
    });

    it("looks up more keys than one query holds", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      for (let i = 0; i < 1200; i++) store.recordLater("ns", String(i), i, null);
      const keys = Array.from({ length: 1300 }, (_, i) => String(i));
      const hits = await checkpoint.lookup("ns", keys);
      assert.equal(hits.size, 1200);
      assert.deepEqual(hits.get("999"), { value: 999, hasValue: true });
      assert.equal(hits.has("1250"), false);
    });

    it("writes a flush of many statements' worth of mixed rows, the last value of a key winning", async () => {
      await using checkpoint = new Checkpoint(":memory:", {
        encode: (value) => typeof value === "number" ? String(value) : new Uint8Array([7]),
        decode: (stored) => typeof stored === "string" ? Number(stored) : [...stored],
      });
      const store = checkpointStore(checkpoint);
      // 123 rows: two full statements of 50 and 23 single ones; names and namespaces vary.
      for (let i = 0; i < 122; i++) {
        store.recordLater(
          i % 2 ? "odd" : "even",
          String(i),
          i % 3 ? i : "bytes",
          i % 5 ? null : "n",
        );
      }
      store.recordLater("even", "4", 4444, "last"); // the same key again, in the same flush
      store.flush();
      const even = await checkpoint.lookup("even", ["0", "2", "4", "118"]);
      assert.deepEqual(even.get("0"), { value: [7], hasValue: true });
      assert.deepEqual(even.get("2"), { value: 2, hasValue: true });
      assert.deepEqual(even.get("4"), { value: 4444, hasValue: true });
      assert.deepEqual(even.get("118"), { value: 118, hasValue: true });
      assert.equal(await checkpoint.count("odd"), 61);
      assert.equal(await checkpoint.count("even"), 61);
    });

    it("returns exactly the keys asked for when a large look-up reads the whole namespace", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      for (let i = 0; i < 30_000; i++) store.recordLater("ns", String(i), i, null);
      store.recordLater("ns", "10001", new Date(5), null); // not plain JSON: read apart
      store.recordLater("other", "5", "other namespace", null);
      // 25,000 keys asked, 20,000 of them recorded: the namespace (30,000) is read whole.
      const keys = Array.from({ length: 25_000 }, (_, i) => String(i + 10_000));
      const hits = await checkpoint.lookup("ns", keys);
      assert.equal(hits.size, 20_000);
      assert.equal(hits.has("9999"), false);
      assert.deepEqual(hits.get("10000"), { value: 10_000, hasValue: true });
      assert.deepEqual(hits.get("10001"), { value: new Date(5), hasValue: true });
      assert.deepEqual(hits.get("29999"), { value: 29_999, hasValue: true });
      // The engine's look-up may hold more of the namespace, never another namespace's.
      const raw = store.lookupNow("ns", keys);
      for (const key of keys) assert.deepEqual(raw.get(key), hits.get(key));
      const extra = raw.get("5"); // not asked for; if there, it is this namespace's
      if (extra !== undefined) assert.deepEqual(extra, { value: 5, hasValue: true });
    });

    it("reads every kind of row when a large look-up reads the whole namespace", async () => {
      await withFile(async (path) => {
        const keys = Array.from({ length: 25_000 }, (_, i) => String(i));
        {
          await using checkpoint = new Checkpoint(path);
          const store = checkpointStore(checkpoint);
          for (const key of keys.slice(4)) store.recordLater("ns", key, Number(key), null);
          store.recordLater("ns", "0", new Date(0), null);
        }
        const database = new DatabaseSync(path);
        const insert = database.prepare(
          "INSERT INTO completions VALUES (?, ?, ?, 'json', NULL, 0)",
        );
        insert.run("ns", "1", "[NaN,Infinity]"); // as Python writes them
        insert.run("ns", "2", "not json");
        database.prepare("INSERT INTO completions VALUES ('ns', '3', NULL, 'none', NULL, 0)").run();
        database.close();

        await using checkpoint = new Checkpoint(path);
        let hits: Map<string, { value: unknown; hasValue: boolean }> | undefined;
        const warned = await collectWarnings(async () => {
          hits = await checkpoint.lookup("ns", keys);
        });
        assert.equal(hits!.size, 24_999);
        assert.deepEqual(hits!.get("0"), { value: new Date(0), hasValue: true });
        assert.deepEqual(hits!.get("1"), { value: [NaN, Infinity], hasValue: true });
        assert.equal(hits!.has("2"), false);
        assert.deepEqual(hits!.get("3"), { value: undefined, hasValue: false });
        assert.deepEqual(hits!.get("24999"), { value: 24_999, hasValue: true });
        assert.equal(warned.length, 1);
        assert.match(warned[0], /could not decode the stored value for ns\/2/);

        const decoded: unknown[] = [];
        await using custom = new Checkpoint(path, {
          decode: (stored) => {
            decoded.push(stored);
            return `<${stored}>`;
          },
        });
        const customHits = await custom.lookup("ns", keys);
        assert.equal(customHits.size, 25_000);
        assert.equal(decoded.length, 24_999, "every stored value but the 'none' row");
        assert.deepEqual(customHits.get("2"), { value: "<not json>", hasValue: true });
        assert.deepEqual(customHits.get("7"), { value: "<7>", hasValue: true });
      });
    });

    it("keeps one row per key, with the last value", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("ns", "k", 1);
      await checkpoint.record("ns", "k", 2);
      assert.equal(await checkpoint.count(), 1);
      assert.deepEqual((await checkpoint.lookup("ns", ["k"])).get("k"), {
        value: 2,
        hasValue: true,
      });
    });

    it("records undefined when no value is given", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("ns", "k");
      assert.deepEqual((await checkpoint.lookup("ns", ["k"])).get("k"), {
        value: undefined,
        hasValue: true,
      });
    });

    it("refuses a value it cannot encode: false, not recorded, a warning", async () => {
      await using checkpoint = new Checkpoint();
      let recorded: boolean | undefined;
      const warned = await collectWarnings(async () => {
        recorded = await checkpoint.record("ns", "k", { run: () => 1 });
      });
      assert.equal(recorded, false);
      assert.equal(await checkpoint.isDone("ns", "k"), false);
      assert.equal(warned.length, 1);
      assert.match(warned[0], /osiiso: checkpoint: the value for ns\/k is not encodable/);
    });

    it("round-trips what the library's codec carries", async () => {
      await using checkpoint = new Checkpoint();
      const error = new RangeError("too far", { cause: "why" });
      const value = {
        when: new Date(1_000),
        map: new Map<unknown, unknown>([[1, "one"], ["nested", new Set([1n])]]),
        bytes: new Uint8Array([1, 2, 3]),
        missing: undefined,
        numbers: [NaN, -0, Infinity],
        big: 2n ** 70n,
        error,
      };
      await checkpoint.record("ns", "k", value);
      const restored = (await checkpoint.lookup("ns", ["k"])).get("k")?.value as typeof value;
      assert.deepEqual(restored.when, value.when);
      assert.deepEqual(restored.map, value.map);
      assert.deepEqual(restored.bytes, value.bytes);
      assert.ok("missing" in restored && restored.missing === undefined);
      assert.ok(Number.isNaN(restored.numbers[0]) && Object.is(restored.numbers[1], -0));
      assert.equal(restored.numbers[2], Infinity);
      assert.equal(restored.big, value.big);
      assert.ok(restored.error instanceof RangeError);
      assert.equal(restored.error.message, "too far");
      assert.equal(restored.error.cause, "why");
    });

    it("validates every argument", async () => {
      await using checkpoint = new Checkpoint();
      const cases: [() => Promise<unknown>, string][] = [
        [() => checkpoint.isDone(1 as never, "k"), "check checkpoint key as 'namespace'"],
        [() => checkpoint.isDone("ns", null as never), "check checkpoint key as 'key'"],
        [() => checkpoint.lookup(1 as never, []), "look up checkpoint keys as 'namespace'"],
        [() => checkpoint.record(1 as never, "k"), "record checkpoint entry as 'namespace'"],
        [() => checkpoint.record("ns", 2 as never), "record checkpoint entry as 'key'"],
        [() => checkpoint.count(3 as never), "count checkpoint entries as 'namespace'"],
        [() => checkpoint.clear(4 as never), "clear checkpoint as 'namespace'"],
      ];
      for (const [fn, start] of cases) {
        await assert.rejects(fn, (error: unknown) => {
          assert.equal((error as Error).constructor, TypeError);
          assert.match((error as Error).message, new RegExp(`^Cannot ${start} must be a string`));
          return true;
        });
      }
      await assert.rejects(
        checkpoint.record("ns", "k", 1, { name: 5 as never }),
        new TypeError(
          "Cannot record checkpoint entry as 'name' must be a string: current value is 5",
        ),
      );
      await assert.rejects(
        checkpoint.record("ns", "k", 1, { nme: "x" } as never),
        new TypeError("Unknown record option(s): nme"),
      );
      await assert.rejects(
        checkpoint.record("ns", "k", 1, "x" as never),
        new TypeError(
          "Cannot record checkpoint entry as 'options' must be an object: current value is 'x'",
        ),
      );
      for (const [keys, shown] of [[5, "5"], ["ab", "'ab'"], [["a", 1], "1"]] as const) {
        await assert.rejects(
          checkpoint.lookup("ns", keys as never),
          new TypeError(
            "Cannot look up checkpoint keys as 'keys' must be an iterable of strings: " +
              `current value is ${shown}`,
          ),
        );
      }
      assert.equal(await checkpoint.count(), 0, "nothing recorded by a rejected call");
    });
  });

  describe("namespaces, count and clear", () => {
    it("keeps namespaces apart, lists them sorted, counts and clears them", async () => {
      await using checkpoint = new Checkpoint();
      await checkpoint.record("thumbs", "a");
      await checkpoint.record("emails", "a");
      await checkpoint.record("emails", "b");
      assert.deepEqual(await checkpoint.namespaces(), ["emails", "thumbs"]);
      assert.equal(await checkpoint.count(), 3);
      assert.equal(await checkpoint.count("emails"), 2);
      assert.equal(await checkpoint.count("none"), 0);
      assert.deepEqual((await checkpoint.lookup("thumbs", ["a", "b"])).size, 1);
      assert.equal(await checkpoint.clear("emails"), 2);
      assert.equal(await checkpoint.clear("emails"), 0);
      assert.deepEqual(await checkpoint.namespaces(), ["thumbs"]);
      assert.equal(await checkpoint.clear(), 1);
      assert.equal(await checkpoint.count(), 0);
      assert.deepEqual(await checkpoint.namespaces(), []);
    });
  });

  describe("storeValues: false", () => {
    it("records only the key, whatever the value", async () => {
      await using checkpoint = new Checkpoint(":memory:", { storeValues: false });
      assert.equal(checkpoint.storeValues, false);
      assert.equal(await checkpoint.record("ns", "k", () => "not encodable"), true);
      assert.deepEqual(
        await checkpoint.lookup("ns", ["k"]),
        new Map([["k", { value: undefined, hasValue: false }]]),
      );
    });
  });

  describe("custom encode and decode", () => {
    const encode = (value: unknown) => `<${value}>`;
    const decode = (stored: string | Uint8Array) => String(stored).slice(1, -1);

    it("stores and restores values through them", async () => {
      await withFile(async (path) => {
        {
          await using checkpoint = new Checkpoint(path, { encode, decode });
          await checkpoint.record("ns", "k", "hi");
          assert.deepEqual((await checkpoint.lookup("ns", ["k"])).get("k"), {
            value: "hi",
            hasValue: true,
          });
        }
        const [row] = rawRows(path);
        assert.equal(row.value, "<hi>");
        assert.equal(row.encoding, "custom");
      });
    });

    it("passes stored bytes to decode as a Uint8Array", async () => {
      await using checkpoint = new Checkpoint(":memory:", {
        encode: (value) => new Uint8Array([value as number]),
        decode: (stored) => (stored as Uint8Array)[0] * 10,
      });
      await checkpoint.record("ns", "k", 4);
      assert.equal((await checkpoint.lookup("ns", ["k"])).get("k")?.value, 40);
    });

    it("treats a throwing encode, or one returning neither text nor bytes, as not encodable", async () => {
      const throwing = new Checkpoint(":memory:", {
        encode: () => {
          throw new Error("nope");
        },
      });
      const wrong = new Checkpoint(":memory:", { encode: () => 5 as never });
      const warned = await collectWarnings(async () => {
        assert.equal(await throwing.record("ns", "k", 1), false);
        assert.equal(await wrong.record("ns", "k", 1), false);
      });
      assert.equal(warned.length, 2);
      assert.match(warned[0], /not encodable \(nope\)/);
      assert.match(warned[1], /not encodable \(encode returned number/);
      await throwing.close();
      await wrong.close();
    });

    it("leaves a value the reader cannot decode out of lookup, so the item runs again", async () => {
      await withFile(async (path) => {
        {
          await using writer = new Checkpoint(path, { encode });
          await writer.record("ns", "k", "hi");
          await writer.record("ns", "plain", "ok");
        }
        await using reader = new Checkpoint(path); // default decoding
        let hits: Map<string, unknown> | undefined;
        const warned = await collectWarnings(async () => {
          hits = await reader.lookup("ns", ["k", "plain"]);
        });
        assert.deepEqual([...hits!.keys()], []);
        assert.equal(warned.length, 2);
        assert.match(warned[0], /could not decode the stored value for ns\/(k|plain)/);
        assert.equal(await reader.isDone("ns", "k"), true, "the row is still there");
      });
    });
  });

  describe("the file", () => {
    it("keeps its records across reopening", async () => {
      await withFile(async (path) => {
        {
          await using checkpoint = new Checkpoint(path);
          await checkpoint.record("ns", "k", [1, 2]);
        }
        await using again = new Checkpoint(path);
        assert.deepEqual((await again.lookup("ns", ["k"])).get("k")?.value, [1, 2]);
      });
    });

    it("has exactly the Python osiiso's table, in WAL mode", async () => {
      await withFile(async (path) => {
        const before = Date.now() / 1000;
        {
          await using checkpoint = new Checkpoint(path);
          await checkpoint.record("ns", "plain", { a: [1, "x"] }, { name: "double" });
          await checkpoint.record("ns", "tagged", new Date(0));
          await checkpoint.record("ns", "nothing", undefined);
        }
        {
          await using checkpoint = new Checkpoint(path, { storeValues: false });
          await checkpoint.record("ns", "bare", 1);
        }
        const database = new DatabaseSync(path);
        try {
          const master = database.prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
          ).all() as unknown as { type: string; name: string; sql: string | null }[];
          // One table and nothing else: WITHOUT ROWID makes the primary key the table itself.
          assert.deepEqual(master.map((entry) => [entry.type, entry.name]), [[
            "table",
            "completions",
          ]]);
          const table = master[0];
          // SQLite keeps the text of CREATE TABLE without "IF NOT EXISTS" and the final ";".
          assert.equal(
            table.sql,
            PYTHON_SCHEMA.replace("IF NOT EXISTS ", "").replace(/;$/, ""),
          );
          const columns = database.prepare("PRAGMA table_info(completions)").all()
            .map((column) => {
              const { name, type, notnull, pk } = column as Record<string, unknown>;
              return [name, type, notnull, pk];
            });
          assert.deepEqual(columns, [
            ["namespace", "TEXT", 1, 1],
            ["key", "TEXT", 1, 2],
            ["value", "BLOB", 0, 0],
            ["encoding", "TEXT", 1, 0],
            ["name", "TEXT", 0, 0],
            ["recorded_at", "REAL", 1, 0],
          ]);
          const mode = database.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
          assert.equal(mode.journal_mode, "wal");
        } finally {
          database.close();
        }
        const rows = rawRows(path);
        assert.deepEqual(
          rows.map((row) => [row.key, row.value, row.encoding, row.name, row.value_type]),
          [
            ["bare", null, "none", null, "null"],
            ["nothing", '{"\\u0000":"U"}', "osiiso-wire", null, "text"],
            ["plain", '{"a":[1,"x"]}', "json", "double", "text"],
            ["tagged", '{"\\u0000":"D","v":0}', "osiiso-wire", null, "text"],
          ],
        );
        for (const row of rows) {
          assert.ok(row.recorded_at >= before - 1 && row.recorded_at <= Date.now() / 1000 + 1);
        }
      });
    });

    it("opens a file written by the Python osiiso and reads its rows", async () => {
      await withFile(async (path) => {
        const database = new DatabaseSync(path);
        database.exec("PRAGMA journal_mode=WAL");
        database.exec(PYTHON_SCHEMA);
        // Rows as Python writes them: keys from json.dumps(item, sort_keys=True,
        // separators=(",", ":")), values from json.dumps(value, separators=(",", ":"))
        // (text; NaN as a bare word), "none" without a value, epoch seconds.
        const insert = database.prepare("INSERT INTO completions VALUES (?, ?, ?, ?, ?, ?)");
        const at = 1_765_000_000.25;
        insert.run("double", "2", "4", "json", "double", at);
        insert.run(
          "double",
          '{"a":1,"\\u00e9":[1,2]}',
          '{"x":1.0,"y":[NaN,-Infinity]}',
          "json",
          "double",
          at,
        );
        insert.run("double", '"caf\\u00e9"', '"ok"', "json", null, at);
        insert.run("upload", '"a.txt"', null, "none", "upload", at);
        // A custom Python encoder that returned bytes (say, pickle): no decoder here.
        insert.run("double", "99", new Uint8Array([0x80, 0x04, 0x95]), "json", "double", at);
        database.close();

        await using checkpoint = new Checkpoint(path);
        assert.deepEqual(await checkpoint.namespaces(), ["double", "upload"]);
        assert.equal(await checkpoint.count(), 5);
        const keys = [2, { é: [1, 2], a: 1 }, "café", 99].map((item) => checkpointKeyFor(item));
        let hits: Map<string, { value: unknown; hasValue: boolean }> | undefined;
        const warned = await collectWarnings(async () => {
          hits = await checkpoint.lookup("double", keys);
        });
        assert.deepEqual(hits!.get(keys[0]), { value: 4, hasValue: true });
        assert.deepEqual(hits!.get(keys[1]), {
          value: { x: 1, y: [NaN, -Infinity] },
          hasValue: true,
        });
        assert.deepEqual(hits!.get(keys[2]), { value: "ok", hasValue: true });
        assert.equal(hits!.has(keys[3]), false, "an undecodable value runs again");
        assert.equal(warned.length, 1);
        assert.match(warned[0], /could not decode the stored value for double\/99/);
        assert.deepEqual(
          await checkpoint.lookup("upload", [checkpointKeyFor("a.txt")]),
          new Map([['"a.txt"', { value: undefined, hasValue: false }]]),
        );
        // It writes into the same table, which stays as Python made it.
        assert.equal(await checkpoint.record("double", "3", 6, { name: "double" }), true);
        assert.equal(await checkpoint.count("double"), 5);
      });
    });

    it("flushes a batch as one transaction: all rows or none", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        const other = new DatabaseSync(path);
        try {
          other.exec(
            "CREATE TRIGGER refuse BEFORE INSERT ON completions WHEN NEW.key = 'bad' " +
              "BEGIN SELECT RAISE(ABORT, 'refused'); END",
          );
          for (const key of ["a", "bad", "c"]) store.recordLater("ns", key, 1, null);
          assert.throws(() => store.flush(), /refused/);
          const count = () =>
            (other.prepare("SELECT COUNT(*) AS n FROM completions").get() as { n: number }).n;
          assert.equal(count(), 0, "the row before the failing one was rolled back too");
          assert.equal(store.pending, 3, "the batch is kept for the next flush");
          other.exec("DROP TRIGGER refuse");
          store.flush();
          assert.equal(store.pending, 0);
          assert.equal(count(), 3);
        } finally {
          other.close();
        }
      });
    });

    it("writes a flushed batch as one commit, where record() commits each row", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        const other = new DatabaseSync(path);
        // Frames in the write-ahead log, then the log emptied: each commit adds
        // at least one frame, so 300 commits give at least 300.
        const walFrames = () => {
          const row = other.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { log: number };
          other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
          return row.log;
        };
        try {
          walFrames();
          for (let i = 0; i < 300; i++) store.recordLater("batched", String(i), i, null);
          store.flush();
          const batched = walFrames();
          for (let i = 0; i < 300; i++) await checkpoint.record("single", String(i), i);
          const single = walFrames();
          assert.ok(batched >= 1 && batched < 20, `one commit wrote ${batched} frames`);
          assert.ok(single >= 300, `300 commits wrote ${single} frames`);
        } finally {
          other.close();
        }
      });
    });
  });

  describe("writing a flush", () => {
    it("writes batches whose rows share namespace, name and encoding and batches whose rows do not alike", async () => {
      await withFile(async (path) => {
        /** What each row's columns must be: the value's JSON text, or only its encoding. */
        const expected = new Map<
          string,
          { json?: string; encoding: string; name: string | null }
        >();
        const values = new Map<string, unknown>();
        {
          await using checkpoint = new Checkpoint(path);
          const store = checkpointStore(checkpoint);
          const record = (namespace: string, key: string, value: unknown, name: string | null) => {
            store.recordLater(namespace, key, value, name);
            const json = primitiveJsonOf(value);
            expected.set(`${namespace}/${key}`, {
              json,
              encoding: json === undefined ? "osiiso-wire" : "json",
              name,
            });
            values.set(`${namespace}/${key}`, value);
          };
          // 130 rows of one namespace, name and encoding: two batches bind those
          // once; integers (0, negative, the largest safe one, one past it),
          // floats, strings, booleans and null among the values.
          const plain = [0, -7, 42, 2 ** 53 - 1, 2 ** 53, 1.5, -0.25, 1e21, "text", "", true, null];
          for (let i = 0; i < 130; i++) {
            record("shared", `k${String(i).padStart(3, "0")}`, plain[i % plain.length], "task");
          }
          // 60 rows where names and encodings change from row to row: every
          // batch binds every column.
          for (let i = 0; i < 60; i++) {
            const odd = i % 2 === 1;
            record("mixed", `k${String(i).padStart(3, "0")}`, odd ? -0 : i, odd ? null : "task");
          }
          // Rows of a namespace that sorts between the two, with a wire-encoded value each.
          for (let i = 0; i < 55; i++) record("other", `k${i}`, new Date(i), "task");
          assert.equal(store.pending, 245);
          store.flush();
          for (const [id, value] of values) {
            const [namespace, key] = id.split("/");
            assert.deepEqual((await checkpoint.lookup(namespace, [key])).get(key), {
              value,
              hasValue: true,
            }, id);
          }
        }
        const rows = rawRows(path);
        assert.equal(rows.length, expected.size);
        assert.equal(
          new Set(rows.map((row) => row.recorded_at)).size,
          1,
          "one recorded_at a flush",
        );
        for (const row of rows) {
          const want = expected.get(`${row.namespace}/${row.key}`);
          assert.ok(want !== undefined, `${row.namespace}/${row.key} was recorded`);
          assert.equal(row.encoding, want.encoding, row.key);
          assert.equal(row.name, want.name, row.key);
          assert.equal(row.value_type, "text", row.key);
          if (want.json !== undefined) assert.equal(row.value, want.json, row.key);
        }
      });
    });

    it("writes whole-number keys as their text in shared, mixed and custom batches", async () => {
      await withFile(async (path) => {
        const written = new Map<string, string>(); // namespace/key text → value text
        {
          await using checkpoint = new Checkpoint(path);
          const store = checkpointStore(checkpoint);
          // Shared batches of numeric keys and integer values, in reverse order.
          for (let key = 119; key >= 0; key--) {
            store.recordLater("numbers", key, key * 2, "task");
            written.set(`numbers/${key}`, String(key * 2));
          }
          // Mixed batches: numeric and text keys, names changing from row to row.
          for (let i = 0; i < 60; i++) {
            const key = i % 3 === 0 ? `k${i}` : 99_999_999_999_999 - i;
            store.recordLater("mixed", key, "v", i % 2 === 0 ? "task" : null);
            written.set(`mixed/${key}`, '"v"');
          }
          store.flush();
          assert.deepEqual(
            await checkpoint.lookup("numbers", ["7", "119"]),
            new Map([
              ["7", { value: 14, hasValue: true }],
              ["119", { value: 238, hasValue: true }],
            ]),
          );
        }
        const rows = rawRows(path);
        assert.equal(rows.length, written.size);
        for (const row of rows) {
          assert.equal(typeof row.key, "string");
          assert.equal(row.value, written.get(`${row.namespace}/${row.key}`), row.key);
        }
        const database = new DatabaseSync(path);
        try {
          const types = database.prepare("SELECT DISTINCT typeof(key) AS type FROM completions")
            .all() as { type: string }[];
          assert.deepEqual(types.map(({ type }) => type), ["text"]);
        } finally {
          database.close();
        }
      });
    });

    it("writes whole-number keys as text next to custom bytes", async () => {
      await withFile(async (path) => {
        {
          await using checkpoint = new Checkpoint(path, {
            encode: (value) => new Uint8Array([value as number]),
            decode: (stored) => [...(stored as Uint8Array)],
          });
          const store = checkpointStore(checkpoint);
          for (let key = 0; key < 60; key++) store.recordLater("ns", key, key, "task");
          store.flush();
        }
        const rows = rawRows(path);
        assert.equal(rows.length, 60);
        for (const row of rows) {
          assert.equal(typeof row.key, "string");
          assert.equal(row.value_type, "blob");
          assert.deepEqual([...(row.value as Uint8Array)], [Number(row.key)]);
        }
      });
    });

    it("keys a map's items as they were when submitted, whatever the caller's list becomes", async () => {
      await using checkpoint = new Checkpoint();
      const items = [0, 1, 2];
      const q = new AsyncQueue();
      q.map((n: number) => n, items, { checkpoint, namespace: "ns" });
      items[0] = 7;
      items.push(8);
      await q.run();
      assert.deepEqual(
        [...(await checkpoint.lookup("ns", ["0", "1", "2", "7", "8"])).keys()].sort(),
        [
          "0",
          "1",
          "2",
        ],
      );
    });

    it("keys a map's items by their canonical JSON, numbers or not, and restores each", async () => {
      await withFile(async (path) => {
        const items = [0, -0, 5, 10, 99_999_999_999_999, 1e14, -3, 1.5, "5", [5]];
        const keysWanted = items.map((item) => checkpointKeyFor(item));
        const echo = (item: unknown) => item;
        {
          await using checkpoint = new Checkpoint(path);
          const q = new AsyncQueue();
          q.map(echo, items, { checkpoint });
          const summary = await q.run();
          assert.equal(summary.succeeded, items.length);
          const hits = await checkpoint.lookup("echo", keysWanted);
          assert.deepEqual([...hits.keys()].sort(), [...new Set(keysWanted)].sort());
        }
        assert.deepEqual(
          rawRows(path).map((row) => row.key).sort(),
          [...new Set(keysWanted)].sort(),
        );
        {
          await using checkpoint = new Checkpoint(path);
          const q = new AsyncQueue();
          let ran = 0;
          const handles = q.map(
            (item: unknown) => {
              ran++;
              return item;
            },
            items,
            { checkpoint, namespace: "echo" },
          );
          await q.run();
          assert.equal(ran, 0, "every item restored");
          const values = await Promise.all(handles.map((handle) => handle));
          assert.deepEqual(values.slice(2), [5, 10, 99_999_999_999_999, 1e14, -3, 1.5, "5", [5]]);
          // 0 and -0 share the key "0": both come back as the one value recorded for it.
          assert.ok(Object.is(values[0], values[1]) && values[0] === 0);
        }
      });
    });

    it("binds custom bytes of a shared batch as bytes", async () => {
      await withFile(async (path) => {
        {
          await using checkpoint = new Checkpoint(path, {
            encode: (value) => new Uint8Array([value as number, 255]),
            decode: (stored) => [...(stored as Uint8Array)],
          });
          const store = checkpointStore(checkpoint);
          for (let i = 0; i < 60; i++) store.recordLater("ns", `k${i}`, i, "task");
          store.flush();
          assert.deepEqual((await checkpoint.lookup("ns", ["k7"])).get("k7"), {
            value: [7, 255],
            hasValue: true,
          });
        }
        const rows = rawRows(path);
        assert.equal(rows.length, 60);
        for (const row of rows) {
          assert.equal(row.value_type, "blob");
          assert.equal(row.encoding, "custom");
          assert.deepEqual([...(row.value as Uint8Array)], [Number(row.key.slice(1)), 255]);
        }
      });
    });
  });

  describe("the write-ahead log", () => {
    // A flush commits to the log; the file itself grows only when the log is folded into it.
    const fileSize = (path: string) => statSync(path).size;
    const large = "x".repeat(64 * 1024);
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

    it("is folded into the file from a timer after a large flush, not by the flush", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        const before = fileSize(path);
        for (let i = 0; i < 100; i++) store.recordLater("ns", String(i), large, null);
        store.flush();
        assert.equal(fileSize(path), before, "the commit left its rows in the log");
        await pause();
        assert.ok(fileSize(path) > 100 * large.length, `${fileSize(path)} bytes after the fold`);
      });
    });

    it("is not folded after a small flush", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        const before = fileSize(path);
        for (let i = 0; i < 500; i++) store.recordLater("ns", String(i), "y".repeat(100), null);
        store.flush();
        await pause();
        assert.equal(fileSize(path), before);
      });
    });

    it("is folded after a queue's run that recorded much, once timers run", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const queue = new AsyncQueue({ workers: 4 });
        const before = fileSize(path);
        queue.map((i: number) => `${i}${large}`, Array.from({ length: 100 }, (_, i) => i), {
          checkpoint,
        });
        await queue.run();
        await queue.shutdown();
        assert.equal(await checkpoint.count(), 100);
        await pause();
        assert.ok(fileSize(path) > 100 * large.length, `${fileSize(path)} bytes after the run`);
        assert.ok(fileSize(path) > before);
      });
    });

    it("is folded by close() while another connection keeps the file open", async () => {
      await withFile(async (path) => {
        const checkpoint = new Checkpoint(path);
        const other = new DatabaseSync(path);
        try {
          other.prepare("SELECT COUNT(*) FROM completions").get();
          const before = fileSize(path);
          const store = checkpointStore(checkpoint);
          for (let i = 0; i < 500; i++) store.recordLater("ns", String(i), "y".repeat(100), null);
          store.flush();
          await pause();
          assert.equal(fileSize(path), before, "a small flush is not folded");
          await checkpoint.close();
          // SQLite folds on closing only the last connection to a file.
          assert.ok(fileSize(path) > before + 500 * 100, `${fileSize(path)} bytes after close`);
          assert.equal(
            (other.prepare("SELECT COUNT(*) AS n FROM completions").get() as { n: number }).n,
            500,
          );
        } finally {
          other.close();
          await checkpoint.close();
        }
      });
    });

    it("is folded after a clear() that emptied many rows", async () => {
      // The log's frames not yet copied into the file, from the shared-memory
      // index beside it (SQLite's documented layout: the last frame at byte 16,
      // the last one copied at byte 96, in the machine's byte order).
      const unfoldedFrames = (path: string) => {
        const index = new Uint32Array(readFileSync(`${path}-shm`).buffer, 0, 32);
        return index[4] - index[24];
      };
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        for (let i = 0; i < 120_000; i++) store.recordLater("ns", String(i), i, null);
        store.flush();
        await pause();
        assert.equal(unfoldedFrames(path), 0, "the flush was folded");
        assert.equal(await checkpoint.clear("ns"), 120_000);
        assert.ok(unfoldedFrames(path) > 0, "the delete went to the log");
        await pause();
        assert.equal(unfoldedFrames(path), 0, "the delete was folded");
      });
    });

    it("is folded at once when flushes keep coming and no timer runs", async () => {
      await withFile(async (path) => {
        await using checkpoint = new Checkpoint(path);
        const store = checkpointStore(checkpoint);
        const before = fileSize(path);
        // 40 MiB in flushes of 1.25 MiB, without a pause between them.
        for (let i = 0; i < 640; i++) {
          store.recordLater("ns", String(i), large, null);
          if (i % 20 === 19) store.flush();
        }
        assert.ok(fileSize(path) > before + 16 * 1024 * 1024, `${fileSize(path)} bytes`);
      });
    });
  });

  describe("the engine's synchronous side", () => {
    it("lets every read see pending writes", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      assert.equal(store.recordLater("ns", "a", 1, "task"), true);
      assert.equal(store.recordLater("ns", "b", 2, null), true);
      assert.equal(store.pending, 2);
      assert.deepEqual(store.lookupNow("ns", ["a"]).get("a"), { value: 1, hasValue: true });
      assert.equal(store.pending, 0);
      store.recordLater("ns", "c", 3, null);
      assert.equal(await checkpoint.count(), 3);
      store.recordLater("ns2", "c", 3, null);
      assert.deepEqual(await checkpoint.namespaces(), ["ns", "ns2"]);
      store.recordLater("ns2", "d", 3, null);
      assert.equal(await checkpoint.isDone("ns2", "d"), true);
      store.recordLater("ns2", "e", 3, null);
      assert.equal((await checkpoint.lookup("ns2", ["e"])).size, 1);
      store.recordLater("ns2", "f", 3, null);
      assert.equal(await checkpoint.clear("ns2"), 4);
    });

    it("encodes a value when it is recorded, not when it is flushed", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      const value = { n: 1 };
      store.recordLater("ns", "k", value, null);
      value.n = 2;
      assert.deepEqual(store.lookupNow("ns", ["k"]).get("k")?.value, { n: 1 });
    });

    it("refuses a value it cannot encode, with a warning", async () => {
      await using checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      const warned = await collectWarnings(() => {
        assert.equal(store.recordLater("ns", "k", Symbol("s"), null), false);
      });
      assert.equal(store.pending, 0);
      assert.equal(warned.length, 1);
    });

    it("is written by close()", async () => {
      await withFile(async (path) => {
        const checkpoint = new Checkpoint(path);
        checkpointStore(checkpoint).recordLater("ns", "k", 1, null);
        await checkpoint.close();
        await using again = new Checkpoint(path);
        assert.equal(await again.isDone("ns", "k"), true);
      });
    });
  });

  describe("close", () => {
    it("is idempotent, and every other use afterwards rejects", async () => {
      const checkpoint = new Checkpoint();
      const store = checkpointStore(checkpoint);
      await checkpoint.close();
      await checkpoint.close();
      assert.equal(checkpoint.closed, true);
      assert.equal(store.closed, true);
      const closedError = (error: unknown) => {
        assert.ok(error instanceof InvalidStateError);
        assert.equal(error.message, CLOSED);
        return true;
      };
      await assert.rejects(checkpoint.isDone("ns", "k"), closedError);
      await assert.rejects(checkpoint.lookup("ns", ["k"]), closedError);
      await assert.rejects(checkpoint.record("ns", "k", 1), closedError);
      await assert.rejects(checkpoint.count(), closedError);
      await assert.rejects(checkpoint.namespaces(), closedError);
      await assert.rejects(checkpoint.clear(), closedError);
      // Closed comes first, even before bad arguments.
      await assert.rejects(checkpoint.count(5 as never), closedError);
      assert.throws(() => store.lookupNow("ns", ["k"]), closedError);
      assert.throws(() => store.recordLater("ns", "k", 1, null), closedError);
      assert.throws(() => store.flush(), closedError);
    });

    it("happens at the end of an await using block", async () => {
      let outer: Checkpoint | undefined;
      {
        await using checkpoint = new Checkpoint();
        outer = checkpoint;
        assert.equal(outer.closed, false);
      }
      assert.equal(outer.closed, true);
      await assert.rejects(outer.count(), InvalidStateError);
    });
  });

  describe("two checkpoints on one file in one process", () => {
    it("see each other's flushed writes", async () => {
      await withFile(async (path) => {
        await using a = new Checkpoint(path);
        await using b = new Checkpoint(path);
        await a.record("ns", "from-a", 1);
        assert.equal(await b.isDone("ns", "from-a"), true);
        const storeA = checkpointStore(a);
        const storeB = checkpointStore(b);
        for (let i = 0; i < 100; i++) {
          storeA.recordLater("ns", `a${i}`, i, null);
          storeB.recordLater("ns", `b${i}`, i, null);
          if (i % 10 === 9) {
            storeB.flush();
            storeA.flush();
          }
        }
        assert.equal(await a.count(), 201);
        assert.equal(await b.count(), 201);
        assert.deepEqual((await b.lookup("ns", ["a50"])).get("a50"), { value: 50, hasValue: true });
      });
    });
  });
});

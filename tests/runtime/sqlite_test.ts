/**
 * The SQLite connection a `Checkpoint` opens: the same behaviour from
 * `bun:sqlite` on Bun and `node:sqlite` on Deno, as the store relies on it.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { openSqlite } from "../../src/runtime/sqlite.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** A row as a plain object (`node:sqlite` makes rows without a prototype). */
const plain = (row: unknown) => ({ ...(row as object) });

describe("the SQLite connection", () => {
  it("runs statements, and reads rows as objects or as arrays", () => {
    const database = openSqlite(":memory:");
    try {
      database.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)");
      const insert = database.prepare("INSERT OR REPLACE INTO t VALUES (?1, ?2)");
      assert.equal(Number(insert.run("a", "text").changes), 1);
      insert.run("b", new Uint8Array([1, 2]));
      insert.run("c", null);
      assert.deepEqual(plain(database.prepare("SELECT k, v FROM t WHERE k = ?").get("a")), {
        k: "a",
        v: "text",
      });
      const rows = database.prepare("SELECT k, v FROM t ORDER BY k", true).all();
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[0], ["a", "text"]);
      const [, bytes] = rows[1] as [string, Uint8Array];
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual([...bytes], [1, 2]);
      assert.deepEqual(rows[2], ["c", null]);
      assert.deepEqual(database.prepare("SELECT k FROM t ORDER BY k").all().map(plain), [
        { k: "a" },
        { k: "b" },
        { k: "c" },
      ]);
    } finally {
      database.close();
    }
  });

  it("says no row with undefined", () => {
    const database = openSqlite(":memory:");
    try {
      assert.equal(database.prepare("SELECT 1 AS one WHERE 0").get(), undefined);
    } finally {
      database.close();
    }
  });

  it("reports an open transaction", () => {
    const database = openSqlite(":memory:");
    try {
      assert.equal(database.inTransaction, false);
      database.exec("BEGIN");
      assert.equal(database.inTransaction, true);
      database.exec("ROLLBACK");
      assert.equal(database.inTransaction, false);
    } finally {
      database.close();
    }
  });

  it("binds an integer as an integer exactly where it says so", () => {
    const database = openSqlite(":memory:");
    try {
      const row = database.prepare("SELECT typeof(?) AS type, ? || '' AS text").get(42, 42);
      if (database.bindsIntegers) assert.deepEqual(plain(row), { type: "integer", text: "42" });
      else assert.equal(row?.type, "real");
    } finally {
      database.close();
    }
  });

  it("names a batch size whose statement binds within SQLite's limit", () => {
    const database = openSqlite(":memory:");
    try {
      const rows = database.batchRows;
      assert.ok(Number.isInteger(rows) && rows >= 1, String(rows));
      // The widest statement a flush prepares binds six values a row.
      database.exec("CREATE TABLE t (a, b, c, d, e, f)");
      const values = Array(rows).fill("(?, ?, ?, ?, ?, ?)").join(", ");
      const parameters = Array.from({ length: 6 * rows }, (_, i) => i);
      assert.equal(
        Number(database.prepare(`INSERT INTO t VALUES ${values}`).run(...parameters).changes),
        rows,
      );
    } finally {
      database.close();
    }
  });

  it("closes the file, its prepared statements included, so that the log is folded and removed", async () => {
    await withTempDir("osiiso-sqlite-", (dir) => {
      const path = join(dir, "x.db");
      const database = openSqlite(path);
      database.exec("PRAGMA journal_mode = WAL");
      database.exec("CREATE TABLE t (k TEXT)");
      const insert = database.prepare("INSERT INTO t VALUES (?)");
      insert.run("a");
      database.prepare("SELECT k FROM t").all();
      assert.equal(existsSync(`${path}-wal`), true);
      database.close();
      assert.equal(existsSync(`${path}-wal`), false);
      const again = openSqlite(path);
      try {
        assert.deepEqual(again.prepare("SELECT k FROM t").all().map(plain), [{ k: "a" }]);
      } finally {
        again.close();
      }
    });
  });
});

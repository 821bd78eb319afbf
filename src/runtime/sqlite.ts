/**
 * The SQLite connection behind a `Checkpoint`: Bun's own `bun:sqlite` on
 * Bun, `node:sqlite` elsewhere (Deno). Both run the same SQL on the same
 * file; Bun's binding is the cheaper one there (200,000 rows written 50 a
 * statement: 118 ms of CPU against 147 through Bun's `node:sqlite`).
 * `mod.ts` hands {@linkcode openSqlite} to the checkpoint store.
 *
 * @module
 */

import type { SqliteConnection, SqliteStatement, SqliteValue } from "../core/checkpoint.ts";
import { runtimeName } from "./detect.ts";

/** A `node:sqlite` statement, as far as the adapter uses it (Node's types are not loaded). */
interface NodeStatement extends SqliteStatement {
  setReturnArrays(enabled: boolean): void;
}

/** A `node:sqlite` connection, as far as the adapter uses it. */
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
  readonly isTransaction: boolean;
}

/** A `bun:sqlite` statement, as far as the adapter uses it. */
interface BunStatement {
  run(...parameters: SqliteValue[]): { changes: number };
  get(...parameters: SqliteValue[]): Record<string, SqliteValue> | null;
  all(...parameters: SqliteValue[]): unknown[];
  values(...parameters: SqliteValue[]): unknown[];
}

/** A `bun:sqlite` connection, as far as the adapter uses it. */
interface BunDatabase {
  exec(sql: string): void;
  prepare(sql: string): BunStatement;
  close(throwOnError?: boolean): void;
  readonly inTransaction: boolean;
}

/**
 * Loads a built-in module on first use, not when the library is imported:
 * a static import of `node:sqlite` costs every Deno program about 1.4 ms at
 * start, and most programs never open a checkpoint.
 */
function builtinModule<T>(id: string): T {
  return (globalThis as unknown as {
    process: { getBuiltinModule(id: string): unknown };
  }).process.getBuiltinModule(id) as T;
}

/** Opens (creating if needed) the SQLite file at `path`, or `":memory:"`. */
export function openSqlite(path: string): SqliteConnection {
  return runtimeName === "bun" ? openBun(path) : openNode(path);
}

function openNode(path: string): SqliteConnection {
  const { DatabaseSync } = builtinModule<{ DatabaseSync: new (path: string) => NodeDatabase }>(
    "node:sqlite",
  );
  const database = new DatabaseSync(path);
  return {
    exec: (sql) => database.exec(sql),
    prepare(sql, arrays = false) {
      const statement = database.prepare(sql);
      if (arrays) statement.setReturnArrays(true);
      return statement;
    },
    get inTransaction() {
      return database.isTransaction;
    },
    bindsIntegers: false,
    // 200,000 rows: 150–155 ms at 25 a statement, 161–176 at 50, 208–219 at 100.
    batchRows: 25,
    close: () => database.close(),
  };
}

function openBun(path: string): SqliteConnection {
  const { Database } = builtinModule<{ Database: new (path: string) => BunDatabase }>(
    "bun:sqlite",
  );
  const database = new Database(path);
  return {
    exec: (sql) => database.exec(sql),
    prepare(sql, arrays = false) {
      const statement = database.prepare(sql);
      return {
        run: (...parameters) => statement.run(...parameters),
        // Bun says "no row" with null.
        get: (...parameters) => statement.get(...parameters) ?? undefined,
        all: arrays
          ? (...parameters) => statement.values(...parameters)
          : (...parameters) => statement.all(...parameters),
      };
    },
    get inTransaction() {
      return database.inTransaction;
    },
    bindsIntegers: true,
    // 200,000 rows: 92–95 ms at 50 a statement, 100–105 at 25.
    batchRows: 50,
    // `true` also finalizes the statements still open; without it the file
    // stays open (and its log unfolded) until they are collected.
    close: () => database.close(true),
  };
}

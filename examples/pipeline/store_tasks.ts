/**
 * The persist stage's tasks, run in ThreadQueue workers: each worker opens
 * the SQLite file once (in WAL mode, with a busy timeout, so four writers
 * share it) and writes one row per task.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

const open = new Map<string, DatabaseSync>();

function database(path: string): DatabaseSync {
  let db = open.get(path);
  if (db === undefined) {
    db = new DatabaseSync(path);
    // WAL is set once by createSchema (it stays with the file); switching
    // it here, from four workers at once, would fail as "database is locked".
    db.exec("PRAGMA busy_timeout = 5000");
    open.set(path, db);
  }
  return db;
}

/** Creates the tables (run once, before the workers write). */
export function createSchema(path: string): void {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, title TEXT, author TEXT,
    score INTEGER, time INTEGER, descendants INTEGER)`);
  db.exec("CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, karma INTEGER, created INTEGER)");
  db.exec("CREATE TABLE IF NOT EXISTS metrics (name TEXT PRIMARY KEY, value REAL)");
  db.close();
}

/** Saves one item; returns its id. */
export function saveItem(path: string, item: Record<string, unknown>): number {
  database(path).prepare("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)").run(
    item.id as number,
    item.title as string,
    item.by as string,
    item.score as number,
    item.time as number,
    (item.descendants ?? 0) as number,
  );
  return item.id as number;
}

/** Saves one user; returns its id. */
export function saveUser(path: string, user: Record<string, unknown>): string {
  database(path).prepare("INSERT OR REPLACE INTO users VALUES (?, ?, ?)").run(
    user.id as string,
    user.karma as number,
    user.created as number,
  );
  return user.id as string;
}

/** Saves one metric. */
export function saveMetric(path: string, name: string, value: number): string {
  database(path).prepare("INSERT OR REPLACE INTO metrics VALUES (?, ?)").run(name, value);
  return name;
}

/** Row counts of the three tables. */
export function counts(path: string): Record<string, number> {
  const db = new DatabaseSync(path);
  // Workers let go at the end of a run close their connections now: the last
  // one to close checkpoints the WAL, and a reader without a busy timeout fails.
  db.exec("PRAGMA busy_timeout = 5000");
  try {
    // A worker that is closing its connection may still hold the file for a moment.
    db.exec("PRAGMA busy_timeout = 5000");
    const count = (table: string) =>
      (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { items: count("items"), users: count("users"), metrics: count("metrics") };
  } finally {
    db.close();
  }
}

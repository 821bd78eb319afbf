/**
 * `Checkpoint`: a SQLite record of which items of a fan-out have already
 * succeeded, so that a run started again skips them.
 *
 * The file has one table, the same as the Python osiiso's, so either program
 * opens what the other wrote:
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS completions (
 *     namespace   TEXT NOT NULL,
 *     key         TEXT NOT NULL,
 *     value       BLOB,
 *     encoding    TEXT NOT NULL,
 *     name        TEXT,
 *     recorded_at REAL NOT NULL,
 *     PRIMARY KEY (namespace, key)
 * ) WITHOUT ROWID;
 * ```
 *
 * `encoding` says how `value` was written: `"none"` (no value kept), `"json"`
 * (plain JSON text, what Python writes and what this class writes for values
 * JSON carries as they are), `"osiiso-wire"` (the tagged JSON of the
 * library's value codec, for `undefined`, `Date`, `Map`, `BigInt` and the
 * rest), or `"custom"` (written by an `encode` option).
 *
 * @module
 */

import { messageOf } from "./_util.ts";
import { InvalidStateError } from "./errors.ts";
import {
  checkBoolean,
  checkFunction,
  checkKnownNames,
  checkOptionsObject,
  checkString,
  invalidMessage,
} from "./validate.ts";
import { fromWire, toWire } from "./codec.ts";
import { keyText, type StoreKey } from "./checkpoint_key.ts";
import { keyOrder } from "./key_order.ts";
import { releaseResource, trackResource } from "./resources.ts";

/** One recorded completion found by {@linkcode Checkpoint.lookup}. */
export interface CheckpointHit {
  /** The recorded value; `undefined` when `hasValue` is `false`. */
  readonly value: unknown;
  /** `false` when the completion was recorded without its value (`storeValues: false`). */
  readonly hasValue: boolean;
}

/** Options of {@linkcode Checkpoint}. */
export interface CheckpointOptions {
  /**
   * Record each task's value, to give it back on resume (`true`), or only
   * the fact that the item is done (`false`, for tasks run for their side
   * effects; restored handles then have no value).
   *
   * @default {true}
   */
  storeValues?: boolean;
  /**
   * Turns a value into what is stored, instead of the built-in encoding
   * (which keeps everything a task result may carry: JSON plus `undefined`,
   * `NaN`, `Date`, `Map`, `Set`, `BigInt`, typed arrays, `Error`s). A throw
   * means "not encodable": the item is not recorded and runs again.
   */
  encode?: (value: unknown) => string | Uint8Array;
  /**
   * Turns a stored value back into a value; pair it with `encode`. It gets
   * every stored value (text as a string, bytes as a `Uint8Array`). A throw
   * leaves that item out of `lookup()`, so it runs again.
   */
  decode?: (stored: string | Uint8Array) => unknown;
}

/**
 * The synchronous side of a {@linkcode Checkpoint} that the queue's engine
 * uses: `map` and `group` must look keys up and record successes without
 * awaiting. Not part of the public API; reach it with {@linkcode checkpointStore}.
 */
export interface CheckpointStore {
  /**
   * The recorded entries among `keys`, in chunked queries, after writing
   * what is pending. For a large request it may also hold other entries of
   * the namespace (reading them all is then cheaper): use `get(key)`.
   */
  lookupNow(namespace: string, keys: readonly StoreKey[]): Map<string, CheckpointHit>;
  /**
   * Encodes `value` now and queues the row for the next {@linkcode flush};
   * `false` (with a warning) if the value cannot be encoded.
   */
  recordLater(namespace: string, key: StoreKey, value: unknown, name: string | null): boolean;
  /** Writes every queued row in one transaction. A failed write keeps the rows queued. */
  flush(): void;
  /** How many rows wait for {@linkcode flush}. */
  readonly pending: number;
  /** Whether the checkpoint is closed (every method then throws `InvalidStateError`). */
  readonly closed: boolean;
}

/** The Python osiiso's text for any use after `close()`. */
const CLOSED_MESSAGE = "checkpoint is closed — close it after the queue has finished, not before";

/** How long a write waits for another connection's lock (another process on the same file). */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Keys per `IN (…)` query, as the Python osiiso chunks them: well under
 * SQLite's limit of 32,766 parameters, and one prepared statement serves
 * every chunk (a short last chunk is padded with NULLs).
 */
const LOOKUP_CHUNK = 500;

/**
 * A look-up of more keys than this reads the whole namespace instead, when
 * the namespace is not much larger than the request. Measured for 1M keys
 * (Deno and Bun, a busy 2-core machine): 2,000 `IN` queries 1.8–2.7 s,
 * the namespace row by row 1.2–3.3 s, its plain JSON values as one text
 * built by SQLite (`#scanNamespace`) 1.3–1.9 s.
 */
const SCAN_THRESHOLD = 20_000;

const INSERT_ROWS =
  "INSERT OR REPLACE INTO completions (namespace, key, value, encoding, name, recorded_at) VALUES ";

/** Every column of `rows` rows. */
function insertMixed(rows: number): string {
  return INSERT_ROWS + Array(rows).fill("(?, ?, ?, ?, ?, ?)").join(", ");
}

/** Parameters `insertShared` binds once: namespace, encoding, name, recorded_at. */
const SHARED_COLUMNS = 4;

/**
 * `rows` rows that share namespace, encoding and name (and recorded_at),
 * bound once as `?1` to `?4`; then each row's key and value, the value
 * written as `value` makes SQL of it. Binding 104 values instead of 300 (50 rows)
 * cut writing 200,000 rows on Deno from 210 to 182 ms of CPU. A key bound
 * as an integer is stored as its decimal text by the column's TEXT
 * affinity, as SQLite converts any number put in a TEXT column.
 */
function insertShared(rows: number, value: (parameter: string) => string): string {
  return INSERT_ROWS + Array.from({ length: rows }, (_, row) => {
    const at = SHARED_COLUMNS + 2 * row;
    return `(?1, ?${at + 1}, ${value(`?${at + 2}`)}, ?2, ?3, ?4)`;
  }).join(", ");
}

/** A shared row's value bound as it is. */
const asBound = (parameter: string) => parameter;

/**
 * A shared row's value that may be an integer bound as such, written as
 * its decimal text, its JSON (`NULL || ''` stays NULL, text stays as it
 * is; bytes would become text, so custom encodings do not come here). The
 * value column is a BLOB, which converts nothing. Where the binding binds
 * integers (Bun), this saves making a string per value: `String(n)` cost
 * Bun 60–140 ns.
 */
const asIntegerText = (parameter: string) => `${parameter} || ''`;

/** Fields per entry of a store's pending runs: namespace, name, first row. */
const RUN_FIELDS = 3;

/**
 * Fields per pending row (key, value, encoding), in one flat list: an
 * object or a list per row cost more than writing its row, and a list per
 * column was slower on Deno (recording 200,000 rows: 20–30 ms against 10–20).
 */
const PENDING_FIELDS = 3;

/**
 * SQLite folds its write-ahead log into the file, by default, once it holds
 * 1,000 pages of 4 KiB; the store waits for about as much (estimated from
 * the rows written: their keys and values, `ROW_BYTES` a row, a page a commit).
 */
const FOLD_BYTES = 4 * 1024 * 1024;
/** A flush that leaves more than this unfolded folds at once, to bound the log. */
const FOLD_NOW_BYTES = 8 * FOLD_BYTES;
/** The other columns of a row and its share of the B-tree's pages, roughly. */
const ROW_BYTES = 40;
/** A commit writes at least one page. */
const PAGE_BYTES = 4096;

/** Rows whose value is JSON text, read by `JSON.parse` as they are. */
const PLAIN_JSON = "(encoding = 'json' AND typeof(value) = 'text')";

/** `JSON.parse` of a list, or `undefined` if it is not valid JSON. */
function parseJsonList(text: string): unknown[] | undefined {
  try {
    const list = JSON.parse(text);
    return Array.isArray(list) ? list : undefined;
  } catch {
    return undefined;
  }
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS completions (
    namespace   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       BLOB,
    encoding    TEXT NOT NULL,
    name        TEXT,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID`;

/** A value SQLite binds or returns. */
export type SqliteValue = null | number | bigint | string | Uint8Array;

/** A prepared statement, as the checkpoint store uses it. */
export interface SqliteStatement {
  run(...parameters: SqliteValue[]): { changes: number | bigint };
  /** The first row, as an object of its columns; `undefined` when there is none. */
  get(...parameters: SqliteValue[]): Record<string, SqliteValue> | undefined;
  /** Every row: as an array of its columns if prepared with `arrays`, else as an object. */
  all(...parameters: SqliteValue[]): unknown[];
}

/**
 * A SQLite connection, as the checkpoint store uses it. Each runtime's
 * binding differs (`node:sqlite`, `bun:sqlite`), so the runtime adapters
 * implement this, and the library's entry hands one to {@linkcode useSqlite}.
 */
export interface SqliteConnection {
  /** Runs SQL that returns nothing the store reads. */
  exec(sql: string): void;
  /** `arrays`: `all()` gives rows as arrays, which cost Deno half the time of objects. */
  prepare(sql: string, arrays?: boolean): SqliteStatement;
  /** Whether a safe integer binds as an SQL integer, not as a float. */
  readonly bindsIntegers: boolean;
  /**
   * Rows per multi-row INSERT in a flush, the count this binding writes
   * fastest (the rest of a flush goes row by row). One call into SQLite
   * per many rows instead of per row took a third off writing 200,000
   * rows on Deno and a sixth on Bun; past a few dozen rows the cost per
   * bound value grows on Deno.
   */
  readonly batchRows: number;
  readonly inTransaction: boolean;
  close(): void;
}

let openConnection: ((path: string) => SqliteConnection) | undefined;

/**
 * Sets how a checkpoint opens its file: the runtime's SQLite binding. The
 * engine imports no runtime code, so the library's entry module calls this.
 */
export function useSqlite(open: (path: string) => SqliteConnection): void {
  openConnection = open;
}

/**
 * Sets WAL mode. SQLite does not wait out its busy timeout for this switch:
 * two processes opening a new file at once would see one fail with
 * "database is locked" (measured: 1 start in 6), so it is retried, a few
 * milliseconds apart, for as long as the busy timeout.
 */
function switchToWal(database: SqliteConnection): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      database.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if (!/locked|busy/i.test(messageOf(error)) || Date.now() >= deadline) throw error;
      Atomics.wait(retryPause, 0, 0, 5);
    }
  }
}

/** What `switchToWal` waits on between tries (a synchronous pause). */
const retryPause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A stored value. Pending, a number stands for its JSON text: a safe
 * integer (not -0) is kept as it is until the flush, where its text is
 * made (by SQLite where the binding binds integers). Holding 200,000 value
 * strings from the record to the flush cost Deno's garbage collector about
 * 40 ms of CPU in CP-map.
 */
type StoredValue = string | Uint8Array | number | null;

/** `key, value, encoding`, as an array: rows as objects cost Deno twice the time. */
type StoredRow = readonly [key: string, value: string | Uint8Array | null, encoding: string];

const NO_VALUE: CheckpointHit = Object.freeze({ value: undefined, hasValue: false });

const textDecoder = new TextDecoder();

/** Python's `json.dumps` writes these bare words for non-finite floats. */
const PYTHON_NON_FINITE = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;
const NON_FINITE_MARK = "\u0000osiiso-non-finite:";

/**
 * Reads JSON as Python writes it: `JSON.parse`, and where that fails,
 * once more with the bare `NaN`/`Infinity`/`-Infinity` Python allows.
 */
function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    let replaced = false;
    const marked = text.replace(PYTHON_NON_FINITE, (match, word: string | undefined) => {
      if (word === undefined) return match;
      replaced = true;
      return JSON.stringify(NON_FINITE_MARK + word);
    });
    if (!replaced) throw error;
    return JSON.parse(marked, (_key, value) => {
      if (typeof value !== "string" || !value.startsWith(NON_FINITE_MARK)) return value;
      return Number(value.slice(NON_FINITE_MARK.length));
    });
  }
}

/**
 * The JSON text of a finite number (not -0), a string, a boolean or null,
 * which JSON carries as they are; `undefined` for any other value. These
 * skip the codec's walk, and no `[text, encoding]` pair is made for them.
 */
function primitiveJson(value: unknown): string | undefined {
  switch (typeof value) {
    case "number":
      if (value !== 0 ? Number.isFinite(value) : !Object.is(value, -0)) return String(value);
      return undefined;
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      return value === null ? "null" : undefined;
  }
  return undefined;
}

/**
 * The built-in encoding of any other value, as `[text, encoding]`: plain
 * JSON where JSON carries the value as it is, else the codec's tagged JSON.
 */
function encodeDefault(value: unknown): [string, string] {
  const [tagged, tree] = toWire(value, "base64");
  return [JSON.stringify(tree), tagged === 1 ? "osiiso-wire" : "json"];
}

function decodeDefault(stored: string | Uint8Array, encoding: string): unknown {
  const text = typeof stored === "string" ? stored : textDecoder.decode(stored);
  if (encoding === "json") return parsePythonJson(text);
  if (encoding === "osiiso-wire") return fromWire([1, JSON.parse(text)]);
  throw new TypeError(`unknown encoding '${encoding}'`);
}

/** A pending key or value as bound where integers are not written by SQLite: numbers as their text. */
function asText(field: StoredValue): StoredValue {
  return typeof field === "number" ? "" + field : field;
}

function warn(message: string): void {
  console.warn(`osiiso: checkpoint: ${message}`);
}

/** Each row's namespace (`field` 0) or name (1), from runs of `[namespace, name, firstRow]`. */
function perRow<T>(runs: readonly unknown[], field: 0 | 1, rows: number): T[] {
  const list: T[] = [];
  for (let at = 0; at < runs.length; at += RUN_FIELDS) {
    const end = at + RUN_FIELDS < runs.length ? runs[at + RUN_FIELDS + 2] as number : rows;
    for (let row = runs[at + 2] as number; row < end; row++) list.push(runs[at + field] as T);
  }
  return list;
}

/** The SQLite side: every method is synchronous. */
class SqliteCompletions implements CheckpointStore {
  private readonly database: SqliteConnection;
  private readonly storeValues: boolean;
  private readonly encode: CheckpointOptions["encode"];
  private readonly decode: CheckpointOptions["decode"];
  private readonly insertOne: SqliteStatement;
  private insertShared: SqliteStatement | undefined = undefined;
  private insertSharedIntegers: SqliteStatement | undefined = undefined;
  private insertMixed: SqliteStatement | undefined = undefined;
  private readonly lookupChunk: SqliteStatement;
  private readonly scanJsonRows: SqliteStatement;
  private readonly scanOtherRows: SqliteStatement;
  private readonly scanJsonRowsOneByOne: SqliteStatement;
  /**
   * The rows waiting for the next flush: `PENDING_FIELDS` entries a row, in
   * one list (`recorded_at` is taken at the flush).
   */
  private pendingFields: StoredValue[] = [];
  /**
   * Their namespaces and names, as runs of rows that share both: flat
   * `[namespace, name, firstRow]` triples. The rows of a map share them all.
   */
  private runs: (string | number | null)[] = [];
  /** The key and value characters of the pending rows, for {@linkcode FOLD_BYTES}. */
  private pendingBytes = 0;
  /** About how much the write-ahead log has grown since it was last folded into the file. */
  private unfolded = 0;
  /** Whether the file is in WAL mode (not so in memory). */
  private readonly logged: boolean;
  private foldTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private foldTimerToken = 0;
  private isClosed = false;

  constructor(path: string, storeValues: boolean, options: CheckpointOptions) {
    this.storeValues = storeValues;
    this.encode = options.encode;
    this.decode = options.decode;
    if (openConnection === undefined) {
      throw new InvalidStateError(
        "Cannot open checkpoint as no SQLite binding is set: import Checkpoint from the " +
          "library's entry module",
      );
    }
    const database = openConnection(path);
    try {
      database.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      switchToWal(database);
      // A process crash loses nothing committed in WAL mode with NORMAL;
      // only a power loss may drop the last transactions.
      database.exec("PRAGMA synchronous = NORMAL");
      // The log is folded into the file by `foldLater`, not by the commit
      // that fills it (see there).
      database.exec("PRAGMA wal_autocheckpoint = 0");
      this.logged = (database.prepare("PRAGMA journal_mode").get() as { journal_mode: string })
        .journal_mode === "wal";
      database.exec(SCHEMA);
      this.insertOne = database.prepare(`${INSERT_ROWS}(?, ?, ?, ?, ?, ?)`);
      this.lookupChunk = database.prepare(
        "SELECT key, value, encoding FROM completions WHERE namespace = ? AND key IN (" +
          Array(LOOKUP_CHUNK).fill("?").join(",") + ")",
        true,
      );
      // Plain JSON values come back as one array text (and their keys as
      // another), parsed at once: the cost of a million row objects goes.
      this.scanJsonRows = database.prepare(
        "SELECT json_group_array(key) AS keys, '[' || group_concat(value, ',') || ']' AS " +
          `"values" FROM completions WHERE namespace = ? AND ${PLAIN_JSON}`,
      );
      this.scanJsonRowsOneByOne = database.prepare(
        `SELECT key, value, encoding FROM completions WHERE namespace = ? AND ${PLAIN_JSON}`,
        true,
      );
      this.scanOtherRows = database.prepare(
        `SELECT key, value, encoding FROM completions WHERE namespace = ? AND NOT ${PLAIN_JSON}`,
        true,
      );
    } catch (error) {
      database.close();
      throw error;
    }
    this.database = database;
  }

  get pending(): number {
    return this.pendingFields.length / PENDING_FIELDS;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  ensureOpen(): void {
    if (this.isClosed) throw new InvalidStateError(CLOSED_MESSAGE);
  }

  recordLater(namespace: string, key: StoreKey, value: unknown, name: string | null): boolean {
    this.ensureOpen();
    let stored: StoredValue = null;
    let encoding = "none";
    if (this.storeValues) {
      try {
        if (this.encode === undefined) {
          stored = Number.isSafeInteger(value) &&
              (value !== 0 || !Object.is(value, -0))
            ? value as number
            : primitiveJson(value) ?? null;
          if (stored !== null) encoding = "json";
          else [stored, encoding] = encodeDefault(value);
        } else {
          stored = this.encode(value);
          encoding = "custom";
          if (typeof stored !== "string" && !(stored instanceof Uint8Array)) {
            throw new TypeError(`encode returned ${typeof stored}, not a string or Uint8Array`);
          }
        }
      } catch (error) {
        warn(
          `the value for ${namespace}/${key} is not encodable (${(error as Error)?.message}); ` +
            "not recorded, so it will run again: pass storeValues: false or an encode option",
        );
        return false;
      }
    }
    const pending = this.pendingFields;
    const at = pending.length;
    const runs = this.runs;
    const last = runs.length - RUN_FIELDS;
    if (at === 0 || namespace !== runs[last] || name !== runs[last + 1]) {
      runs.push(namespace, name, at / PENDING_FIELDS);
    }
    // Three stores at the end, not push(a, b, c): JavaScriptCore calls its
    // built-in for a push of several values (12 ms of 200,000 records).
    pending[at] = key;
    pending[at + 1] = stored;
    pending[at + 2] = encoding;
    this.pendingBytes += (typeof key === "number" ? 8 : key.length) +
      (stored === null || typeof stored === "number" ? 0 : stored.length);
    return true;
  }

  flush(): void {
    this.ensureOpen();
    const rows = this.pending;
    if (rows === 0) return;
    const runs = this.runs;
    const namespaces = runs.length === RUN_FIELDS ? undefined : perRow<string>(runs, 0, rows);
    const names = runs.length === RUN_FIELDS ? undefined : perRow<string | null>(runs, 1, rows);
    const order = keyOrder(this.pendingFields, PENDING_FIELDS, namespaces);
    const database = this.database;
    // IMMEDIATE takes the write lock at once, waiting (busy timeout) for
    // another connection's; a deferred transaction could fail half-way.
    database.exec("BEGIN IMMEDIATE");
    try {
      this.insertRows(order, namespaces, names);
      database.exec("COMMIT");
    } catch (error) {
      if (database.inTransaction) database.exec("ROLLBACK");
      throw error;
    }
    // Cleared only after the commit, so that a failed write keeps its rows.
    this.pendingFields = [];
    this.runs = [];
    this.unfolded += this.pendingBytes + rows * ROW_BYTES + PAGE_BYTES;
    this.pendingBytes = 0;
    this.foldLater();
  }

  /**
   * Inserts the pending rows in `order`, the binding's `batchRows` rows a
   * statement (the rest one by one). A batch whose rows share namespace,
   * name and encoding binds those once (`insertShared`, its keys and values
   * as integer text where integers bind as such); any other binds every
   * column of every row (`insertMixed`). `namespaces` and `names` hold each
   * row's, or are `undefined` when one run holds every row.
   */
  private insertRows(
    order: ArrayLike<number>,
    namespaces: readonly string[] | undefined,
    names: readonly (string | null)[] | undefined,
  ): void {
    const fields = this.pendingFields;
    const recordedAt = Date.now() / 1000;
    const namespaceOf = (row: number) => namespaces?.[row] ?? this.runs[0] as string;
    const nameOf = (row: number) =>
      names === undefined ? this.runs[1] as string | null : names[row];
    /** Sets the six columns of `row` at `parameters[at]` onwards. */
    const putRow = (parameters: StoredValue[], at: number, row: number) => {
      const field = PENDING_FIELDS * row;
      parameters[at] = namespaceOf(row);
      parameters[at + 1] = asText(fields[field]);
      parameters[at + 2] = asText(fields[field + 1]);
      parameters[at + 3] = fields[field + 2];
      parameters[at + 4] = nameOf(row);
      parameters[at + 5] = recordedAt;
    };
    const database = this.database;
    const integers = database.bindsIntegers;
    const batch = database.batchRows;
    const rows = order.length;
    const whole = rows - (rows % batch);
    const shared: StoredValue[] = [];
    const mixed: StoredValue[] = [];
    for (let start = 0; start < whole; start += batch) {
      const first = order[start];
      const encoding = fields[PENDING_FIELDS * first + 2];
      const namespace = namespaceOf(first);
      const name = nameOf(first);
      let same = true;
      for (let at = start + 1; at < start + batch && same; at++) {
        const row = order[at];
        same = fields[PENDING_FIELDS * row + 2] === encoding &&
          (namespaces === undefined || (namespaces[row] === namespace && nameOf(row) === name));
      }
      if (same) {
        shared[0] = namespace;
        shared[1] = encoding;
        shared[2] = name;
        shared[3] = recordedAt;
        // Integers bound as such are written as their text by SQLite
        // (`asIntegerText`), except next to custom bytes.
        const bindAsIs = integers && encoding !== "custom";
        for (let index = 0; index < batch; index++) {
          const field = PENDING_FIELDS * order[start + index];
          const at = SHARED_COLUMNS + 2 * index;
          shared[at] = bindAsIs ? fields[field] : asText(fields[field]);
          shared[at + 1] = bindAsIs ? fields[field + 1] : asText(fields[field + 1]);
        }
        const insert = bindAsIs
          ? this.insertSharedIntegers ??= database.prepare(insertShared(batch, asIntegerText))
          : this.insertShared ??= database.prepare(insertShared(batch, asBound));
        insert.run(...shared);
      } else {
        for (let index = 0; index < batch; index++) {
          putRow(mixed, 6 * index, order[start + index]);
        }
        (this.insertMixed ??= database.prepare(insertMixed(batch))).run(...mixed);
      }
    }
    const one: StoredValue[] = [];
    for (let start = whole; start < rows; start++) {
      putRow(one, 0, order[start]);
      this.insertOne.run(...one);
    }
  }

  /**
   * Folds the write-ahead log into the file once it holds about as much as
   * SQLite's own automatic fold waits for, from a timer: a commit then
   * never pays for it (a fold of 200,000 rows took 30–40 ms, most of the
   * commit's time), and one fold serves many flushes. Past
   * {@linkcode FOLD_NOW_BYTES}, in writes that never let a timer run, it
   * folds at once.
   */
  private foldLater(): void {
    if (!this.logged || this.unfolded < FOLD_BYTES) return;
    if (this.unfolded >= FOLD_NOW_BYTES) {
      this.fold();
      return;
    }
    if (this.foldTimer !== undefined) return;
    this.foldTimerToken = trackResource("timers", "checkpoint log fold");
    // close() clears it.
    this.foldTimer = setTimeout(() => {
      try {
        this.fold();
      } catch (error) {
        // Nothing is lost: the log keeps every commit, and the next fold or close tries again.
        warn(`could not fold the write-ahead log into the file (${messageOf(error)})`);
      }
    }, 0);
  }

  /** Copies what the log holds into the file (as far as readers allow; it waits for none). */
  private fold(): void {
    this.clearFoldTimer();
    this.database.exec("PRAGMA wal_checkpoint(PASSIVE)");
    this.unfolded = 0;
  }

  private clearFoldTimer(): void {
    if (this.foldTimer === undefined) return;
    clearTimeout(this.foldTimer);
    releaseResource(this.foldTimerToken);
    this.foldTimer = undefined;
  }

  lookupNow(namespace: string, keys: readonly StoreKey[]): Map<string, CheckpointHit> {
    this.flush();
    const found = new Map<string, CheckpointHit>();
    if (keys.length === 0) return found;
    if (keys.length > SCAN_THRESHOLD && this.countNow(namespace) <= 2 * keys.length) {
      // The whole namespace, unfiltered: the entries not asked for cost less
      // than hashing every key into a set first.
      this.scanNamespace(found, namespace);
      return found;
    }
    const parameters: (string | null)[] = new Array(LOOKUP_CHUNK + 1);
    parameters[0] = namespace;
    for (let start = 0; start < keys.length; start += LOOKUP_CHUNK) {
      const end = Math.min(start + LOOKUP_CHUNK, keys.length);
      for (let index = start; index < start + LOOKUP_CHUNK; index++) {
        // Short last chunk: NULL never equals a key.
        parameters[index - start + 1] = index < end ? keyText(keys[index]) : null;
      }
      this.addHits(
        found,
        namespace,
        this.lookupChunk.all(...parameters) as unknown as StoredRow[],
      );
    }
    return found;
  }

  private scanNamespace(found: Map<string, CheckpointHit>, namespace: string): void {
    const database = this.database;
    let rows: StoredRow[];
    // One read transaction, so that both reads see the same file.
    database.exec("BEGIN");
    try {
      rows = this.scanOtherRows.all(namespace) as unknown as StoredRow[];
      if (this.decode !== undefined || !this.addJsonHits(found, namespace)) {
        // A custom decode, a Python NaN, or a value that is not JSON: row by row.
        const jsonRows = this.scanJsonRowsOneByOne.all(namespace) as unknown as StoredRow[];
        rows = jsonRows.concat(rows);
      }
    } finally {
      database.exec("COMMIT");
    }
    this.addHits(found, namespace, rows);
  }

  /** Adds the namespace's plain JSON rows at once; `false` if their values do not parse. */
  private addJsonHits(found: Map<string, CheckpointHit>, namespace: string): boolean {
    const json = this.scanJsonRows.get(namespace) as { keys: string; values: string | null };
    if (json.values === null) return true; // no such rows
    const keys = JSON.parse(json.keys) as string[];
    const values = parseJsonList(json.values);
    // A value such as "1,2" would shift the rest: the lengths tell.
    if (values === undefined || values.length !== keys.length) return false;
    for (let index = 0; index < keys.length; index++) {
      found.set(keys[index], { value: values[index], hasValue: true });
    }
    return true;
  }

  private addHits(found: Map<string, CheckpointHit>, namespace: string, rows: StoredRow[]): void {
    const decode = this.decode;
    for (const [key, value, encoding] of rows) {
      if (encoding === "none" || value === null) {
        found.set(key, NO_VALUE);
        continue;
      }
      try {
        found.set(key, {
          value: decode === undefined ? decodeDefault(value, encoding) : decode(value),
          hasValue: true,
        });
      } catch (error) {
        warn(
          `could not decode the stored value for ${namespace}/${key} ` +
            `(${(error as Error)?.message}); it will run again`,
        );
      }
    }
  }

  isDoneNow(namespace: string, key: string): boolean {
    this.flush();
    return this.database.prepare(
      "SELECT 1 FROM completions WHERE namespace = ? AND key = ?",
    ).get(namespace, key) !== undefined;
  }

  countNow(namespace?: string): number {
    this.flush();
    const row = namespace === undefined
      ? this.database.prepare("SELECT COUNT(*) AS n FROM completions").get()
      : this.database.prepare("SELECT COUNT(*) AS n FROM completions WHERE namespace = ?")
        .get(namespace);
    return Number((row as { n: number | bigint }).n);
  }

  namespacesNow(): string[] {
    this.flush();
    const rows = this.database.prepare(
      "SELECT DISTINCT namespace FROM completions ORDER BY namespace",
    ).all() as unknown as { namespace: string }[];
    return rows.map((row) => row.namespace);
  }

  clearNow(namespace?: string): number {
    this.flush();
    const result = namespace === undefined
      ? this.database.prepare("DELETE FROM completions").run()
      : this.database.prepare("DELETE FROM completions WHERE namespace = ?").run(namespace);
    const removed = Number(result.changes);
    // The pages it emptied went to the log too.
    this.unfolded += removed * ROW_BYTES + PAGE_BYTES;
    this.foldLater();
    return removed;
  }

  /** Flushes, then closes the file; the file is closed even if the flush fails. */
  closeNow(): void {
    if (this.isClosed) return;
    try {
      this.flush();
      // Another connection may keep the file open, and SQLite folds only
      // when the last one closes.
      if (this.logged && this.unfolded > 0) this.fold();
    } finally {
      this.clearFoldTimer();
      this.isClosed = true;
      this.database.close();
    }
  }
}

let storeOf: (checkpoint: Checkpoint) => SqliteCompletions;

/**
 * A record of which items of a fan-out have succeeded, kept in a SQLite file
 * (through the runtime's own SQLite: `node:sqlite` on Deno, `bun:sqlite` on Bun) or in memory
 * (`":memory:"`, the default). Give it to `map` or `group` as the
 * `checkpoint` option: a run started again skips the items already recorded
 * and restores their values.
 *
 * Each completion is identified by a namespace and a key, both strings.
 * The file has the Python osiiso's schema, so either program opens a
 * checkpoint the other wrote. Writes are batched; every method here first
 * writes what is pending, so it sees every earlier write.
 *
 * After {@linkcode Checkpoint.close}, every other method rejects with an
 * `InvalidStateError` saying that the checkpoint is closed.
 *
 * @example Record and look up completions
 * ```ts
 * import { Checkpoint } from "@osiiso/osiiso";
 *
 * await using checkpoint = new Checkpoint(); // in memory
 * await checkpoint.record("resize", "a.jpg", { width: 320 });
 * await checkpoint.record("resize", "b.jpg", { width: 640 });
 *
 * console.log(await checkpoint.isDone("resize", "a.jpg")); // true
 * const hits = await checkpoint.lookup("resize", ["a.jpg", "c.jpg"]);
 * console.log(hits.get("a.jpg")); // { value: { width: 320 }, hasValue: true }
 * console.log(hits.has("c.jpg")); // false
 * console.log(await checkpoint.count("resize")); // 2
 * ```
 */
export class Checkpoint {
  static {
    storeOf = (checkpoint) => checkpoint.#store;
  }

  /** The file (or `":memory:"`) this checkpoint keeps its records in. */
  readonly path: string;
  /** Whether values are recorded, or only the fact that an item is done. */
  readonly storeValues: boolean;
  readonly #store: SqliteCompletions;

  /**
   * Opens the checkpoint at `path`, creating the file and its table if
   * needed. The file is put in WAL mode and waits up to 5 s for another
   * connection's lock.
   *
   * @param path A file path, or `":memory:"` (the default) for a checkpoint that
   * lives as long as this object.
   * @param options `storeValues` (default `true`), and `encode`/`decode` to store
   * values your own way.
   * @throws {TypeError} If an argument has the wrong type, or an option is unknown.
   *
   * @example Keep only which items are done
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint(":memory:", { storeValues: false });
   * await checkpoint.record("send", "user-1", "ignored");
   * console.log(await checkpoint.lookup("send", ["user-1"]));
   * // Map(1) { "user-1" => { value: undefined, hasValue: false } }
   * ```
   */
  constructor(path: string = ":memory:", options?: CheckpointOptions) {
    const action = "open checkpoint";
    this.path = checkString(action, "path", path);
    const checked = checkOptionsObject(action, "options", options) as CheckpointOptions;
    checkKnownNames("checkpoint", checked as Record<string, unknown>, OPTION_NAMES);
    this.storeValues = checkBoolean(action, "storeValues", checked.storeValues ?? true);
    if (checked.encode !== undefined) checkFunction(action, "encode", checked.encode);
    if (checked.decode !== undefined) checkFunction(action, "decode", checked.decode);
    this.#store = new SqliteCompletions(this.path, this.storeValues, checked);
  }

  /** Whether {@linkcode Checkpoint.close} has been called. */
  get closed(): boolean {
    return this.#store.closed;
  }

  /**
   * Whether `key` is recorded under `namespace`.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * await checkpoint.record("ns", "k");
   * console.log(await checkpoint.isDone("ns", "k"), await checkpoint.isDone("ns", "x")); // true false
   * ```
   */
  async isDone(namespace: string, key: string): Promise<boolean> {
    this.#store.ensureOpen();
    const action = "check checkpoint key";
    checkString(action, "namespace", namespace);
    checkString(action, "key", key);
    return this.#store.isDoneNow(namespace, key);
  }

  /**
   * The recorded completions among `keys`, as a map from key to
   * {@linkcode CheckpointHit}; keys not recorded are absent. A value that
   * cannot be decoded is left out too (with a warning), so that its item
   * runs again rather than resuming with a wrong value; `isDone` still
   * reports such a key as done.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * await checkpoint.record("ns", "when", new Date(0));
   * const hit = (await checkpoint.lookup("ns", ["when"])).get("when");
   * console.log(hit?.value instanceof Date); // true
   * ```
   */
  async lookup(namespace: string, keys: Iterable<string>): Promise<Map<string, CheckpointHit>> {
    this.#store.ensureOpen();
    const action = "look up checkpoint keys";
    checkString(action, "namespace", namespace);
    const list = typeof keys === "string" || typeof keys?.[Symbol.iterator] !== "function"
      ? undefined
      : Array.from(keys);
    if (list === undefined || list.some((key) => typeof key !== "string")) {
      const shown = list?.find((key) => typeof key !== "string") ?? keys;
      throw new TypeError(invalidMessage(action, "keys", "an iterable of strings", shown));
    }
    const found = this.#store.lookupNow(namespace, list);
    if (list.length <= SCAN_THRESHOLD) return found; // exactly the keys asked for
    const asked = new Map<string, CheckpointHit>();
    for (const key of list) {
      const hit = found.get(key);
      if (hit !== undefined) asked.set(key, hit);
    }
    return asked;
  }

  /**
   * Records `key` as done under `namespace`, with `value` when values are
   * stored (recording again replaces the value). Resolves `true` once it is
   * written, or `false` if the value cannot be encoded: then nothing is
   * recorded (with a warning), so the item would run again.
   *
   * @param options `name`: the task's name, kept only to make the table readable.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * console.log(await checkpoint.record("ns", "k", 42, { name: "double" })); // true
   * console.log(await checkpoint.record("ns", "f", () => 1)); // false: a function cannot be stored
   * ```
   */
  async record(
    namespace: string,
    key: string,
    value?: unknown,
    options?: { name?: string },
  ): Promise<boolean> {
    this.#store.ensureOpen();
    const action = "record checkpoint entry";
    checkString(action, "namespace", namespace);
    checkString(action, "key", key);
    const checked = checkOptionsObject(action, "options", options);
    checkKnownNames("record", checked, RECORD_OPTION_NAMES);
    const name = checked.name === undefined ? null : checkString(action, "name", checked.name);
    if (!this.#store.recordLater(namespace, key, value, name)) return false;
    this.#store.flush();
    return true;
  }

  /**
   * How many completions are recorded under `namespace`, or in all namespaces.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * await checkpoint.record("a", "1");
   * await checkpoint.record("b", "1");
   * console.log(await checkpoint.count(), await checkpoint.count("a")); // 2 1
   * ```
   */
  async count(namespace?: string): Promise<number> {
    this.#store.ensureOpen();
    if (namespace !== undefined) checkString("count checkpoint entries", "namespace", namespace);
    return this.#store.countNow(namespace);
  }

  /**
   * The namespaces that hold completions, sorted.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * await checkpoint.record("thumbs", "a");
   * await checkpoint.record("emails", "a");
   * console.log(await checkpoint.namespaces()); // ["emails", "thumbs"]
   * ```
   */
  async namespaces(): Promise<string[]> {
    this.#store.ensureOpen();
    return this.#store.namespacesNow();
  }

  /**
   * Forgets the completions of `namespace`, or of every namespace, so that
   * those items run again. Resolves how many were removed.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * await using checkpoint = new Checkpoint();
   * await checkpoint.record("ns", "a");
   * await checkpoint.record("ns", "b");
   * console.log(await checkpoint.clear("ns")); // 2
   * ```
   */
  async clear(namespace?: string): Promise<number> {
    this.#store.ensureOpen();
    if (namespace !== undefined) checkString("clear checkpoint", "namespace", namespace);
    return this.#store.clearNow(namespace);
  }

  /**
   * Writes what is pending and closes the file. Calling it again does
   * nothing. Close the queue first, so that its last successes are recorded:
   * with `await using`, declare the checkpoint before the queue. If that last
   * write fails (the file locked elsewhere for more than 5 s), the file is
   * closed all the same and `close()` rejects with SQLite's error; the rows
   * it held were not recorded, so their items run again.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * const checkpoint = new Checkpoint();
   * await checkpoint.close();
   * await checkpoint.close(); // no effect
   * await checkpoint.count().catch((error) => console.log(error.message));
   * // checkpoint is closed — close it after the queue has finished, not before
   * ```
   */
  async close(): Promise<void> {
    this.#store.closeNow();
  }

  /**
   * Closes the checkpoint at the end of an `await using` block.
   *
   * @example
   * ```ts
   * import { Checkpoint } from "@osiiso/osiiso";
   *
   * {
   *   await using checkpoint = new Checkpoint();
   *   await checkpoint.record("ns", "k");
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const OPTION_NAMES: ReadonlySet<string> = new Set(["storeValues", "encode", "decode"]);
const RECORD_OPTION_NAMES: ReadonlySet<string> = new Set(["name"]);

/**
 * The synchronous store behind `checkpoint`, for the queue's engine (not
 * exported from `mod.ts`).
 */
export function checkpointStore(checkpoint: Checkpoint): CheckpointStore {
  return storeOf(checkpoint);
}

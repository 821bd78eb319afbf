/**
 * Checkpoint keys: the string under which one item of a checkpointed `map` or
 * `group` is recorded. By default it is the item's canonical JSON, so the same
 * item gives the same key in every run and every process.
 *
 * Canonical JSON here is `JSON.stringify` with three changes:
 * - object keys are sorted (recursively), so `{ a, b }` and `{ b, a }` match;
 * - characters outside ASCII are written as `\uXXXX` escapes, and `NaN` and
 *   `±Infinity` as the bare words `NaN`, `Infinity`, `-Infinity`, as Python's
 *   `json.dumps` does, so keys of strings, integers, arrays and objects are
 *   byte for byte the keys a Python osiiso checkpoint holds (`NaN` would
 *   otherwise become `null` and collide with it);
 * - only what JSON says unambiguously is accepted: `null`, booleans, numbers,
 *   strings, arrays, plain objects, and objects with a `toJSON` method (a
 *   `Date` is its ISO string). As in JSON, an `undefined` property is left out
 *   and an `undefined` array element is `null`. Everything else — a cycle, a
 *   function, a symbol, a `BigInt`, a bare `undefined`, a `Map`, a `Set`, a
 *   class instance — has no canonical JSON (`JSON.stringify` would turn every
 *   `Map` into `{}`, one key for all of them) and is a `TypeError`: pass a
 *   `key` function instead.
 *
 * @module
 */

import { checkFunction, describeValue } from "./validate.ts";

const ACTION = "derive a checkpoint key";

/**
 * What a `key` option may be: any function of the item; its result goes
 * through `String()`.
 *
 * @example
 * ```ts
 * import { AsyncQueue, Checkpoint, type CheckpointKeyFunction } from "@osiiso/osiiso";
 * type Row = { id: number; body: string };
 * const byId: CheckpointKeyFunction<Row> = (row) => row.id;
 * await using checkpoint = new Checkpoint();
 * const q = new AsyncQueue();
 * q.map((row: Row) => row.body.length, [{ id: 7, body: "seven" }], { checkpoint, key: byId });
 * await q.run();
 * console.log(await checkpoint.isDone("anonymous", "7")); // true
 * ```
 */
export type CheckpointKeyFunction<T = never> = (item: T) => unknown;

/**
 * The key of `item`: `String(keyFunction(item))` when a key function is
 * given, else the canonical JSON of `item` (see the module comment).
 *
 * @throws {TypeError} If `keyFunction` is given but is not a function, or if
 * there is none and `item` has no canonical JSON; the message names `key`.
 */
export function checkpointKeyFor<T>(item: T, keyFunction?: CheckpointKeyFunction<T>): string {
  if (keyFunction !== undefined) {
    return String(checkFunction<CheckpointKeyFunction<T>>(ACTION, "key", keyFunction)(item));
  }
  // Numbers and strings, the usual items, need neither the walk nor its cycle set.
  if (typeof item === "number" && Number.isFinite(item)) return String(item);
  if (typeof item === "string") return stringJson(item);
  const json = canonicalJson(item, "item", new Set());
  if (json === undefined) throw noCanonicalJson(item, "item");
  return json;
}

/**
 * A key on its way to the store: its text, or a whole number in
 * `[0, NUMBER_KEY_LIMIT)` that stands for its decimal text, the canonical
 * JSON of that number. Numbers stay numbers until the rows are written:
 * `String(n)` cost 100–130 ns a key (200,000 integer items: 20–26 ms on
 * both runtimes), and where the SQLite binding binds integers SQLite makes
 * the text itself.
 */
export type StoreKey = string | number;

/**
 * Numeric keys stay below 10^14, so that a key scaled to 14 digits and
 * tagged with its length is still an exact integer (see `key_order.ts`).
 */
const NUMBER_KEY_LIMIT = 1e14;

/** The store key of a `map` item without a `key` function; see {@linkcode StoreKey}. */
export function storeKeyFor(item: unknown): StoreKey {
  return isNumericKey(item) ? item : checkpointKeyFor(item);
}

/**
 * Whether `item` is its own store key: a whole number in
 * `[0, NUMBER_KEY_LIMIT)`, not -0 (whose key is the text "0").
 */
export function isNumericKey(item: unknown): item is number {
  return typeof item === "number" && Number.isInteger(item) && item >= 0 &&
    item < NUMBER_KEY_LIMIT && !Object.is(item, -0);
}

/** The text of a store key. */
export function keyText(key: StoreKey): string {
  // `"" + n` is String(n) for a number, and cost half as much on Deno.
  return typeof key === "number" ? "" + key : key;
}

/** A string's JSON, non-ASCII escaped; the test spares the replace for ASCII text. */
function stringJson(text: string): string {
  const json = JSON.stringify(text);
  return ASCII_ONLY.test(json) ? json : escapeNonAscii(json);
}

const ASCII_ONLY = /^[ -\x7f]*$/;

/** Non-ASCII characters, escaped as Python's `json.dumps` escapes them by default. */
const NON_ASCII = /[\u0080-\uffff]/g;

function escapeNonAscii(json: string): string {
  return json.replace(
    NON_ASCII,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function noCanonicalJson(value: unknown, path: string): TypeError {
  return new TypeError(
    `Cannot ${ACTION} as 'key' must be a function when an item has no canonical JSON ` +
      `(${describeValue(value)} at ${path}): current value is undefined`,
  );
}

/**
 * The canonical JSON of `value`, or `undefined` where JSON leaves it out (an
 * `undefined` property). `path` names where `value` sits, for the error;
 * `open` holds the objects being walked, to find cycles.
 */
function canonicalJson(value: unknown, path: string, open: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
      return stringJson(value);
    case "number":
      if (Number.isFinite(value)) return JSON.stringify(value);
      return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return undefined;
    case "object":
      if (value === null) return "null";
      return canonicalObjectJson(value, path, open);
    default: // bigint, function, symbol
      throw noCanonicalJson(value, path);
  }
}

function canonicalObjectJson(value: object, path: string, open: Set<object>): string | undefined {
  if (open.has(value)) throw noCanonicalJson(value, `${path} (a cycle)`);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    open.add(value);
    try {
      return canonicalJson(toJSON.call(value, ""), path, open);
    } finally {
      open.delete(value);
    }
  }
  const isArray = Array.isArray(value);
  const prototype = Object.getPrototypeOf(value);
  if (!isArray && prototype !== Object.prototype && prototype !== null) {
    throw noCanonicalJson(value, path);
  }
  open.add(value);
  try {
    if (isArray) {
      const parts: string[] = [];
      for (let index = 0; index < value.length; index++) {
        parts.push(canonicalJson(value[index], `${path}[${index}]`, open) ?? "null");
      }
      return `[${parts.join(",")}]`;
    }
    const parts: string[] = [];
    for (const name of Object.keys(value).sort()) {
      const json = canonicalJson(
        (value as Record<string, unknown>)[name],
        `${path}.${name}`,
        open,
      );
      if (json !== undefined) parts.push(`${escapeNonAscii(JSON.stringify(name))}:${json}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    open.delete(value);
  }
}

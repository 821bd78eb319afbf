import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  checkpointKeyFor,
  isNumericKey,
  keyText,
  storeKeyFor,
} from "../../src/core/checkpoint_key.ts";

/** Asserts that `item` has no canonical key, with the message naming `key` and where. */
function assertNoKey(item: unknown, shown: string): void {
  assert.throws(() => checkpointKeyFor(item), (error: unknown) => {
    assert.equal((error as Error).constructor, TypeError);
    assert.equal(
      (error as Error).message,
      "Cannot derive a checkpoint key as 'key' must be a function when an item has no " +
        `canonical JSON (${shown}): current value is undefined`,
    );
    return true;
  });
}

describe("checkpointKeyFor, default key", () => {
  it("is compact JSON for JSON values", () => {
    assert.equal(checkpointKeyFor(1), "1");
    assert.equal(checkpointKeyFor("1"), '"1"');
    assert.equal(checkpointKeyFor(null), "null");
    assert.equal(checkpointKeyFor(true), "true");
    assert.equal(checkpointKeyFor(false), "false");
    assert.equal(checkpointKeyFor([1, "a", [null]]), '[1,"a",[null]]');
    assert.equal(checkpointKeyFor(2.5), "2.5");
    assert.equal(checkpointKeyFor(-0), "0");
    assert.equal(checkpointKeyFor('say "hi"\n'), '"say \\"hi\\"\\n"');
  });

  it("sorts object keys at every depth, and keeps array order", () => {
    const a = checkpointKeyFor({ b: 1, a: { d: [2, 1], c: 3 } });
    const b = checkpointKeyFor({ a: { c: 3, d: [2, 1] }, b: 1 });
    assert.equal(a, '{"a":{"c":3,"d":[2,1]},"b":1}');
    assert.equal(a, b);
    assert.notEqual(checkpointKeyFor([1, 2]), checkpointKeyFor([2, 1]));
  });

  it("keeps 1 and '1' apart", () => {
    assert.notEqual(checkpointKeyFor(1), checkpointKeyFor("1"));
    assert.notEqual(checkpointKeyFor({ a: 1 }), checkpointKeyFor({ a: "1" }));
  });

  it("escapes non-ASCII characters as Python's json.dumps does", () => {
    // json.dumps({"é": "日本", "x": "😀"}, sort_keys=True, separators=(",", ":"))
    assert.equal(
      checkpointKeyFor({ x: "😀", é: "日本" }),
      '{"x":"\\ud83d\\ude00","\\u00e9":"\\u65e5\\u672c"}',
    );
    assert.equal(checkpointKeyFor("\u007f"), '"\u007f"'); // DEL is ASCII: left as is
  });

  it("writes NaN and ±Infinity as Python does, apart from null", () => {
    assert.equal(checkpointKeyFor([NaN, Infinity, -Infinity]), "[NaN,Infinity,-Infinity]");
    assert.notEqual(checkpointKeyFor(NaN), checkpointKeyFor(null));
  });

  it("follows JSON for undefined inside a value, and for toJSON", () => {
    assert.equal(checkpointKeyFor({ a: 1, b: undefined }), checkpointKeyFor({ a: 1 }));
    assert.equal(checkpointKeyFor([undefined, 1]), "[null,1]");
    assert.equal(checkpointKeyFor([, 1]), "[null,1]"); // a hole, as JSON.stringify
    assert.equal(checkpointKeyFor(new Date(0)), '"1970-01-01T00:00:00.000Z"');
    assert.equal(checkpointKeyFor({ at: new Date(0) }), '{"at":"1970-01-01T00:00:00.000Z"}');
    const custom = { toJSON: () => ({ z: 1, y: 2 }) };
    assert.equal(checkpointKeyFor(custom), '{"y":2,"z":1}');
  });

  it("accepts objects without a prototype, and shared (not cyclic) references", () => {
    const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
    assert.equal(checkpointKeyFor(bare), '{"a":1,"b":2}');
    const shared = { n: 1 };
    assert.equal(checkpointKeyFor([shared, shared]), '[{"n":1},{"n":1}]');
  });

  it("ignores symbol-keyed properties, as JSON does", () => {
    assert.equal(checkpointKeyFor({ a: 1, [Symbol("s")]: 2 }), '{"a":1}');
  });

  it("is a TypeError naming key, and where, for a value with no canonical JSON", () => {
    assertNoKey(10n, "10n at item");
    assertNoKey({ n: [1, 2n] }, "2n at item.n[1]");
    assertNoKey(function work() {}, "function work at item");
    assertNoKey({ f: () => 1 }, "function f at item.f");
    assertNoKey(Symbol("s"), "Symbol(s) at item");
    assertNoKey(undefined, "undefined at item");
    assertNoKey(new Map([[1, 2]]), "a Map at item");
    assertNoKey({ s: new Set() }, "a Set at item.s");
    assertNoKey(new (class Point {})(), "a Point at item");
    assertNoKey(new Uint8Array(2), "a Uint8Array at item");
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    assertNoKey(cycle, "an object at item.self (a cycle)");
    const list: unknown[] = [];
    list.push(list);
    assertNoKey(list, "array(1) at item[0] (a cycle)");
  });
});

describe("checkpointKeyFor, key function", () => {
  it("passes the item to the function and its result through String()", () => {
    const row = { id: 7, name: "x" };
    assert.equal(checkpointKeyFor(row, (r) => r.id), "7");
    assert.equal(checkpointKeyFor(row, (r) => [r.id, r.name]), "7,x");
    assert.equal(checkpointKeyFor(10n, (n) => n), "10");
    assert.equal(checkpointKeyFor(new Map(), () => undefined), "undefined");
  });

  it("lets what the function throws through", () => {
    assert.throws(() =>
      checkpointKeyFor(1, () => {
        throw new RangeError("no");
      }), RangeError);
  });

  it("rejects a key that is not a function", () => {
    assert.throws(
      () => checkpointKeyFor(1, 5 as never),
      new TypeError(
        "Cannot derive a checkpoint key as 'key' must be a function: current value is 5",
      ),
    );
  });
});

describe("storeKeyFor", () => {
  it("keeps whole numbers from 0 below 10^14 as numbers, whose text is their default key", () => {
    for (const item of [0, 1, 42, 99_999_999_999_999]) {
      assert.equal(storeKeyFor(item), item);
      assert.equal(keyText(storeKeyFor(item)), checkpointKeyFor(item));
    }
    assert.equal(storeKeyFor(-0), "0");
  });

  it("says which items are their own store keys", () => {
    for (const item of [0, 7, 99_999_999_999_999]) assert.equal(isNumericKey(item), true);
    for (const item of [-0, -1, 0.5, 1e14, NaN, "7", [7], null]) {
      assert.equal(isNumericKey(item), false, String(item));
    }
  });

  it("gives every other item its default key text", () => {
    for (const item of [-3, 1.5, 1e14, 2 ** 53, NaN, Infinity, "7", [7], { a: 1 }, null, true]) {
      assert.equal(storeKeyFor(item), checkpointKeyFor(item), String(item));
    }
  });
});

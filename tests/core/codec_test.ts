/**
 * The value codec of ProcessQueue: every supported type round-trips on all
 * three paths (bytes for Deno's framed stdio, base64 JSON trees for Bun's
 * IPC, raw trees for a structured-clone channel), identity and cycles
 * survive, errors keep class, cause and fields, and anything else fails with
 * a `TaskSerializationError` that says what and where.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TaskSerializationError, TaskTimeoutError } from "../../src/core/errors.ts";
import {
  type ByteSink,
  decodeValue,
  encodeValue,
  encodeValueInto,
  fromWire,
  toWire,
} from "../../src/core/codec.ts";

type Path = "bytes" | "json" | "clone";
const PATHS: readonly Path[] = ["bytes", "json", "clone"];

/** Sends `value` through one of the codec's paths, as a channel would. */
function roundTrip<T>(value: T, path: Path): T {
  switch (path) {
    case "bytes":
      return decodeValue(encodeValue(value, 8).subarray(8)) as T;
    case "json":
      return fromWire(JSON.parse(JSON.stringify(toWire(value, "base64")))) as T;
    case "clone":
      return fromWire(structuredClone(toWire(value, "raw"))) as T;
  }
}

function eachPath(name: string, check: (through: <T>(value: T) => T, path: Path) => void): void {
  for (const path of PATHS) {
    it(`${name} (${path})`, () => check((value) => roundTrip(value, path), path));
  }
}

describe("codec: what crosses", () => {
  eachPath("JSON values stay as they are", (through) => {
    const value = {
      s: "text ✓",
      n: 1.5,
      i: -7,
      t: true,
      f: false,
      z: null,
      a: [1, "two", [3], { four: 4 }],
      nested: { deep: { deeper: [null] } },
    };
    assert.deepEqual(through(value), value);
  });

  eachPath("numbers JSON cannot say: NaN, ±Infinity, -0", (through) => {
    const back = through([NaN, Infinity, -Infinity, -0, 0]);
    assert.ok(Number.isNaN(back[0]));
    assert.equal(back[1], Infinity);
    assert.equal(back[2], -Infinity);
    assert.ok(Object.is(back[3], -0));
    assert.ok(Object.is(back[4], 0));
  });

  eachPath("undefined, in arrays and as an object's value (the key stays)", (through) => {
    const back = through({ gone: undefined, list: [undefined, 1] });
    assert.ok("gone" in back);
    assert.equal(back.gone, undefined);
    assert.deepEqual(back.list, [undefined, 1]);
    assert.equal(through(undefined), undefined);
  });

  eachPath("BigInt, Date (valid and invalid), RegExp, boxed primitives", (through) => {
    const back = through({
      big: 2n ** 70n,
      negative: -5n,
      date: new Date(86_400_000),
      invalid: new Date(NaN),
      regexp: /a+b/giu,
      boxedNumber: Object(3),
      boxedString: Object("s"),
      boxedBoolean: Object(false),
    });
    assert.equal(back.big, 2n ** 70n);
    assert.equal(back.negative, -5n);
    assert.ok(back.date instanceof Date);
    assert.equal(back.date.getTime(), 86_400_000);
    assert.ok(back.invalid instanceof Date && Number.isNaN(back.invalid.getTime()));
    assert.ok(back.regexp instanceof RegExp);
    assert.equal(back.regexp.source, "a+b");
    assert.equal(back.regexp.flags, "giu");
    assert.ok(back.boxedNumber instanceof Number && back.boxedNumber.valueOf() === 3);
    assert.ok(back.boxedString instanceof String && back.boxedString.valueOf() === "s");
    assert.ok(back.boxedBoolean instanceof Boolean && back.boxedBoolean.valueOf() === false);
  });

  eachPath("Map and Set, with keys and members of any supported kind", (through) => {
    const key = { id: 1 };
    const back = through({
      map: new Map<unknown, unknown>([[key, "object key"], [1n, new Set([1])], ["k", undefined]]),
      set: new Set<unknown>([1, "1", new Date(5), key]),
    });
    const [objectKey, bigintKey, stringKey] = [...back.map.keys()];
    assert.deepEqual(objectKey, { id: 1 });
    assert.equal(back.map.get(objectKey), "object key");
    assert.equal(bigintKey, 1n);
    assert.deepEqual(back.map.get(bigintKey), new Set([1]));
    assert.equal(stringKey, "k");
    assert.ok(back.map.has("k"));
    const members = [...back.set];
    assert.equal(members.length, 4);
    assert.equal(members[3], objectKey, "the shared object is one object on arrival too");
  });

  eachPath("ArrayBuffer, every typed array and DataView", (through) => {
    const buffer = new ArrayBuffer(8);
    new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8]);
    const arrays = {
      buffer,
      int8: Int8Array.of(-1, 2),
      uint8: Uint8Array.of(255, 0),
      clamped: Uint8ClampedArray.of(300 as number, 1),
      int16: Int16Array.of(-300),
      uint16: Uint16Array.of(65_535),
      int32: Int32Array.of(-70_000),
      uint32: Uint32Array.of(4_000_000_000),
      float32: Float32Array.of(1.5),
      float64: Float64Array.of(Math.PI, -0),
      bigInt64: BigInt64Array.of(-(2n ** 60n)),
      bigUint64: BigUint64Array.of(2n ** 63n),
      view: new DataView(buffer, 2, 4),
    };
    const back = through(arrays);
    assert.ok(back.buffer instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(back.buffer)], [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const [name, array] of Object.entries(arrays)) {
      if (name === "buffer" || name === "view") continue;
      const copy = back[name as keyof typeof back] as unknown as ArrayLike<unknown>;
      assert.equal(copy.constructor, array.constructor, name);
      assert.deepEqual(Array.from(copy), Array.from(array as unknown as ArrayLike<unknown>), name);
    }
    assert.ok(Object.is(back.float64[1], -0));
    assert.ok(back.view instanceof DataView);
    assert.equal(back.view.byteOffset, 2);
    assert.equal(back.view.byteLength, 4);
    assert.equal(back.view.buffer, back.buffer, "the view still shares the buffer it came with");
  });

  eachPath("views over one buffer still share it; offsets are kept", (through) => {
    const buffer = new ArrayBuffer(16);
    const head = new Uint8Array(buffer, 0, 8);
    const tail = new Float64Array(buffer, 8, 1);
    tail[0] = 2.5;
    const back = through({ head, tail });
    assert.equal(back.head.buffer, back.tail.buffer);
    assert.equal(back.tail.byteOffset, 8);
    assert.equal(back.tail[0], 2.5);
    assert.equal(back.head.buffer.byteLength, 16);
  });

  eachPath("a Node Buffer arrives as a Uint8Array", (through) => {
    const back = through(new TextEncoder().encode("abc"));
    assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
    assert.deepEqual([...back], [97, 98, 99]);
  });

  eachPath("shared references and cycles", (through) => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared, list: [shared] };
    cyclic.self = cyclic;
    const map = new Map<string, unknown>();
    map.set("map", map);
    cyclic.map = map;
    const back = through(cyclic) as typeof cyclic & { list: unknown[]; map: Map<string, unknown> };
    assert.equal(back.self, back);
    assert.equal(back.shared, back.again);
    assert.equal(back.list[0], back.shared);
    assert.equal(back.map.get("map"), back.map);
  });

  eachPath("class instances arrive as plain objects with their own fields", (through) => {
    class Point {
      constructor(readonly x: number, readonly y: number) {}
      toJSON(): string {
        return "not used";
      }
      get length(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const back = through([new Point(3, 4)]);
    assert.deepEqual(back[0], { x: 3, y: 4 });
    assert.equal(Object.getPrototypeOf(back[0]), Object.prototype);
  });

  eachPath("objects that use the reserved key or an own __proto__ key", (through) => {
    const reserved = { "\u0000": "mine", other: 1 };
    const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
    const back = through({ reserved, protoKey, tagged: { "\u0000": 1, d: new Date(0) } });
    assert.deepEqual(back.reserved, reserved);
    assert.ok(Object.hasOwn(back.protoKey, "__proto__"));
    assert.equal(Object.getPrototypeOf(back.protoKey), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(back.tagged["\u0000"], 1);
    assert.ok(back.tagged.d instanceof Date);
  });

  eachPath("long strings (beside the JSON on the byte path), ASCII or not", (through) => {
    const ascii = "a".repeat(200_000);
    const mixed = "ü✓𝄞".repeat(30_000) + "\u0000 \ud800 end";
    const back = through({ ascii, mixed, again: ascii });
    assert.equal(back.ascii, ascii);
    assert.equal(back.mixed, mixed);
    assert.equal(back.again, ascii);
  });
});

describe("codec: arrays with holes", () => {
  eachPath(
    "holes stay holes, with the array's named properties and shared references",
    (through) => {
      const shared = { id: 1 };
      const holey: unknown[] & { label?: string } = [shared, , undefined, shared]; // eslint-disable-line no-sparse-arrays
      holey[7] = "last";
      holey.label = "named";
      const back = through({ holey, shared }) as { holey: typeof holey; shared: object };
      assert.equal(back.holey.length, 8);
      assert.deepEqual(Object.keys(back.holey), ["0", "2", "3", "7", "label"]);
      assert.equal(1 in back.holey, false, "index 1 is a hole");
      assert.equal(back.holey[2], undefined);
      assert.equal(back.holey.label, "named");
      assert.equal(back.holey[0], back.shared, "references keep their identity");
      assert.equal(back.holey[3], back.shared);
    },
  );

  eachPath("a huge sparse array costs its entries, not its length", (through) => {
    const sparse: number[] = [];
    sparse[1e8] = 1;
    const started = performance.now();
    const back = through(sparse);
    assert.ok(performance.now() - started < 1_000, "encoded without walking 10⁸ holes");
    assert.equal(back.length, 1e8 + 1);
    assert.deepEqual(Object.keys(back), ["100000000"]);
    assert.ok(encodeValue(sparse).length < 100, "a few bytes");
  });

  eachPath("a dense array with named properties crosses as its elements", (through, path) => {
    const dense: number[] & { label?: string } = [1, 2];
    dense.label = "dropped";
    // A structured-clone channel carries the array itself, and clones its properties.
    const expected = path === "clone" ? ["0", "1", "label"] : ["0", "1"];
    assert.deepEqual(Object.keys(through(dense)), expected);
  });
});

describe("codec: size limit of a JSON channel", () => {
  it("toWire refuses a message over its limit, naming the limit", () => {
    const limit = 2 * 1024 * 1024;
    assert.throws(
      () => toWire({ text: "x".repeat(limit) }, "base64", limit),
      (error: unknown) =>
        error instanceof TaskSerializationError &&
        /over the limit of 2 MiB/.test(error.message),
    );
    assert.throws(() => toWire(new Uint8Array(limit), "base64", limit), TaskSerializationError);
    const fits = toWire({ text: "x".repeat(limit / 2) }, "base64", limit);
    assert.equal(JSON.stringify(fits).length < limit, true);
  });
});

describe("codec: errors", () => {
  eachPath("built-in classes, message, stack, cause chain and own fields", (through) => {
    const inner = new TypeError("inner");
    const error = new RangeError("outer", { cause: inner });
    Object.assign(error, { code: "E_OUT", when: new Date(7), tags: new Set(["a"]) });
    const back = through(error);
    assert.ok(back instanceof RangeError);
    assert.equal(back.message, "outer");
    assert.equal(back.name, "RangeError");
    assert.equal(back.stack, error.stack);
    assert.ok(back.cause instanceof TypeError);
    assert.equal((back.cause as Error).message, "inner");
    const fields = back as unknown as { code: string; when: Date; tags: Set<string> };
    assert.equal(fields.code, "E_OUT");
    assert.ok(fields.when instanceof Date && fields.when.getTime() === 7);
    assert.deepEqual(fields.tags, new Set(["a"]));
    assert.equal(Object.keys(back).includes("stack"), false, "stack stays non-enumerable");
  });

  eachPath("a custom class keeps its name; the library's classes stay themselves", (through) => {
    class QuotaError extends Error {
      override name = "QuotaError";
    }
    const back = through([new QuotaError("over"), new TaskTimeoutError("job", 100)]);
    assert.ok(back[0] instanceof Error);
    assert.equal(back[0].name, "QuotaError");
    assert.equal(back[0].message, "over");
    assert.ok(back[1] instanceof TaskTimeoutError);
    assert.equal(back[1].message, "task 'job' exceeded 100ms timeout");
    assert.equal((back[1] as TaskTimeoutError).taskName, "job");
    assert.equal((back[1] as TaskTimeoutError).timeout, 100);
  });

  eachPath("AggregateError keeps its errors; errors nest anywhere in values", (through) => {
    const aggregate = new AggregateError([new Error("a"), new SyntaxError("b")], "both");
    const back = through({ results: [1, aggregate], byName: new Map([["e", new Error("m")]]) });
    const copy = back.results[1] as AggregateError;
    assert.ok(copy instanceof AggregateError);
    assert.equal(copy.errors.length, 2);
    assert.ok(copy.errors[1] instanceof SyntaxError);
    assert.equal((back.byName.get("e") as Error).message, "m");
  });

  eachPath("an error whose cause or fields point back at it", (through) => {
    const error = new Error("loop") as Error & { self?: unknown };
    error.self = error;
    const outer = new Error("outer", { cause: error });
    const back = through(outer);
    const cause = back.cause as Error & { self?: unknown };
    assert.equal(cause.self, cause);
  });

  eachPath("function-valued fields of an error are left behind, not fatal", (through) => {
    const error = Object.assign(new Error("with helper"), { retry: () => 1, status: 503 });
    const back = through(error) as Error & { retry?: unknown; status?: number };
    assert.equal(back.retry, undefined);
    assert.equal(back.status, 503);
  });
});

describe("codec: what cannot cross", () => {
  const cases: readonly [string, unknown, RegExp][] = [
    ["a function", { a: [1, { run: () => 1 }] }, /a function \(run\).*value\.a\[1\]\.run/],
    ["a symbol", { s: Symbol("tag") }, /a symbol \(tag\).*value\.s/],
    ["a promise", [Promise.resolve(1)], /a Promise object.*value\[0\]/],
    ["a WeakMap", { w: new WeakMap() }, /a WeakMap object.*value\.w/],
    ["a URL", { u: new URL("https://example.com/") }, /a URL object.*value\.u/],
    ["a SharedArrayBuffer", { b: new SharedArrayBuffer(8) }, /a SharedArrayBuffer.*value\.b/],
    ["inside a Map", new Map([["k", () => 1]]), /function.*value\.get\(<key 0>\)/],
  ];
  for (const [name, value, message] of cases) {
    for (const path of PATHS) {
      it(`${name} (${path})`, () => {
        assert.throws(() => roundTrip(value, path), (error: unknown) => {
          assert.ok(error instanceof TaskSerializationError, String(error));
          assert.match(error.message, message);
          assert.match(error.message, /cannot be sent to or from a child process/);
          return true;
        });
      });
    }
  }

  it("a value nested too deeply fails cleanly", () => {
    let deep: unknown[] = [];
    const root = deep;
    for (let i = 0; i < 200_000; i++) {
      const next: unknown[] = [];
      deep.push(next);
      deep = next;
    }
    assert.throws(() => encodeValue(root), TaskSerializationError);
  });
});

describe("codec: bytes", () => {
  it("a plain JSON value is marked untagged and decoded with JSON.parse alone", () => {
    const plain = encodeValue({ a: [1, 2] });
    assert.equal(plain[0], 0);
    const tagged = encodeValue({ a: new Date(0) });
    assert.equal(tagged[0], 1);
  });

  it("encodeValueInto appends, and leaves the sink as it was on failure", () => {
    let bytes = new Uint8Array(4);
    let length = 0;
    const sink: ByteSink = {
      get length() {
        return length;
      },
      room(needed: number): Uint8Array {
        if (bytes.length - length < needed) {
          const grown = new Uint8Array(length + needed);
          grown.set(bytes.subarray(0, length));
          bytes = grown;
        }
        return bytes;
      },
      advance(count: number): void {
        length += count;
      },
    };
    encodeValueInto("first", sink);
    const firstLength = length;
    assert.throws(() => encodeValueInto({ bad: () => 1 }, sink), TaskSerializationError);
    assert.equal(length, firstLength);
    encodeValueInto(new Set([2]), sink);
    assert.equal(decodeValue(bytes.subarray(0, firstLength)), "first");
    assert.deepEqual(decodeValue(bytes.subarray(firstLength, length)), new Set([2]));
  });

  it("decoded values do not keep the message's memory", () => {
    const bytes = encodeValue({ data: Uint8Array.of(1, 2, 3), text: "x".repeat(100_000) });
    const back = decodeValue(bytes) as { data: Uint8Array };
    assert.notEqual(back.data.buffer, bytes.buffer);
    assert.equal(back.data.buffer.byteLength, 3);
    bytes.fill(0);
    assert.deepEqual([...back.data], [1, 2, 3]);
  });
});

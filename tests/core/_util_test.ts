import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { isError, isThenable, messageOf, safeString } from "../../src/core/_util.ts";

describe("isThenable", () => {
  it("is true for promises and for any object or function with a then method", () => {
    assert.equal(isThenable(Promise.resolve(1)), true);
    assert.equal(isThenable({ then() {} }), true);
    const callable = Object.assign(() => 1, { then() {} });
    assert.equal(isThenable(callable), true);
  });

  it("is false for values without a then method, and for null and primitives", () => {
    assert.equal(isThenable({ then: 1 }), false);
    assert.equal(isThenable(() => 1), false);
    assert.equal(isThenable(null), false);
    assert.equal(isThenable(undefined), false);
    assert.equal(isThenable("then"), false);
  });
});

describe("isError", () => {
  it("is true for Errors and for objects that are Errors to Object.prototype.toString", () => {
    assert.equal(isError(new TypeError("x")), true);
    // What an Error made in another realm looks like: not instanceof, but tagged Error.
    const foreign = { [Symbol.toStringTag]: "Error", message: "x" };
    assert.equal(foreign instanceof Error, false);
    assert.equal(isError(foreign), true);
  });

  it("is false for other values", () => {
    assert.equal(isError({ message: "x", name: "Error" }), false);
    assert.equal(isError("Error: x"), false);
    assert.equal(isError(null), false);
  });
});

describe("safeString", () => {
  it("is String(value) when that works", () => {
    assert.equal(safeString(42), "42");
    assert.equal(safeString(null), "null");
    assert.equal(safeString({ toString: () => "custom" }), "custom");
  });

  it("does not throw for a value String() rejects", () => {
    assert.equal(safeString(Object.create(null)), "[object Object]");
    assert.equal(safeString(Symbol("s")), "Symbol(s)");
    const hostile = {
      toString() {
        throw new Error("no");
      },
    };
    assert.equal(safeString(hostile), "[object Object]");
  });
});

describe("messageOf", () => {
  it("is an Error's message, or the value as text", () => {
    assert.equal(messageOf(new RangeError("out of range")), "out of range");
    assert.equal(messageOf("plain"), "plain");
    assert.equal(messageOf(7), "7");
  });
});

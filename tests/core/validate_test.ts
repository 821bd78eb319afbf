import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  checkArray,
  checkBoolean,
  checkChoice,
  checkFinite,
  checkFunction,
  checkInteger,
  checkKnownNames,
  checkNonNegative,
  checkOptionsObject,
  checkPositive,
  checkString,
  describeValue,
  invalidMessage,
} from "../../src/core/validate.ts";

type ErrorClass = typeof TypeError | typeof RangeError;

/** Asserts `fn` throws exactly `kind` (not a subclass) with exactly `message`. */
function throwsExactly(fn: () => unknown, kind: ErrorClass, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as Error)?.constructor, kind, `expected ${kind.name}, got ${error}`);
    assert.equal((error as Error).message, message);
    return true;
  });
}

const ACTION = "do things";

function message(name: string, requirement: string, shown: string): string {
  return `Cannot ${ACTION} as '${name}' must be ${requirement}: current value is ${shown}`;
}

describe("describeValue", () => {
  it("quotes strings", () => {
    assert.equal(describeValue("abc"), "'abc'");
    assert.equal(describeValue(""), "''");
  });

  it("shows numbers as JavaScript prints them", () => {
    assert.equal(describeValue(42), "42");
    assert.equal(describeValue(-1.5), "-1.5");
    assert.equal(describeValue(Number.NaN), "NaN");
    assert.equal(describeValue(Infinity), "Infinity");
    assert.equal(describeValue(-Infinity), "-Infinity");
    assert.equal(describeValue(1e21), "1e+21");
  });

  it("marks bigints with n", () => {
    assert.equal(describeValue(10n), "10n");
    assert.equal(describeValue(-3n), "-3n");
  });

  it("shows booleans, null and undefined by name", () => {
    assert.equal(describeValue(true), "true");
    assert.equal(describeValue(false), "false");
    assert.equal(describeValue(null), "null");
    assert.equal(describeValue(undefined), "undefined");
  });

  it("names functions, and says when they have no name", () => {
    function namedThing(): void {}
    assert.equal(describeValue(namedThing), "function namedThing");
    assert.equal(describeValue(class Widget {}), "function Widget");
    const anonymous = (): number => 1;
    // Set the name explicitly: transpilers differ in what they infer for inline arrows.
    Object.defineProperty(anonymous, "name", { value: "" });
    assert.equal(describeValue(anonymous), "function (anonymous)");
  });

  it("shows symbols with their description", () => {
    assert.equal(describeValue(Symbol("tag")), "Symbol(tag)");
    assert.equal(describeValue(Symbol()), "Symbol()");
  });

  it("shows a valid Date as its ISO time", () => {
    assert.equal(describeValue(new Date(0)), "Date(1970-01-01T00:00:00.000Z)");
    assert.equal(
      describeValue(new Date("2030-05-06T07:08:09.010Z")),
      "Date(2030-05-06T07:08:09.010Z)",
    );
  });

  it("shows an invalid Date as Date(invalid), without throwing", () => {
    assert.equal(describeValue(new Date(Number.NaN)), "Date(invalid)");
  });

  it("shows arrays by length", () => {
    assert.equal(describeValue([]), "array(0)");
    assert.equal(describeValue([1, "a", null]), "array(3)");
  });

  it("calls plain and prototype-less objects 'an object'", () => {
    assert.equal(describeValue({}), "an object");
    assert.equal(describeValue({ a: 1 }), "an object");
    assert.equal(describeValue(Object.create(null)), "an object");
  });

  it("names class instances by their constructor", () => {
    class Widget {}
    assert.equal(describeValue(new Widget()), "a Widget");
    assert.equal(describeValue(new Map()), "a Map");
    assert.equal(describeValue(new Set([1])), "a Set");
    assert.equal(describeValue(Promise.resolve(1)), "a Promise");
  });

  it("uses 'an' before a constructor name that starts with a vowel", () => {
    assert.equal(describeValue(new Error("x")), "an Error");
    assert.equal(describeValue(new ArrayBuffer(1)), "an ArrayBuffer");
    assert.equal(describeValue(new Uint8Array(1)), "a Uint8Array");
  });

  it("does not trust an object's own odd 'constructor' field", () => {
    assert.equal(describeValue({ constructor: "x" }), "an object");
    assert.equal(describeValue({ constructor: null }), "an object");
  });
});

describe("invalidMessage", () => {
  it("builds the house form", () => {
    assert.equal(
      invalidMessage("submit task", "retries", "a non-negative integer", -1),
      "Cannot submit task as 'retries' must be a non-negative integer: current value is -1",
    );
    assert.equal(
      invalidMessage("create queue", "mode", "one of 'a' or 'b'", "c"),
      "Cannot create queue as 'mode' must be one of 'a' or 'b': current value is 'c'",
    );
  });
});

describe("checkFinite", () => {
  it("returns a finite number", () => {
    for (const value of [0, -0, 1.5, -1e300, Number.MAX_VALUE]) {
      assert.equal(checkFinite(ACTION, "x", value), value);
    }
  });

  it("rejects a non-number with a TypeError", () => {
    for (const [value, shown] of [["1", "'1'"], [null, "null"], [undefined, "undefined"]]) {
      throwsExactly(
        () => checkFinite(ACTION, "x", value),
        TypeError,
        message("x", "a finite number", shown as string),
      );
    }
  });

  it("rejects NaN and ±Infinity with a RangeError", () => {
    for (const value of [Number.NaN, Infinity, -Infinity]) {
      throwsExactly(
        () => checkFinite(ACTION, "x", value),
        RangeError,
        message("x", "a finite number", String(value)),
      );
    }
  });
});

describe("checkPositive", () => {
  it("returns a finite number above 0", () => {
    for (const value of [Number.MIN_VALUE, 0.001, 1, 1e9]) {
      assert.equal(checkPositive(ACTION, "x", value), value);
    }
  });

  it("rejects 0, negatives, NaN and Infinity with a RangeError", () => {
    for (const value of [0, -0, -1, Number.NaN, Infinity, -Infinity]) {
      throwsExactly(
        () => checkPositive(ACTION, "x", value),
        RangeError,
        message("x", "a positive number", String(value)),
      );
    }
  });

  it("rejects a non-number with a TypeError", () => {
    throwsExactly(
      () => checkPositive(ACTION, "x", "5"),
      TypeError,
      message("x", "a positive number", "'5'"),
    );
    throwsExactly(
      () => checkPositive(ACTION, "x", 5n),
      TypeError,
      message("x", "a positive number", "5n"),
    );
  });
});

describe("checkNonNegative", () => {
  it("returns 0 and finite numbers above it", () => {
    for (const value of [0, 0.5, 100]) {
      assert.equal(checkNonNegative(ACTION, "x", value), value);
    }
  });

  it("rejects negatives, NaN and Infinity with a RangeError", () => {
    for (const value of [-1, -0.001, Number.NaN, Infinity, -Infinity]) {
      throwsExactly(
        () => checkNonNegative(ACTION, "x", value),
        RangeError,
        message("x", "a non-negative number", String(value)),
      );
    }
  });

  it("accepts Infinity only when allowed, and never NaN or -Infinity", () => {
    assert.equal(checkNonNegative(ACTION, "x", Infinity, true), Infinity);
    assert.equal(checkNonNegative(ACTION, "x", 3, true), 3);
    for (const value of [Number.NaN, -Infinity, -1]) {
      throwsExactly(
        () => checkNonNegative(ACTION, "x", value, true),
        RangeError,
        message("x", "a non-negative number", String(value)),
      );
    }
  });

  it("rejects a non-number with a TypeError", () => {
    throwsExactly(
      () => checkNonNegative(ACTION, "x", false),
      TypeError,
      message("x", "a non-negative number", "false"),
    );
  });
});

describe("checkInteger", () => {
  it("returns an integer at or above the minimum", () => {
    assert.equal(checkInteger(ACTION, "x", 0, 0), 0);
    assert.equal(checkInteger(ACTION, "x", 7, 0), 7);
    assert.equal(checkInteger(ACTION, "x", 1, 1), 1);
    assert.equal(checkInteger(ACTION, "x", 5, 5), 5);
    assert.equal(checkInteger(ACTION, "x", 2.0, 1), 2);
  });

  it("names the requirement after the minimum", () => {
    throwsExactly(
      () => checkInteger(ACTION, "x", 0, 1),
      RangeError,
      message("x", "a positive integer", "0"),
    );
    throwsExactly(
      () => checkInteger(ACTION, "x", -1, 0),
      RangeError,
      message("x", "a non-negative integer", "-1"),
    );
    throwsExactly(
      () => checkInteger(ACTION, "x", 2, 3),
      RangeError,
      message("x", "an integer >= 3", "2"),
    );
    throwsExactly(
      () => checkInteger(ACTION, "x", -5, -2),
      RangeError,
      message("x", "an integer >= -2", "-5"),
    );
  });

  it("rejects fractions, NaN and Infinity with a RangeError", () => {
    for (const value of [1.5, Number.NaN, Infinity, -Infinity]) {
      throwsExactly(
        () => checkInteger(ACTION, "x", value, 0),
        RangeError,
        message("x", "a non-negative integer", String(value)),
      );
    }
  });

  it("rejects a non-number with a TypeError", () => {
    for (const [value, shown] of [["2", "'2'"], [2n, "2n"], [null, "null"], [[2], "array(1)"]]) {
      throwsExactly(
        () => checkInteger(ACTION, "x", value, 1),
        TypeError,
        message("x", "a positive integer", shown as string),
      );
    }
  });
});

describe("checkBoolean", () => {
  it("returns true and false", () => {
    assert.equal(checkBoolean(ACTION, "flag", true), true);
    assert.equal(checkBoolean(ACTION, "flag", false), false);
  });

  it("rejects truthy and falsy non-booleans with a TypeError", () => {
    for (const [value, shown] of [[1, "1"], [0, "0"], ["true", "'true'"], [null, "null"]]) {
      throwsExactly(
        () => checkBoolean(ACTION, "flag", value),
        TypeError,
        message("flag", "a boolean", shown as string),
      );
    }
  });
});

describe("checkString", () => {
  it("returns a string, the empty one too", () => {
    assert.equal(checkString(ACTION, "name", "abc"), "abc");
    assert.equal(checkString(ACTION, "name", ""), "");
  });

  it("rejects anything else with a TypeError", () => {
    for (const [value, shown] of [[5, "5"], [undefined, "undefined"], [{}, "an object"]]) {
      throwsExactly(
        () => checkString(ACTION, "name", value),
        TypeError,
        message("name", "a string", shown as string),
      );
    }
  });
});

describe("checkFunction", () => {
  it("returns the function itself, async and class constructors included", () => {
    const fn = (): number => 1;
    const asyncFn = async (): Promise<number> => 1;
    assert.equal(checkFunction(ACTION, "hook", fn), fn);
    assert.equal(checkFunction(ACTION, "hook", asyncFn), asyncFn);
    assert.equal(checkFunction(ACTION, "hook", Map), Map);
  });

  it("rejects anything else with a TypeError", () => {
    for (const [value, shown] of [["fn", "'fn'"], [null, "null"], [new Map(), "a Map"]]) {
      throwsExactly(
        () => checkFunction(ACTION, "hook", value),
        TypeError,
        message("hook", "a function", shown as string),
      );
    }
  });
});

describe("checkChoice", () => {
  const choices = ["red", "green", "blue"] as const;

  it("returns a listed choice", () => {
    for (const choice of choices) {
      assert.equal(checkChoice(ACTION, "color", choice, choices), choice);
    }
  });

  it("rejects an unlisted string with a RangeError listing the choices", () => {
    throwsExactly(
      () => checkChoice(ACTION, "color", "Red", choices),
      RangeError,
      message("color", "one of 'red' or 'green' or 'blue'", "'Red'"),
    );
    throwsExactly(
      () => checkChoice(ACTION, "color", "", choices),
      RangeError,
      message("color", "one of 'red' or 'green' or 'blue'", "''"),
    );
  });

  it("rejects a non-string with a TypeError", () => {
    throwsExactly(
      () => checkChoice(ACTION, "color", 1, choices),
      TypeError,
      message("color", "one of 'red' or 'green' or 'blue'", "1"),
    );
    throwsExactly(
      () => checkChoice(ACTION, "color", undefined, ["only"]),
      TypeError,
      message("color", "one of 'only'", "undefined"),
    );
  });
});

describe("checkArray", () => {
  it("returns the array itself", () => {
    const value = [1, 2];
    assert.equal(checkArray(ACTION, "list", value), value);
    assert.deepEqual(checkArray(ACTION, "list", []), []);
  });

  it("rejects array-likes and iterables with a TypeError", () => {
    const cases: [unknown, string][] = [
      [{ length: 0 }, "an object"],
      [new Set([1]), "a Set"],
      ["ab", "'ab'"],
      [new Uint8Array(2), "a Uint8Array"],
    ];
    for (const [value, shown] of cases) {
      throwsExactly(
        () => checkArray(ACTION, "list", value),
        TypeError,
        message("list", "an array", shown),
      );
    }
  });
});

describe("checkOptionsObject", () => {
  it("gives an empty object for undefined", () => {
    assert.deepEqual(checkOptionsObject(ACTION, "options", undefined), {});
  });

  it("returns the very object given (a class instance too)", () => {
    const options = { a: 1 };
    assert.equal(checkOptionsObject(ACTION, "options", options), options);
    const bare = Object.create(null);
    assert.equal(checkOptionsObject(ACTION, "options", bare), bare);
  });

  it("rejects null, primitives, arrays and functions with a TypeError", () => {
    const fn = function helper(): void {};
    const cases: [unknown, string][] = [
      [null, "null"],
      [3, "3"],
      ["x", "'x'"],
      [true, "true"],
      [[], "array(0)"],
      [fn, "function helper"],
    ];
    for (const [value, shown] of cases) {
      throwsExactly(
        () => checkOptionsObject(ACTION, "options", value),
        TypeError,
        message("options", "an object", shown),
      );
    }
  });
});

describe("checkKnownNames", () => {
  const known = new Set(["alpha", "beta"]);

  it("accepts known names and an empty object", () => {
    checkKnownNames("thing", { alpha: 1, beta: undefined }, known);
    checkKnownNames("thing", {}, known);
  });

  it("names every unknown option, sorted, in a TypeError", () => {
    throwsExactly(
      () => checkKnownNames("thing", { zulu: 1, alpha: 2, echo: 3, bravo: 4 }, known),
      TypeError,
      "Unknown thing option(s): bravo, echo, zulu",
    );
  });

  it("counts an unknown name even when its value is undefined", () => {
    throwsExactly(
      () => checkKnownNames("thing", { gamma: undefined }, known),
      TypeError,
      "Unknown thing option(s): gamma",
    );
  });
});

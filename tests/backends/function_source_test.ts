import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpus } from "node:os";

import { TaskSerializationError } from "../../src/core/errors.ts";
import { reviveFunction } from "../../src/core/task_reference.ts";
import { analyzeFunction, functionSource } from "../../src/backends/function_source.ts";

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => any;

/** Sends `fn` through source and back, as a worker would receive it. */
function roundTrip<F extends AnyFunction>(fn: F): F {
  return reviveFunction(functionSource(fn, "t")) as F;
}

/** The free variables found in `fn`. */
function freeIn(fn: AnyFunction): readonly string[] {
  return analyzeFunction(fn).freeVariables;
}

/**
 * Hides a value from Bun's transpiler, which inlines a local `const` holding a
 * primitive into the closures that read it (the closure is then truly
 * self-contained); the free-variable cases need a real captured variable.
 */
function opaque<T>(value: T): T {
  return value;
}

/**
 * A function whose `toString()` is exactly `text` (code made by eval keeps its
 * text), to test the tokenizer on forms the runtimes' transpilers would rewrite.
 */
function fromText(text: string): AnyFunction {
  return reviveFunction(text) as AnyFunction;
}

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

async function delayedSquare(n: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return n * n;
}

class Calculator {
  static half(a: number): number {
    return a / 2;
  }
  twice(a: number): number {
    return a * 2;
  }
  get answer(): number {
    return 42;
  }
  async later(a: number): Promise<number> {
    return await Promise.resolve(a + 1);
  }
}

describe("functionSource round trips", () => {
  it("arrows, with and without parentheses, sync and async", async () => {
    assert.equal(roundTrip((a: number, b: number) => a + b)(2, 3), 5);
    const inc: (x: number) => number = (x) => x + 1;
    assert.equal(roundTrip(inc)(1), 2);
    assert.equal(roundTrip(fromText("x => x * 2"))(4), 8);
    assert.equal(await roundTrip(async (x: number) => await Promise.resolve(x + 1))(1), 2);
    assert.equal(await roundTrip(fromText("async x => x * 3"))(2), 6);
    assert.equal(roundTrip(fromText("async => async + 1"))(1), 2);
  });

  it("function expressions and declarations, recursive by their own name", async () => {
    const factorial = function fact(n: number): number {
      return n <= 1 ? 1 : n * fact(n - 1);
    };
    assert.equal(roundTrip(factorial)(5), 120);
    assert.equal(roundTrip(fibonacci)(10), 55);
    assert.equal(await roundTrip(delayedSquare)(7), 49);
  });

  it("method shorthand, async methods and methods with awkward names", async () => {
    const key = "computed";
    const object = {
      triple(a: number): number {
        return a * 3;
      },
      async quadruple(a: number): Promise<number> {
        return await Promise.resolve(a * 4);
      },
      "with-dash"(a: number): number {
        return -a;
      },
      [key](a: number): number {
        return a + 100;
      },
      delete(a: number): number {
        return a;
      },
      async(a: number): number {
        return a - 1;
      },
      get(a: number): number {
        return a + 1;
      },
      // The rebuilt function must not be named after the method, or this would recurse.
      parseInt(text: string): number {
        return parseInt(text, 10) + 1;
      },
    };
    assert.equal(roundTrip(object.triple)(2), 6);
    assert.equal(await roundTrip(object.quadruple)(2), 8);
    assert.equal(roundTrip(object["with-dash"])(2), -2);
    assert.equal(roundTrip(object[key])(2), 102);
    assert.equal(roundTrip(object.delete)(2), 2);
    assert.equal(roundTrip(object.async)(2), 1);
    assert.equal(roundTrip(object.get)(2), 3);
    assert.equal(roundTrip(object.parseInt)("41"), 42);
  });

  it("class methods, static methods and getters", async () => {
    assert.equal(roundTrip(Calculator.half)(8), 4);
    assert.equal(roundTrip(Calculator.prototype.twice)(8), 16);
    assert.equal(await roundTrip(Calculator.prototype.later)(8), 9);
    const getter = Object.getOwnPropertyDescriptor(Calculator.prototype, "answer")?.get;
    assert.equal(roundTrip(getter as AnyFunction)(), 42);
  });

  it("destructuring, defaults and rest parameters", () => {
    const fn = (
      { a, b: [c, d = 4] }: { a: number; b: number[] },
      scale = 1,
      ...rest: number[]
    ) => (a + c + d + rest.length) * scale;
    assert.equal(roundTrip(fn)({ a: 1, b: [2] }, 2, 9, 9), 18);
  });

  it("rebuilds in strict mode, as module code runs", () => {
    assert.equal(roundTrip(fromText("function () { return this; }"))(), undefined);
  });
});

describe("functionSource refusals", () => {
  it("names every free variable, sorted, with the house message", () => {
    const factor = opaque(3);
    assert.throws(() => functionSource((x: number) => x * factor, "scale"), {
      name: "TaskSerializationError",
      message:
        "task 'scale' uses 'factor' from its surroundings; a function sent to a worker must be self-contained — put it in a module and use taskModule()",
    });
    const zeta = opaque(1);
    const alpha = opaque(2);
    assert.throws(
      () => functionSource((x: number) => zeta + alpha + x + zeta),
      (error: unknown) =>
        error instanceof TaskSerializationError &&
        error.message.startsWith("task 'anonymous' uses 'alpha', 'zeta' from its surroundings;"),
    );
  });

  it("native and bound functions", () => {
    assert.throws(() => functionSource(Math.max, "max"), {
      name: "TaskSerializationError",
      message: /^task 'max' is a native or bound function/,
    });
    assert.equal(analyzeFunction(fibonacci.bind(null)).problem, "native");
  });

  it("classes and generators", () => {
    assert.throws(() => functionSource(Calculator as unknown as AnyFunction, "Calculator"), {
      name: "TaskSerializationError",
      message: "task 'Calculator' is a class, not a function; a task must be a function",
    });
    assert.equal(analyzeFunction(fromText("class {}")).problem, "class");
    assert.equal(analyzeFunction(function* numbers() {}).problem, "generator");
    assert.equal(analyzeFunction(async function* numbers() {}).problem, "generator");
    assert.equal(analyzeFunction({ *numbers() {} }.numbers).problem, "generator");
    assert.equal(analyzeFunction({ async *numbers() {} }.numbers).problem, "generator");
  });

  it("a class method using `super` or a private member of its class", () => {
    class Base {
      greet(): string {
        return "base";
      }
    }
    class Derived extends Base {
      #secret = 1;
      override greet(): string {
        return super.greet() + "!";
      }
      reveal(): number {
        return this.#secret;
      }
    }
    assert.deepEqual(freeIn(Derived.prototype.greet), ["super"]);
    assert.deepEqual(freeIn(Derived.prototype.reveal), ["#secret"]);
  });

  it("`import.meta`, which a rebuilt function cannot have", () => {
    assert.equal(analyzeFunction(() => import.meta.url).problem, "unsupported");
  });

  it("a value that is not a function", () => {
    assert.throws(() => functionSource(42 as unknown as AnyFunction, "x"), TypeError);
  });
});

// Module-level names for the free-variable cases below.
const prefix = opaque("item");
const base = opaque(10);
function helper(): number {
  return 1;
}

describe("free variables: found", () => {
  it("a closure over a const, a function or an imported binding", () => {
    const limit = opaque(5);
    assert.deepEqual(freeIn((x: number) => Math.min(x, limit)), ["limit"]);
    assert.deepEqual(freeIn(() => helper() + 1), ["helper"]);
    assert.deepEqual(freeIn(() => cpus().length), ["cpus"]);
  });

  it("shorthand properties and spreads", () => {
    const limit = opaque(5);
    const other = opaque(6);
    assert.deepEqual(freeIn(() => ({ limit })), ["limit"]);
    assert.deepEqual(freeIn(() => ({ limit, other, fixed: 1 })), ["limit", "other"]);
    const defaults = { size: 1 };
    assert.deepEqual(freeIn(() => ({ ...defaults, size: 2 })), ["defaults"]);
  });

  it("template-literal expressions", () => {
    assert.deepEqual(freeIn((n: number) => `${prefix}-${n}`), ["prefix"]);
    assert.deepEqual(freeIn((n: number) => `a ${`nested ${base}`} ${n}`), ["base"]);
  });

  it("a default parameter referencing an outer value", () => {
    assert.deepEqual(freeIn((x = base) => x), ["base"]);
  });

  it("ternary branches, case tests, computed keys and nested functions", () => {
    const yes = opaque(1);
    const no = opaque(2);
    assert.deepEqual(freeIn((c: boolean) => c ? yes : no), ["no", "yes"]);
    assert.deepEqual(freeIn((c: boolean) => ({ pick: c ? yes : no })), ["no", "yes"]);
    assert.deepEqual(
      freeIn((c: boolean) => {
        return c ? yes : no;
      }),
      ["no", "yes"],
    );
    assert.deepEqual(
      freeIn((x: number) => {
        switch (x) {
          case base:
            return 1;
          default:
            return 0;
        }
      }),
      ["base"],
    );
    assert.deepEqual(freeIn(() => ({ [prefix]: 1 })), ["prefix"]);
    assert.deepEqual(
      freeIn(() => {
        function inner(): number {
          return base;
        }
        return inner();
      }),
      ["base"],
    );
  });

  it("writes, division and ambiguous globals such as `name`", () => {
    let counter = 0;
    assert.deepEqual(freeIn(() => counter++), ["counter"]);
    assert.deepEqual(freeIn((a: number) => a / base / 2), ["base"]);
    assert.deepEqual(freeIn(fromText("() => name + 1")), ["name"]);
    assert.equal(counter, 0);
  });

  it("a local const primitive: flagged, or inlined by the transpiler (Bun) and then sendable", () => {
    const factor = 3;
    const scale = (x: number) => x * factor;
    const analysis = analyzeFunction(scale);
    if (analysis.problem === null) assert.equal(roundTrip(scale)(2), 6);
    else assert.deepEqual(analysis.freeVariables, ["factor"]);
  });

  it("a base class from outside", () => {
    assert.deepEqual(
      freeIn(fromText("() => class extends mixin(Base) { m() { return super.m(); } }")),
      ["Base", "mixin"],
    );
    assert.deepEqual(freeIn(fromText("() => { class Local extends Remote {} return Local; }")), [
      "Remote",
    ]);
  });
});

describe("free variables: not found", () => {
  it("worker globals", () => {
    const fn = () => [
      Math.PI,
      JSON.stringify({}),
      typeof console,
      typeof fetch,
      typeof setTimeout,
      typeof structuredClone,
      typeof crypto,
      new URL("https://example.com").host,
      typeof globalThis,
      Number.NaN,
      undefined,
    ];
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)()[0], Math.PI);
  });

  it("property access and object keys", () => {
    const fn = (o: { factor: number; limit?: number; deep: { prefix: string } }) => ({
      factor: o.factor,
      limit: o?.limit,
      prefix: o.deep.prefix,
      "base": 1,
      2: 3,
      helper() {
        return 1;
      },
      get counter() {
        return 2;
      },
    });
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)({ factor: 1, deep: { prefix: "p" } }).prefix, "p");
  });

  it("locals, nested functions and their parameters", () => {
    const fn = (xs: number[]) => {
      let total = 0;
      // deno-lint-ignore no-var
      var count = 0;
      const scale = 2, offset = 1;
      function add(value: number): void {
        total += value * scale + offset;
        count++;
      }
      xs.map((item, index) => item * index).filter(function keep(v) {
        return v >= 0;
      }).forEach(add);
      return [total, count];
    };
    assert.deepEqual(freeIn(fn), []);
    assert.deepEqual(roundTrip(fn)([1, 2, 3]), [19, 3]);
  });

  it("declarations without semicolons", () => {
    const fn = fromText(
      "(x) => {\n  const a = 1\n  let b = a + 1, c = 2\n  const d = 3\n  return a + b + c + d + x\n}",
    );
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)(1), 9);
  });

  it("destructuring in parameters, declarations and loops", () => {
    const fn = (
      { a, b: { c }, d: [e, ...f] }: { a: number; b: { c: number }; d: number[] },
    ) => {
      const { g = 1, h: i } = { h: 2 } as { g?: number; h: number };
      const [j, , k = 3] = [1];
      let sum = 0;
      for (const [key, value] of Object.entries({ x: 1 })) sum += key.length + value;
      for (const property in { y: 1 }) sum += property.length;
      return a + c + e + f.length + g + i + j + k + sum;
    };
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)({ a: 1, b: { c: 1 }, d: [1, 1] }), 14);
  });

  it("catch parameters, plain and destructured", () => {
    const fn = () => {
      try {
        throw new Error("first");
      } catch (err) {
        try {
          throw new Error((err as Error).message + " second");
          // deno-lint-ignore no-explicit-any
        } catch ({ message }: any) {
          return message;
        }
      }
    };
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)(), "first second");
  });

  it("identifiers inside strings, comments, regular expressions and template text", () => {
    const fn = fromText(
      "() => {\n  // uses factor\n  /* and limit */\n  const re = /prefix\\/base[/]/g;\n" +
        "  return 'factor' + \"limit\" + re.source + `text prefix ${'x'} base` + (4 / 2);\n}",
    );
    assert.deepEqual(freeIn(fn), []);
    assert.equal(roundTrip(fn)(), "factorlimitprefix\\/base[/]text prefix x base2");
  });

  it("labels, this, arguments and classes declared inside", () => {
    const loops = fromText(
      "function () { let n = 0; outer: for (const a of [1, 2]) { inner: for (const b of [1, 2]) { if (b > a) continue outer; n++; if (n > 9) break inner; } } return [n, arguments.length, this]; }",
    );
    assert.deepEqual(freeIn(loops), []);
    assert.deepEqual(roundTrip(loops)(0, 0), [3, 2, undefined]);
    const withClass = fromText(
      "() => { class Point extends Object { #x = 1; static origin = 0\n y = 2; get x() { return this.#x + super.toString.length; } static { Point.origin = 5; } } return new Point().x + Point.origin; }",
    );
    assert.deepEqual(freeIn(withClass), []);
    assert.equal(roundTrip(withClass)(), 6);
  });
});

describe("analysis cache", () => {
  it("returns the same frozen analysis for the same function", () => {
    const fn = (a: number) => a * 2;
    const first = analyzeFunction(fn);
    assert.equal(analyzeFunction(fn), first);
    assert.ok(Object.isFrozen(first));
    assert.ok(Object.isFrozen(first.freeVariables));
    assert.equal(functionSource(fn, "a"), functionSource(fn, "b"));
  });

  it("keeps a function's analysis after many other sources went through", () => {
    const fn = (a: number) => a * 3;
    const first = analyzeFunction(fn);
    for (let i = 0; i < 1500; i++) analyzeFunction(fromText(`(a) => a + ${i}`));
    assert.equal(analyzeFunction(fn), first);
  });

  it("shares the analysis between closures with the same source", () => {
    const make = () => (a: number) => a + 1;
    const one = make();
    const two = make();
    assert.notEqual(one, two);
    assert.equal(analyzeFunction(one), analyzeFunction(two));
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { AsyncQueue } from "../../src/backends/async_queue.ts";
import { argListsOf, isIterable, iterableToArray } from "../../src/core/submission.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";

describe("isIterable", () => {
  it("is true for arrays, sets and generators, false for strings and non-iterables", () => {
    function* numbers() {
      yield 1;
    }
    assert.equal(isIterable([1]), true);
    assert.equal(isIterable(new Set([1])), true);
    assert.equal(isIterable(numbers()), true);
    assert.equal(isIterable("abc"), false);
    assert.equal(isIterable({ length: 1, 0: "a" }), false);
    assert.equal(isIterable(null), false);
    assert.equal(isIterable(undefined), false);
  });
});

describe("iterableToArray", () => {
  it("returns an array itself and copies any other iterable", () => {
    const list = [1, 2];
    assert.equal(iterableToArray("map tasks", "items", list), list);
    assert.deepEqual(iterableToArray("map tasks", "items", new Set([3, 4])), [3, 4]);
  });

  it("names the action and the argument in its TypeError", () => {
    assert.throws(() => iterableToArray("map tasks", "items", 5 as never), {
      name: "TypeError",
      message: "Cannot map tasks as 'items' must be iterable: current value is number",
    });
  });
});

describe("argListsOf", () => {
  it("keeps argument lists that are arrays", () => {
    assert.deepEqual(argListsOf("starmap tasks", [[1, 2], []]), [[1, 2], []]);
  });

  it("names the first element that is not an array", () => {
    assert.throws(() => argListsOf("starmap tasks", [[1], 2 as never]), {
      name: "TypeError",
      message: "Cannot starmap tasks as 'argLists[1]' must be an array: current value is number",
    });
  });
});

describe("bound tasks", () => {
  useLeakCheck();

  it("starmap and group keep the bound options under per-call overrides", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const add = q.task((a: number, b: number) => a + b, {
        priority: 5,
        metadata: "bound",
        mustComplete: true,
      });
      const pairs = add.starmap([[1, 2], [3, 4]], { priority: 1 });
      const group = q.task((n: number) => n * 10, { metadata: "bound" }).group([1, 2], {
        groupId: "tens",
      });
      assert.deepEqual(pairs.map((h) => [h.priority, h.metadata, h.mustComplete]), [
        [1, "bound", true],
        [1, "bound", true],
      ]);
      assert.equal(group.groupId, "tens");
      assert.deepEqual(group.handles.map((h) => [h.groupId, h.metadata]), [
        ["tens", "bound"],
        ["tens", "bound"],
      ]);
      await q.run();
      assert.deepEqual(pairs.map((h) => h.value()), [3, 7]);
      assert.deepEqual(await group.values(), [10, 20]);
    });
  });

  it("a group of a bound task without a groupId is numbered like any other group", async () => {
    await withQueue(() => new AsyncQueue(), async (q) => {
      const first = q.group((n: number) => n, [1]);
      const second = q.task((n: number) => n).group([2]);
      assert.equal(first.groupId, "group-0");
      assert.equal(second.groupId, "group-1");
      await q.run();
    });
  });

  it("checks per-call overrides before the items", async () => {
    await withQueue(() => new AsyncQueue(), (q) => {
      const double = q.task((n: number) => n * 2);
      assert.throws(() => double.map(5 as never, { priority: "high" } as never), {
        name: "TypeError",
        message:
          "Cannot submit task as 'priority' must be a finite number: current value is 'high'",
      });
      assert.throws(() => double.starmap([1] as never), {
        name: "TypeError",
        message: "Cannot starmap tasks as 'argLists[0]' must be an array: current value is number",
      });
      assert.equal(q.pendingCount, 0);
    });
  });
});

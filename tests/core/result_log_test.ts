import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { ResultLog } from "../../src/core/result_log.ts";

function logOf(count: number): ResultLog<number> {
  const log = new ResultLog<number>();
  for (let i = 0; i < count; i++) log.push(i);
  return log;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

describe("ResultLog", () => {
  it("is empty at first: length 0, at() undefined, slice() []", () => {
    const log = new ResultLog<number>();
    assert.equal(log.length, 0);
    assert.equal(log.at(0), undefined);
    assert.deepEqual(log.slice(), []);
    assert.deepEqual(log.slice(5), []);
  });

  it("reads back every entry in order across its chunks (3,000 entries)", () => {
    const log = logOf(3_000);
    assert.equal(log.length, 3_000);
    for (const i of [0, 1, 1_023, 1_024, 1_025, 2_047, 2_048, 2_999]) assert.equal(log.at(i), i);
    assert.equal(log.at(3_000), undefined);
    assert.equal(log.at(-1), undefined);
    assert.deepEqual(log.slice(), range(0, 3_000));
  });

  it("slices from any start: inside the first chunk, on a chunk edge, in the last, past the end", () => {
    const log = logOf(2_500);
    for (const start of [0, 7, 1_023, 1_024, 1_025, 2_048, 2_499, 2_500, 4_000]) {
      assert.deepEqual(log.slice(start), range(start, 2_500), `slice(${start})`);
    }
  });

  it("set() replaces one entry and nothing else; push() after it appends", () => {
    const log = logOf(1_030);
    log.set(1_024, -1);
    log.set(3, -3);
    log.push(1_030);
    const expected = range(0, 1_031);
    expected[1_024] = -1;
    expected[3] = -3;
    assert.deepEqual(log.slice(), expected);
  });

  it("a slice is a copy: changing the log later leaves it as it was", () => {
    const log = logOf(10);
    const copy = log.slice(2);
    log.set(2, 99);
    log.push(10);
    assert.deepEqual(copy, range(2, 10));
  });
});

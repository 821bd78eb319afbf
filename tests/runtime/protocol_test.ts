/**
 * Run packing: a run travels as a tuple and comes back whole.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { packRun, type RunMessage, unpackRun } from "../../src/runtime/protocol.ts";

describe("run packing", () => {
  it("round-trips a bound and an unbound run", () => {
    const bound: RunMessage = {
      call: 4,
      sourceId: 1,
      args: [1, "x"],
      bind: true,
      timed: false,
      taskId: "t",
      attempt: 2,
      name: "n",
    };
    assert.deepEqual(unpackRun(packRun(bound)), bound);
    const plain: RunMessage = {
      ...bound,
      bind: false,
      timed: true,
      taskId: "",
      attempt: 0,
      name: "",
    };
    assert.equal(packRun(plain).length, 4, "no context fields without bind");
    assert.deepEqual(unpackRun(packRun(plain)), plain);
  });
});

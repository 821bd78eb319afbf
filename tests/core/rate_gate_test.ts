import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { RateGate } from "../../src/core/rate_gate.ts";

/** `count` reservations all taken at time `now`; the waits they get. */
function reserveMany(gate: RateGate, now: number, count: number): number[] {
  return Array.from({ length: count }, () => gate.reserve(now));
}

describe("RateGate", () => {
  it("burst 1: the first attempt starts at once, then one every 1000/rate ms", () => {
    const gate = new RateGate(4, 1); // 250 ms apart
    assert.deepEqual(reserveMany(gate, 0, 4), [0, 250, 500, 750]);
  });

  it("burst n: n attempts start at once, the rest are spaced 1000/rate ms", () => {
    const gate = new RateGate(10, 3); // 100 ms apart
    assert.deepEqual(reserveMany(gate, 1_000, 6), [0, 0, 0, 100, 200, 300]);
  });

  it("the waits count from the time of each reservation", () => {
    const gate = new RateGate(10, 1);
    assert.equal(gate.reserve(0), 0); // starts at 0
    assert.equal(gate.reserve(30), 70); // starts at 100
    assert.equal(gate.reserve(100), 100); // starts at 200
    assert.equal(gate.reserve(350), 0); // the gate was idle since 300
    assert.equal(gate.reserve(350), 100); // starts at 450
  });

  it("a reservation that arrives on its slot waits 0", () => {
    const gate = new RateGate(2, 1); // 500 ms apart
    assert.equal(gate.reserve(0), 0);
    assert.equal(gate.reserve(500), 0);
    assert.equal(gate.reserve(1_000), 0);
    assert.equal(gate.reserve(1_000), 500);
  });

  it("an idle period refills the whole burst", () => {
    const gate = new RateGate(10, 3);
    assert.deepEqual(reserveMany(gate, 0, 5), [0, 0, 0, 100, 200]);
    // The last reservation started at 200; the gate is fully rested after 200 + 100 * 3.
    assert.deepEqual(reserveMany(gate, 10_000, 4), [0, 0, 0, 100]);
  });

  it("a short idle period refills part of the burst", () => {
    const gate = new RateGate(10, 3);
    assert.deepEqual(reserveMany(gate, 0, 5), [0, 0, 0, 100, 200]);
    // By 450 the gate has earned back part of its burst: two start at once,
    // then the 100 ms spacing resumes.
    assert.deepEqual(reserveMany(gate, 450, 4), [0, 0, 50, 150]);
  });

  it("never lets more than burst + elapsed * rate attempts start", () => {
    const rate = 7;
    const burst = 4;
    const gate = new RateGate(rate, burst);
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) {
      const now = i * 37; // reservations arrive every 37 ms, faster than the rate
      starts.push(now + gate.reserve(now));
    }
    for (let i = 0; i < starts.length; i++) {
      // Any window [starts[i], t] holds at most burst + (t - starts[i]) * rate / 1000 starts.
      for (let j = i; j < starts.length; j++) {
        const allowed = burst + ((starts[j] - starts[i]) * rate) / 1000;
        assert.ok(j - i + 1 <= allowed + 1e-9, `starts ${i}..${j} exceed the rate`);
      }
    }
    // Starts never go backwards.
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] >= starts[i - 1]);
  });

  it("supports fractional rates (one every 2 s at 0.5/s)", () => {
    const gate = new RateGate(0.5, 1);
    assert.deepEqual(reserveMany(gate, 0, 3), [0, 2_000, 4_000]);
  });

  it("supports high rates", () => {
    const gate = new RateGate(1_000, 2);
    assert.deepEqual(reserveMany(gate, 5, 5), [0, 0, 1, 2, 3]);
  });

  it("clear() forgets past reservations: a full burst is available at once", () => {
    const gate = new RateGate(1, 2);
    assert.deepEqual(reserveMany(gate, 0, 4), [0, 0, 1_000, 2_000]);
    gate.clear();
    assert.deepEqual(reserveMany(gate, 0, 3), [0, 0, 1_000]);
  });

  it("clear() on a fresh gate is harmless", () => {
    const gate = new RateGate(10, 1);
    gate.clear();
    assert.deepEqual(reserveMany(gate, 0, 2), [0, 100]);
  });

  it("works with the large epoch-aligned times the system clock gives", () => {
    const gate = new RateGate(10, 1);
    const now = 1_700_000_000_000;
    assert.deepEqual(reserveMany(gate, now, 3), [0, 100, 200]);
  });
});

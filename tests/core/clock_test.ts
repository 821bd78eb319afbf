import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { ManualClock, systemClock } from "../../src/core/clock.ts";
import { liveResources } from "../../src/core/resources.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { deferred, sleep, stopwatch } from "../helpers/timing.ts";

function liveTimers(): number {
  return liveResources().timers;
}

describe("systemClock", () => {
  useLeakCheck();

  it("now() is monotonic and aligned with the epoch", async () => {
    const a = systemClock.now();
    await sleep(5);
    const b = systemClock.now();
    assert.ok(b > a, `${b} > ${a}`);
    // Epoch-aligned: close to Date.now(), not a small process-relative number.
    assert.ok(Math.abs(systemClock.now() - Date.now()) < 1_000);
  });

  it("wallNow() is Date.now()", () => {
    const before = Date.now();
    const wall = systemClock.wallNow();
    const after = Date.now();
    assert.ok(before <= wall && wall <= after);
  });

  it("a timer fires once after its delay, and is counted while pending", async () => {
    const baseline = liveTimers();
    const fired = deferred<number>();
    let calls = 0;
    const elapsed = stopwatch();
    const timer = systemClock.setTimer(() => {
      calls++;
      fired.resolve(elapsed());
    }, 30);
    assert.equal(timer.pending, true);
    assert.equal(liveTimers(), baseline + 1);
    const at = await fired.promise;
    assert.ok(at >= 25, `fired after ${at}ms`);
    assert.equal(timer.pending, false);
    assert.equal(liveTimers(), baseline);
    await sleep(40);
    assert.equal(calls, 1);
  });

  it("timers fire in the order of their due times", async () => {
    const order: string[] = [];
    const done = deferred<void>();
    systemClock.setTimer(() => {
      order.push("late");
      done.resolve();
    }, 60);
    systemClock.setTimer(() => order.push("early"), 5);
    systemClock.setTimer(() => order.push("middle"), 30);
    await done.promise;
    assert.deepEqual(order, ["early", "middle", "late"]);
  });

  it("a negative delay fires as soon as possible", async () => {
    const fired = deferred<void>();
    const timer = systemClock.setTimer(() => fired.resolve(), -50);
    await fired.promise;
    assert.equal(timer.pending, false);
  });

  it("clearTimer() stops a pending timer and releases its count", async () => {
    const baseline = liveTimers();
    let calls = 0;
    const timer = systemClock.setTimer(() => calls++, 10);
    assert.equal(liveTimers(), baseline + 1);
    systemClock.clearTimer(timer);
    assert.equal(timer.pending, false);
    assert.equal(liveTimers(), baseline);
    await sleep(40);
    assert.equal(calls, 0);
  });

  it("clearTimer() twice, or after the timer fired, is harmless", async () => {
    const baseline = liveTimers();
    const timer = systemClock.setTimer(() => {}, 10);
    systemClock.clearTimer(timer);
    systemClock.clearTimer(timer);
    assert.equal(liveTimers(), baseline);

    const fired = deferred<void>();
    const other = systemClock.setTimer(() => fired.resolve(), 1);
    await fired.promise;
    systemClock.clearTimer(other);
    systemClock.clearTimer(other);
    assert.equal(liveTimers(), baseline);
  });

  it("counts many timers and releases every one", async () => {
    const baseline = liveTimers();
    const timers = Array.from({ length: 50 }, (_, i) => systemClock.setTimer(() => {}, i % 5));
    assert.equal(liveTimers(), baseline + 50);
    for (const timer of timers.slice(0, 20)) systemClock.clearTimer(timer);
    assert.equal(liveTimers(), baseline + 30);
    await sleep(30);
    assert.equal(liveTimers(), baseline);
    assert.ok(timers.every((timer) => !timer.pending));
  });
});

describe("ManualClock", () => {
  it("starts at the given times and does not move by itself", async () => {
    const clock = new ManualClock();
    assert.equal(clock.now(), 0);
    assert.equal(clock.wallNow(), 1_700_000_000_000);
    await sleep(5);
    assert.equal(clock.now(), 0);
    assert.equal(clock.wallNow(), 1_700_000_000_000);
  });

  it("starts at the given monotonic and wall times", () => {
    const clock = new ManualClock(5_000, 1_000_000);
    assert.equal(clock.now(), 5_000);
    assert.equal(clock.wallNow(), 1_000_000);
  });

  it("advance() moves now() and wallNow() together, to the exact target", async () => {
    const clock = new ManualClock(100, 2_000_000);
    const wallAtStart = clock.wallNow();
    await clock.advance(250);
    assert.equal(clock.now(), 350);
    assert.equal(clock.wallNow(), wallAtStart + 250);
    await clock.advance(0.5);
    assert.equal(clock.now(), 350.5);
    assert.equal(clock.wallNow(), wallAtStart + 250.5);
  });

  it("timers do not fire until time is advanced past them", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const timer = clock.setTimer(() => calls++, 100);
    await sleep(5);
    assert.equal(calls, 0);
    await clock.advance(99);
    assert.equal(calls, 0);
    assert.equal(timer.pending, true);
    await clock.advance(1);
    assert.equal(calls, 1);
    assert.equal(timer.pending, false);
    await clock.advance(1_000);
    assert.equal(calls, 1);
  });

  it("advance() fires due timers in time order, ties in the order they were set, each at its time", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const at = (label: string) => (): void => void seen.push(`${label}@${clock.now()}`);
    clock.setTimer(at("c"), 30);
    clock.setTimer(at("a"), 10);
    clock.setTimer(at("b1"), 20);
    clock.setTimer(at("b2"), 20);
    clock.setTimer(at("zero"), 0);
    clock.setTimer(at("negative"), -5);
    clock.setTimer(at("later"), 31);
    await clock.advance(30);
    assert.deepEqual(seen, ["zero@0", "negative@0", "a@10", "b1@20", "b2@20", "c@30"]);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(clock.now(), 30);
  });

  it("advance(0) fires timers that are already due", async () => {
    const clock = new ManualClock(50);
    let calls = 0;
    clock.setTimer(() => calls++, 0);
    await clock.advance(0);
    assert.equal(calls, 1);
  });

  it("timers set by callbacks during advance() fire if they come due within it", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    clock.setTimer(() => {
      seen.push(`first@${clock.now()}`);
      clock.setTimer(() => {
        seen.push(`chained@${clock.now()}`);
        clock.setTimer(() => seen.push(`too-late@${clock.now()}`), 100);
      }, 25);
      clock.setTimer(() => seen.push(`immediate@${clock.now()}`), 0);
    }, 10);
    clock.setTimer(() => seen.push(`other@${clock.now()}`), 20);
    await clock.advance(60);
    assert.deepEqual(seen, ["first@10", "immediate@10", "other@20", "chained@35"]);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(100);
    assert.deepEqual(seen.at(-1), "too-late@135");
    assert.equal(clock.pendingTimers, 0);
  });

  it("lets the promise jobs a callback starts run before the next timer fires", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const gate = deferred<void>();
    // An async chain: resolved by the first timer, it sets a timer that is due
    // before the second one; advance() must see it.
    void (async () => {
      await gate.promise;
      await Promise.resolve();
      seen.push(`resumed@${clock.now()}`);
      clock.setTimer(() => seen.push(`from-promise@${clock.now()}`), 5);
    })();
    clock.setTimer(() => {
      seen.push(`gate@${clock.now()}`);
      gate.resolve();
    }, 10);
    clock.setTimer(() => seen.push(`second@${clock.now()}`), 20);
    await clock.advance(20);
    assert.deepEqual(seen, ["gate@10", "resumed@10", "from-promise@15", "second@20"]);
  });

  it("pendingTimers counts timers neither fired nor cleared", async () => {
    const clock = new ManualClock();
    assert.equal(clock.pendingTimers, 0);
    const a = clock.setTimer(() => {}, 10);
    clock.setTimer(() => {}, 20);
    clock.setTimer(() => {}, 30);
    assert.equal(clock.pendingTimers, 3);
    clock.clearTimer(a);
    assert.equal(clock.pendingTimers, 2);
    await clock.advance(20);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(10);
    assert.equal(clock.pendingTimers, 0);
  });

  it("clearTimer() stops a timer; twice, or after it fired, is harmless", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const timer = clock.setTimer(() => calls++, 10);
    clock.clearTimer(timer);
    clock.clearTimer(timer);
    assert.equal(timer.pending, false);
    await clock.advance(20);
    assert.equal(calls, 0);

    const fired = clock.setTimer(() => calls++, 5);
    await clock.advance(5);
    assert.equal(calls, 1);
    clock.clearTimer(fired);
    clock.clearTimer(fired);
    assert.equal(clock.pendingTimers, 0);
  });

  it("a timer cleared by an earlier callback in the same advance() does not fire", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const victim = clock.setTimer(() => seen.push("victim"), 20);
    clock.setTimer(() => {
      seen.push("killer");
      clock.clearTimer(victim);
    }, 10);
    await clock.advance(30);
    assert.deepEqual(seen, ["killer"]);
  });

  it("does not count its timers as live library resources", async () => {
    const baseline = liveTimers();
    const clock = new ManualClock();
    clock.setTimer(() => {}, 10);
    assert.equal(liveTimers(), baseline);
    await clock.advance(10);
    assert.equal(liveTimers(), baseline);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { type Clock, ManualClock } from "../../src/core/clock.ts";
import {
  formatProgressLine,
  ProgressBoard,
  type ProgressCounts,
  type ProgressState,
  type TerminalWriter,
} from "../../src/core/progress_line.ts";
import { useLeakCheck } from "../helpers/leaks.ts";

const STATE: ProgressState = {
  done: 1_234,
  total: 5_000,
  failed: 3,
  retrying: 2,
  active: 4,
  elapsedMs: 3_000,
  ratePerSec: 410,
};

describe("formatProgressLine", () => {
  it("shows done/total, percent, a bar, failed, retrying, rate, ETA and active workers", () => {
    assert.equal(
      formatProgressLine(STATE, 120, "ingest"),
      "ingest | 1,234/5,000 24% [#####---------------] | 3 failed | 2 retrying | 410/s | " +
        "ETA 9s | 4 active",
    );
  });

  it("without a total shows the count, the rate and the elapsed time instead of an ETA", () => {
    assert.equal(
      formatProgressLine({ ...STATE, total: undefined, elapsedMs: 125_000 }, 120),
      "1,234 done | 3 failed | 2 retrying | 410/s | 2m05s | 4 active",
    );
  });

  it("drops the least useful parts first when the terminal is narrow, and never overflows", () => {
    const at = (width: number) => formatProgressLine(STATE, width, "ingest");
    assert.equal(
      at(78),
      "ingest | 1,234/5,000 24% | 3 failed | 2 retrying | 410/s | ETA 9s | 4 active",
    );
    assert.equal(at(66), "ingest | 1,234/5,000 24% | 3 failed | 2 retrying | 410/s | ETA 9s");
    assert.equal(at(53), "ingest | 1,234/5,000 24% | 3 failed | 410/s | ETA 9s");
    assert.equal(at(45), "ingest | 1,234/5,000 24% | 3 failed | ETA 9s");
    assert.equal(at(36), "ingest | 1,234/5,000 24% | 3 failed");
    assert.equal(at(25), "ingest | 1,234/5,000 24%");
    assert.equal(at(15), "1,234/5,000 24%");
    assert.equal(at(8), "1,234/5,");
    for (let width = 1; width <= 140; width++) {
      assert.ok(at(width).length <= width, `${JSON.stringify(at(width))} at width ${width}`);
    }
  });

  it("words rates and times for people", () => {
    const line = (state: Partial<ProgressState>) => formatProgressLine({ ...STATE, ...state }, 200);
    assert.match(line({ ratePerSec: 2.54 }), / 2\.5\/s \| ETA 24m43s /);
    assert.match(line({ ratePerSec: 0.5 }), / 0\.5\/s \| ETA 2h05m /);
    assert.match(line({ ratePerSec: 0 }), / 0\.0\/s \| ETA -- /);
    assert.match(line({ done: 5_000, ratePerSec: 0 }), /5,000\/5,000 100% \[#{20}\] .* ETA 0s /);
    assert.match(line({ ratePerSec: 12_345.6 }), / 12,346\/s /);
    assert.match(line({ done: 0, total: 0 }), /^0\/0 100% /);
  });
});

/** A terminal (or pipe) that records what was written. */
class RecordingWriter implements TerminalWriter {
  readonly writes: string[] = [];
  columns = 100;
  constructor(readonly isTerminal: boolean) {}
  write(text: string): void {
    this.writes.push(text);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Counts a test changes while the board draws them. */
function counter(
  total: number | undefined,
): { counts: Mutable<ProgressCounts>; read: () => ProgressCounts } {
  const counts = { done: 0, total, failed: 0, retrying: 0, active: 2 };
  return { counts, read: () => ({ ...counts }) };
}

const ERASE = "\r\x1b[J";

function assertStartsWith(text: string, prefix: string): void {
  assert.ok(
    text.startsWith(prefix),
    `${JSON.stringify(text)} does not start with ${JSON.stringify(prefix)}`,
  );
}

describe("ProgressBoard", () => {
  useLeakCheck();

  it("in auto mode asks whether stderr is a terminal only after 2 s, and on a pipe writes nothing", async () => {
    const clock = new ManualClock();
    let asked = 0;
    const pipe: TerminalWriter = {
      columns: 80,
      get isTerminal() {
        asked++;
        return false;
      },
      write() {
        throw new Error("nothing may be written on a pipe");
      },
    };
    const board = new ProgressBoard(pipe, clock);
    const remove = board.add({ mode: "auto", read: counter(100).read });
    assert.equal(clock.pendingTimers, 1, "one timer, for when the line comes due");
    await clock.advance(1_999);
    assert.equal(asked, 0);
    await clock.advance(1);
    assert.equal(asked, 1);
    assert.equal(clock.pendingTimers, 0, "no timer once stderr is known to be a pipe");
    remove();
    // Later runs on the same board know it already.
    board.add({ mode: "auto", read: counter(100).read })();
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(5_000);
    assert.equal(asked, 1);
  });

  it("a run shorter than 2 s in auto mode draws nothing and leaves no timer", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    const board = new ProgressBoard(writer, clock);
    const remove = board.add({ mode: "auto", read: counter(100).read });
    await clock.advance(1_500);
    remove();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(writer.writes, []);
  });

  it("with progress false writes nothing, even on a terminal", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    new ProgressBoard(writer, clock).add({ mode: false, read: counter(100).read })();
    await clock.advance(5_000);
    assert.deepEqual(writer.writes, []);
    assert.equal(clock.pendingTimers, 0);
  });

  it("in auto mode on a terminal draws only once the run has lasted 2 s, then erases the line", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    const { counts, read } = counter(100);
    const remove = new ProgressBoard(writer, clock).add({ mode: "auto", read });
    counts.done = 10;
    await clock.advance(1_950);
    assert.deepEqual(writer.writes, []);
    await clock.advance(100);
    assert.deepEqual(writer.writes, [
      `${ERASE}10/100 10% [##------------------] | 0 failed | 0 retrying | 5.0/s | ETA 18s | 2 active`,
    ]);
    remove();
    assert.equal(writer.writes.at(-1), ERASE);
    assert.equal(clock.pendingTimers, 0);
  });

  it("redraws at most 10 times a second however often the counts change", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    const { counts, read } = counter(100_000);
    const remove = new ProgressBoard(writer, clock).add({ mode: true, read });
    for (let ms = 0; ms < 1_000; ms += 5) {
      counts.done += 7;
      await clock.advance(5);
    }
    assert.equal(writer.writes.length, 10);
    remove();
  });

  it("does not rewrite a line that has not changed", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    const { counts, read } = counter(undefined);
    const remove = new ProgressBoard(writer, clock, { rateWindowMs: 100_000 }).add({
      mode: true,
      read,
    });
    await clock.advance(100); // 0 done, 0s elapsed
    await clock.advance(300); // still 0 done, 0s: the same line
    counts.done = 5;
    await clock.advance(100);
    remove();
    assert.deepEqual(writer.writes, [
      `${ERASE}0 done | 0 failed | 0 retrying | 0.0/s | 0s | 2 active`,
      `${ERASE}5 done | 0 failed | 0 retrying | 10/s | 1s | 2 active`,
      ERASE,
    ]);
  });

  it("with progress true draws from the first tick, also on a pipe", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(false);
    const remove = new ProgressBoard(writer, clock).add({ mode: true, read: counter(100).read });
    await clock.advance(100);
    remove();
    assert.equal(writer.writes.length, 2);
    assertStartsWith(writer.writes[0], `${ERASE}0/100 0% `);
  });

  it("measures the rate over the last 5 s", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    const { counts, read } = counter(undefined);
    const remove = new ProgressBoard(writer, clock).add({ mode: true, read });
    // 100 tasks a second for 10 s, then 10 a second for 5 s.
    for (let ms = 0; ms < 15_000; ms += 100) {
      counts.done += ms < 10_000 ? 10 : 1;
      await clock.advance(100);
    }
    remove();
    assert.match(writer.writes.at(-2)!, / \| 10\/s \| 15s \| /);
  });

  it("stacks one labelled line per queue, moves back up to redraw, and erases all at the end", async () => {
    const clock = new ManualClock();
    const writer = new RecordingWriter(true);
    writer.columns = 50;
    const board = new ProgressBoard(writer, clock);
    const fetch = counter(10);
    const parse = counter(undefined);
    const removeFetch = board.add({ label: "fetch", mode: true, read: fetch.read });
    const removeParse = board.add({ label: "parse", mode: true, read: parse.read });
    fetch.counts.done = 1;
    await clock.advance(100);
    assert.equal(board.drawnLines, 2);
    const [first] = writer.writes;
    assert.ok(first.startsWith(ERASE), "the first frame does not move up");
    const lines = first.slice(ERASE.length).split("\n");
    assert.deepEqual(lines.map((line) => line.split(" | ")[0]), ["fetch", "parse"]);
    assert.ok(
      lines.every((line) => line.length <= 49),
      "each line fits the width minus one column",
    );
    fetch.counts.done = 2;
    await clock.advance(100);
    assertStartsWith(writer.writes[1], `\x1b[1A${ERASE}fetch | 2/10`);
    removeFetch();
    await clock.advance(100);
    // One queue left: its line alone, without a label, over the two old lines.
    assertStartsWith(writer.writes[2], `\x1b[1A${ERASE}0 done | `);
    assert.equal(board.drawnLines, 1);
    removeParse();
    assert.equal(writer.writes.at(-1), ERASE);
    assert.equal(board.drawnLines, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  it("tick redraws when the timer is starved by tasks that never yield, at most every 100 ms", () => {
    // A clock whose timers never get to fire: the event loop is busy with microtasks.
    let now = 0;
    const starved: Clock = {
      now: () => now,
      wallNow: () => now,
      setTimer: () => ({ pending: true }),
      clearTimer: () => {},
    };
    const writer = new RecordingWriter(true);
    const { counts, read } = counter(1_000);
    const board = new ProgressBoard(writer, starved);
    const remove = board.add({ mode: true, read });
    for (now = 0; now <= 1_000; now += 1) {
      counts.done = now;
      board.tick(now);
    }
    remove();
    assert.equal(writer.writes.length, 11); // at 100, 200, ... 1000 ms, then the erase
    assertStartsWith(writer.writes[0], `${ERASE}100/1,000 10% `);
    assertStartsWith(writer.writes[9], `${ERASE}1,000/1,000 100% `);
  });

  it("stops drawing when stderr cannot be written, without failing the run", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const broken: TerminalWriter = {
      columns: 80,
      isTerminal: true,
      write() {
        calls++;
        throw new Error("EPIPE");
      },
    };
    const board = new ProgressBoard(broken, clock);
    const remove = board.add({ mode: true, read: counter(100).read });
    await clock.advance(1_000);
    remove();
    assert.equal(calls, 1);
    assert.equal(clock.pendingTimers, 0);
    board.add({ mode: true, read: counter(100).read })();
    assert.equal(calls, 1);
  });
});

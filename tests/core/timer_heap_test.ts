import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { TimerHeap } from "../../src/core/timer_heap.ts";
import { seededRandom } from "../helpers/random.ts";

interface Entry {
  readonly dueAt: number;
  readonly seq: number;
}

function entry(dueAt: number, seq: number): Entry {
  return { dueAt, seq };
}

function byDueThenSeq(a: Entry, b: Entry): number {
  return a.dueAt - b.dueAt || a.seq - b.seq;
}

function popAll(heap: TimerHeap<Entry>): Entry[] {
  const out: Entry[] = [];
  for (let next = heap.pop(); next !== undefined; next = heap.pop()) out.push(next);
  return out;
}

function pairs(entries: readonly Entry[]): [number, number][] {
  return entries.map((e) => [e.dueAt, e.seq]);
}

describe("TimerHeap", () => {
  it("is empty at first: size 0, peek() and pop() give undefined", () => {
    const heap = new TimerHeap<Entry>();
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.size, 0);
  });

  it("pops by due time, then by sequence for equal due times", () => {
    const heap = new TimerHeap<Entry>();
    const input = [
      entry(300, 0),
      entry(100, 1),
      entry(200, 2),
      entry(100, 3),
      entry(50, 4),
      entry(200, 5),
      entry(100, 6),
    ];
    for (const e of input) heap.push(e);
    assert.equal(heap.size, 7);
    assert.deepEqual(pairs(popAll(heap)), [
      [50, 4],
      [100, 1],
      [100, 3],
      [100, 6],
      [200, 2],
      [200, 5],
      [300, 0],
    ]);
    assert.equal(heap.size, 0);
  });

  it("orders equal due times by sequence even when pushed out of sequence order", () => {
    const heap = new TimerHeap<Entry>();
    for (const seq of [5, 2, 9, 0, 7]) heap.push(entry(10, seq));
    assert.deepEqual(popAll(heap).map((e) => e.seq), [0, 2, 5, 7, 9]);
  });

  it("peek() shows the earliest entry without removing it", () => {
    const heap = new TimerHeap<Entry>();
    const late = entry(20, 0);
    const early = entry(10, 1);
    heap.push(late);
    assert.equal(heap.peek(), late);
    heap.push(early);
    assert.equal(heap.peek(), early);
    assert.equal(heap.size, 2);
    assert.equal(heap.pop(), early);
    assert.equal(heap.peek(), late);
    assert.equal(heap.size, 1);
  });

  it("handles negative and fractional due times", () => {
    const heap = new TimerHeap<Entry>();
    for (const [i, dueAt] of [0.5, -3, 0.25, 1e12, -0.5].entries()) heap.push(entry(dueAt, i));
    assert.deepEqual(popAll(heap).map((e) => e.dueAt), [-3, -0.5, 0.25, 0.5, 1e12]);
  });

  describe("removeWhere", () => {
    it("returns the removed entries earliest first and keeps the rest in order", () => {
      const heap = new TimerHeap<Entry>();
      const input = [40, 10, 30, 10, 20, 50, 20].map((dueAt, seq) => entry(dueAt, seq));
      for (const e of input) heap.push(e);
      const removed = heap.removeWhere((e) => e.seq % 2 === 0);
      assert.deepEqual(pairs(removed), [[10, 1], [10, 3], [50, 5]]);
      assert.equal(heap.size, 4);
      assert.deepEqual(pairs(popAll(heap)), [[20, 4], [20, 6], [30, 2], [40, 0]]);
    });

    it("returns the same objects, and keeps working after removal", () => {
      const heap = new TimerHeap<Entry>();
      const a = entry(5, 0);
      const b = entry(1, 1);
      heap.push(a);
      heap.push(b);
      const removed = heap.removeWhere((e) => e !== b);
      assert.equal(removed.length, 1);
      assert.equal(removed[0], b);
      heap.push(entry(3, 2));
      assert.deepEqual(pairs(popAll(heap)), [[3, 2], [5, 0]]);
    });

    it("keeping everything changes nothing; keeping nothing empties the heap", () => {
      const heap = new TimerHeap<Entry>();
      for (let seq = 0; seq < 6; seq++) heap.push(entry(100 - seq * 10, seq));
      assert.deepEqual(heap.removeWhere(() => true), []);
      assert.equal(heap.size, 6);
      const all = heap.removeWhere(() => false);
      assert.deepEqual(all.map((e) => e.dueAt), [50, 60, 70, 80, 90, 100]);
      assert.equal(heap.size, 0);
      assert.equal(heap.peek(), undefined);
    });

    it("on an empty heap returns nothing", () => {
      assert.deepEqual(new TimerHeap<Entry>().removeWhere(() => false), []);
    });
  });

  describe("random stress", () => {
    it("100k random entries come out sorted by (dueAt, seq)", () => {
      const rand = seededRandom(1234);
      const heap = new TimerHeap<Entry>();
      const entries: Entry[] = [];
      for (let seq = 0; seq < 100_000; seq++) {
        // Few distinct due times, so that ties (decided by seq) are common.
        const e = entry(Math.floor(rand() * 2_000), seq);
        entries.push(e);
        heap.push(e);
      }
      assert.equal(heap.size, 100_000);
      const expected = [...entries].sort(byDueThenSeq);
      const actual = popAll(heap);
      assert.equal(actual.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        if (actual[i] !== expected[i]) {
          assert.fail(
            `position ${i}: got (${actual[i].dueAt}, ${actual[i].seq}), ` +
              `expected (${expected[i].dueAt}, ${expected[i].seq})`,
          );
        }
      }
    });

    it("interleaved push, pop and removeWhere match a sorted model", () => {
      const rand = seededRandom(99);
      const heap = new TimerHeap<Entry>();
      let model: Entry[] = [];
      let seq = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = rand();
        if (r < 0.55) {
          const e = entry(Math.floor(rand() * 500), seq++);
          heap.push(e);
          model.push(e);
        } else if (r < 0.995) {
          model.sort(byDueThenSeq);
          const expected = model.shift();
          assert.equal(heap.peek(), expected, `peek at step ${step}`);
          assert.equal(heap.pop(), expected, `pop at step ${step}`);
        } else {
          const cut = Math.floor(rand() * 500);
          const keep = (e: Entry): boolean => e.dueAt < cut;
          const expectedRemoved = model.filter((e) => !keep(e)).sort(byDueThenSeq);
          model = model.filter(keep);
          assert.deepEqual(heap.removeWhere(keep), expectedRemoved, `removeWhere at step ${step}`);
        }
        assert.equal(heap.size, model.length);
      }
      assert.deepEqual(popAll(heap), model.sort(byDueThenSeq));
    });
  });
});

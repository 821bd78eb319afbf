import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { ReadyQueue } from "../../src/core/ready_queue.ts";
import { seededRandom } from "../helpers/random.ts";

interface Item {
  readonly priority: number;
  readonly seq: number;
}

function item(priority: number, seq: number): Item {
  return { priority, seq };
}

function byPriorityThenSeq(a: Item, b: Item): number {
  return a.priority - b.priority || a.seq - b.seq;
}

function seqs(items: readonly Item[]): number[] {
  return items.map((i) => i.seq);
}

function popAll(queue: ReadyQueue<Item>): Item[] {
  const out: Item[] = [];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) out.push(next);
  return out;
}

describe("ReadyQueue", () => {
  it("is empty at first: size 0 and pop() gives undefined, again and again", () => {
    const queue = new ReadyQueue<Item>();
    assert.equal(queue.size, 0);
    assert.equal(queue.pop(), undefined);
    assert.equal(queue.pop(), undefined);
    assert.equal(queue.size, 0);
  });

  it("pops lower priority first", () => {
    const queue = new ReadyQueue<Item>();
    queue.push(item(5, 0));
    queue.push(item(1, 1));
    queue.push(item(3, 2));
    queue.push(item(0, 3));
    assert.equal(queue.size, 4);
    assert.deepEqual(popAll(queue).map((i) => i.priority), [0, 1, 3, 5]);
    assert.equal(queue.size, 0);
  });

  it("is FIFO among equal priorities", () => {
    const queue = new ReadyQueue<Item>();
    for (let seq = 0; seq < 10; seq++) queue.push(item(seq % 2, seq));
    assert.deepEqual(seqs(popAll(queue)), [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]);
  });

  it("returns the very objects pushed", () => {
    const queue = new ReadyQueue<Item>();
    const a = item(1, 0);
    const b = item(1, 1);
    queue.push(a);
    queue.push(b);
    assert.equal(queue.pop(), a);
    assert.equal(queue.pop(), b);
  });

  it("orders negative and fractional priorities numerically", () => {
    const queue = new ReadyQueue<Item>();
    const priorities = [3, -1.5, 0.25, -1, 2.5, 0.5, -100, 1e-9, -1e-9];
    priorities.forEach((priority, seq) => queue.push(item(priority, seq)));
    assert.deepEqual(
      popAll(queue).map((i) => i.priority),
      [-100, -1.5, -1, -1e-9, 1e-9, 0.25, 0.5, 2.5, 3],
    );
  });

  it("treats -0 and 0 as one priority, FIFO between them", () => {
    const queue = new ReadyQueue<Item>();
    queue.push(item(0, 0));
    queue.push(item(-0, 1));
    queue.push(item(1, 2));
    queue.push(item(-1, 3));
    queue.push(item(0, 4));
    queue.push(item(-0, 5));
    assert.deepEqual(seqs(popAll(queue)), [3, 0, 1, 4, 5, 2]);
  });

  it("keeps FIFO when the same priority is left and revisited", () => {
    const queue = new ReadyQueue<Item>();
    queue.push(item(2, 0));
    queue.push(item(1, 1));
    queue.push(item(2, 2));
    queue.push(item(1, 3));
    queue.push(item(2, 4));
    assert.deepEqual(seqs(popAll(queue)), [1, 3, 0, 2, 4]);
  });

  it("accepts pushes to a priority whose bucket was just emptied", () => {
    const queue = new ReadyQueue<Item>();
    queue.push(item(1, 0));
    assert.equal(queue.pop()?.seq, 0);
    queue.push(item(1, 1));
    queue.push(item(0, 2));
    queue.push(item(1, 3));
    assert.deepEqual(seqs(popAll(queue)), [2, 1, 3]);
  });

  describe("pushInOrder", () => {
    it("places a late-arriving item by its sequence number within its priority", () => {
      const queue = new ReadyQueue<Item>();
      queue.push(item(3, 1));
      queue.push(item(3, 4));
      queue.push(item(3, 7));
      queue.pushInOrder(item(3, 5));
      queue.pushInOrder(item(3, 0));
      queue.pushInOrder(item(3, 9));
      assert.equal(queue.size, 6);
      assert.deepEqual(seqs(popAll(queue)), [0, 1, 4, 5, 7, 9]);
    });

    it("does not jump ahead of a lower priority, nor behind a higher one", () => {
      const queue = new ReadyQueue<Item>();
      queue.push(item(1, 10));
      queue.push(item(5, 11));
      queue.pushInOrder(item(3, 2));
      assert.deepEqual(seqs(popAll(queue)), [10, 2, 11]);
    });

    it("starts a new priority when none is queued", () => {
      const queue = new ReadyQueue<Item>();
      queue.pushInOrder(item(2, 8));
      queue.pushInOrder(item(2, 3));
      assert.deepEqual(seqs(popAll(queue)), [3, 8]);
    });

    it("after some pops, an item older than everything left goes first", () => {
      const queue = new ReadyQueue<Item>();
      for (const seq of [1, 2, 3, 4]) queue.push(item(0, seq));
      assert.equal(queue.pop()?.seq, 1);
      assert.equal(queue.pop()?.seq, 2);
      queue.pushInOrder(item(0, 0)); // older than even the popped ones
      queue.pushInOrder(item(0, 3.5));
      assert.deepEqual(seqs(popAll(queue)), [0, 3, 3.5, 4]);
    });

    it("puts an equal sequence number after the existing one (stable)", () => {
      const queue = new ReadyQueue<Item>();
      const first = item(1, 5);
      const second = item(1, 5);
      queue.push(first);
      queue.pushInOrder(second);
      assert.equal(queue.pop(), first);
      assert.equal(queue.pop(), second);
    });
  });

  describe("drain and removeWhere", () => {
    it("drain() returns every entry in queue order and leaves the queue empty and usable", () => {
      const queue = new ReadyQueue<Item>();
      [item(2, 0), item(1, 1), item(2, 2), item(0, 3)].forEach((i) => queue.push(i));
      assert.deepEqual(seqs(queue.drain()), [3, 1, 0, 2]);
      assert.equal(queue.size, 0);
      assert.equal(queue.pop(), undefined);
      assert.deepEqual(queue.drain(), []);
      queue.push(item(4, 9));
      assert.equal(queue.size, 1);
      assert.equal(queue.pop()?.seq, 9);
    });

    it("removeWhere() returns the removed entries in queue order and keeps the rest in order", () => {
      const queue = new ReadyQueue<Item>();
      for (let seq = 0; seq < 12; seq++) queue.push(item(seq % 3, seq));
      // queue order: p0: 0 3 6 9, p1: 1 4 7 10, p2: 2 5 8 11
      const removed = queue.removeWhere((i) => i.seq % 2 === 0);
      assert.deepEqual(seqs(removed), [3, 9, 1, 7, 5, 11]);
      assert.equal(queue.size, 6);
      assert.deepEqual(seqs(popAll(queue)), [0, 6, 4, 10, 2, 8]);
    });

    it("removeWhere() that keeps everything changes nothing; one that keeps nothing empties", () => {
      const queue = new ReadyQueue<Item>();
      for (let seq = 0; seq < 5; seq++) queue.push(item(5 - seq, seq));
      assert.deepEqual(queue.removeWhere(() => true), []);
      assert.equal(queue.size, 5);
      assert.deepEqual(seqs(queue.removeWhere(() => false)), [4, 3, 2, 1, 0]);
      assert.equal(queue.size, 0);
    });

    it("removeWhere() on an empty queue returns nothing", () => {
      const queue = new ReadyQueue<Item>();
      assert.deepEqual(queue.removeWhere(() => false), []);
    });
  });

  describe("large and random workloads", () => {
    it("100k random items come out sorted by (priority, seq)", () => {
      const rand = seededRandom(42);
      const queue = new ReadyQueue<Item>();
      const items: Item[] = [];
      for (let seq = 0; seq < 100_000; seq++) {
        // Mostly a handful of integer priorities (the common case), some spread-out fractions.
        const priority = rand() < 0.8
          ? Math.floor(rand() * 7) - 2
          : Math.round((rand() * 200 - 100) * 1000) / 1000;
        const entry = item(priority, seq);
        items.push(entry);
        queue.push(entry);
      }
      assert.equal(queue.size, 100_000);
      const expected = [...items].sort(byPriorityThenSeq);
      const actual = popAll(queue);
      assert.equal(actual.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        if (actual[i] !== expected[i]) {
          assert.fail(
            `position ${i}: got (${actual[i].priority}, ${actual[i].seq}), ` +
              `expected (${expected[i].priority}, ${expected[i].seq})`,
          );
        }
      }
    });

    it("interleaved push, pushInOrder and pop match a simple model", () => {
      const rand = seededRandom(7);
      const queue = new ReadyQueue<Item>();
      let model: Item[] = [];
      let seq = 0;
      const delayed: Item[] = []; // items that got a seq now but arrive later
      for (let step = 0; step < 20_000; step++) {
        const r = rand();
        if (r < 0.45) {
          const entry = item(Math.floor(rand() * 5), seq++);
          queue.push(entry);
          model.push(entry);
        } else if (r < 0.55) {
          delayed.push(item(Math.floor(rand() * 5), seq++));
        } else if (r < 0.65 && delayed.length > 0) {
          const entry = delayed.splice(Math.floor(rand() * delayed.length), 1)[0];
          queue.pushInOrder(entry);
          model.push(entry);
        } else {
          model.sort(byPriorityThenSeq);
          const expected = model.shift();
          assert.equal(queue.pop(), expected, `step ${step}`);
        }
        assert.equal(queue.size, model.length);
      }
      model = model.sort(byPriorityThenSeq);
      assert.deepEqual(seqs(queue.drain()), seqs(model));
    });

    it("keeps FIFO across a bucket's segments (> 2048 items in one priority, interleaved)", () => {
      const queue = new ReadyQueue<Item>();
      let pushed = 0;
      let popped = 0;
      // Push two, pop one: the bucket's head walks far past 1024 while it still holds items.
      for (let round = 0; round < 6_000; round++) {
        queue.push(item(1, pushed++));
        queue.push(item(1, pushed++));
        assert.equal(queue.pop()?.seq, popped++);
      }
      // A late item slots in by sequence after many segments were used up.
      queue.pushInOrder(item(1, popped + 0.5));
      const rest = seqs(popAll(queue));
      const expected: number[] = [];
      for (let s = popped; s < pushed; s++) {
        expected.push(s);
        if (s === popped) expected.push(popped + 0.5);
      }
      assert.deepEqual(rest, expected);
    });

    it("pushInOrder() moves an early item back across segments, from a bucket read part-way", () => {
      const queue = new ReadyQueue<Item>();
      // Even sequence numbers 0..5998 in one priority (3,000 items: three segments of 1,024
      // and a partial one), the first 100 popped so that the first segment is read part-way.
      for (let seq = 0; seq < 6_000; seq += 2) queue.push(item(3, seq));
      for (let seq = 0; seq < 200; seq += 2) assert.equal(queue.pop()?.seq, seq);
      // Odd numbers that land in the first segment, on segment edges, in the middle and last.
      const late = [201, 2049, 2047, 4097, 999, 5999, 203];
      for (const seq of late) queue.pushInOrder(item(3, seq));
      const expected = [...Array.from({ length: 2_900 }, (_, i) => 200 + i * 2), ...late]
        .sort((a, b) => a - b);
      assert.equal(queue.size, expected.length);
      assert.deepEqual(seqs(popAll(queue)), expected);
    });

    it("keeps FIFO when one bucket is pushed full (3000), half popped, then refilled", () => {
      const queue = new ReadyQueue<Item>();
      for (let seq = 0; seq < 3_000; seq++) queue.push(item(0, seq));
      for (let seq = 0; seq < 1_500; seq++) assert.equal(queue.pop()?.seq, seq);
      for (let seq = 3_000; seq < 5_000; seq++) queue.push(item(0, seq));
      queue.push(item(-1, 99_999));
      assert.equal(queue.size, 3_501);
      const out = seqs(popAll(queue));
      assert.equal(out[0], 99_999);
      assert.deepEqual(out.slice(1), Array.from({ length: 3_500 }, (_, i) => 1_500 + i));
    });
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { decimalRank, keyOrder } from "../../src/core/key_order.ts";
import type { StoreKey } from "../../src/core/checkpoint_key.ts";

/** Rows as a store keeps them pending: key, value, encoding. */
function pendingRows(keys: readonly StoreKey[]): unknown[] {
  return keys.flatMap((key, row) => [key, row, "json"]);
}

/** The order a sort of the keys' texts gives, rows of equal keys in recorded order. */
function textOrder(keys: readonly StoreKey[], namespaces?: readonly string[]): number[] {
  return keys.map((key, row) => ({ text: String(key), row, namespace: namespaces?.[row] ?? "" }))
    .sort((a, b) =>
      a.namespace < b.namespace
        ? -1
        : a.namespace > b.namespace
        ? 1
        : a.text < b.text
        ? -1
        : a.text > b.text
        ? 1
        : a.row - b.row
    ).map(({ row }) => row);
}

function assertTextOrder(keys: readonly StoreKey[], namespaces?: readonly string[]): void {
  assert.deepEqual(
    Array.from(keyOrder(pendingRows(keys), 3, namespaces)),
    textOrder(keys, namespaces),
    JSON.stringify(keys.slice(0, 12)),
  );
}

/** A small deterministic generator, so that a failure repeats. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("keyOrder", () => {
  it("orders whole-number keys as their texts for every count up to 1,200, ascending and descending", () => {
    for (let count = 0; count <= 1_200; count++) {
      assertTextOrder(Array.from({ length: count }, (_, i) => i));
      assertTextOrder(Array.from({ length: count }, (_, i) => count - i));
    }
  });

  it("orders dense and sparse whole-number keys as their texts", () => {
    const random = generator(7);
    for (let round = 0; round < 200; round++) {
      const count = Math.floor(random() * 3_000);
      // Half the rounds dense (keys up to a few times the count), half sparse (up to 10^13).
      const range = round % 2 === 0 ? 5 * count + 2_000 : 1e13;
      assertTextOrder(Array.from({ length: count }, () => Math.floor(random() * range)));
    }
  });

  it("keeps rows of a repeated key in the order recorded", () => {
    assertTextOrder([5, 5, 3, 5, 30]);
    assert.deepEqual(Array.from(keyOrder(pendingRows([5, 5, 3, 5]), 3, undefined)), [2, 0, 1, 3]);
  });

  it("orders the largest numeric keys and zero", () => {
    assertTextOrder([1e13, 99_999_999_999_999, 0, 7, 70, 8]);
  });

  it("orders text keys, and numbers among them by their text", () => {
    assertTextOrder(["b", "a", '"x"', "10", "9"]);
    assertTextOrder([3, "a", 10, "2", 2, "25"]);
  });

  it("orders by namespace first, then by key text", () => {
    assertTextOrder([2, 10, 1, "1", 3], ["b", "a", "b", "a", "a"]);
  });
});

describe("decimalRank", () => {
  it("orders numbers as their texts, a text before the longer texts it begins", () => {
    const numbers = [0, 1, 7, 10, 70, 8, 19, 2, 100, 99_999_999_999_999, 10_000_000_000_000];
    const byRank = [...numbers].sort((a, b) => decimalRank(a) - decimalRank(b));
    const byText = [...numbers].sort((a, b) => String(a) < String(b) ? -1 : 1);
    assert.deepEqual(byRank, byText);
    assert.ok(decimalRank(7) < decimalRank(70));
    assert.ok(decimalRank(70) < decimalRank(8));
    assert.ok(Number.isSafeInteger(decimalRank(99_999_999_999_999)));
  });
});

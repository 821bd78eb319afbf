/**
 * Result checks shared by the workloads: a benchmark that computes the wrong
 * thing fast must fail, not win.
 *
 * @module
 */

/** Throws unless `values` holds `count` numbers adding up to `sum`. */
export function expectValues(values: ArrayLike<unknown>, count: number, sum: number): void {
  let total = 0;
  let seen = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (typeof value === "number") {
      total += value;
      seen++;
    }
  }
  if (seen !== count || total !== sum) {
    throw new Error(
      `wrong results: ${seen} numbers adding up to ${total}, expected ${count} / ${sum}`,
    );
  }
}

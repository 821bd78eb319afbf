/**
 * Turns raw run results into medians, ratios and text tables. Pure functions:
 * `bench/main.ts` does the spawning and the writing.
 *
 * @module
 */

import type { Workload } from "../types.ts";

/** The runtimes the harness measures on, in column order. */
export const RUNTIMES = ["deno", "bun"] as const;

/** One of {@linkcode RUNTIMES}. */
export type Runtime = typeof RUNTIMES[number];

/** All runs of one implementation on one runtime. */
export interface CellRuns {
  /** Values of the runs that succeeded, in run order. */
  readonly values: number[];
  /** `detail` of each successful run. */
  readonly details: Record<string, number | string>[];
  /** Error message of each failed run. */
  readonly errors: string[];
}

/** A cell's summary, as written to the JSON output. */
export interface CellSummary {
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly runs: number;
  readonly failedRuns: number;
}

/** The median of `values`, or null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median, range and failure count of one cell. */
export function summarize(cell: CellRuns): CellSummary {
  return {
    median: median(cell.values),
    min: cell.values.length === 0 ? null : Math.min(...cell.values),
    max: cell.values.length === 0 ? null : Math.max(...cell.values),
    runs: cell.values.length + cell.errors.length,
    failedRuns: cell.errors.length,
  };
}

/**
 * How many times better ours is than a peer: ours/peer for throughput,
 * peer/ours for time and memory, so above 1 always means ours is better.
 */
export function ratio(workload: Workload, ours: number | null, peer: number | null): number | null {
  if (ours === null || peer === null || ours <= 0 || peer <= 0) return null;
  return workload.better === "higher" ? ours / peer : peer / ours;
}

/** Formats a value the way the workload wants it, or as a grouped integer. */
export function formatValue(workload: Workload, value: number): string {
  if (workload.formatCell !== undefined) return workload.formatCell(value);
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3);
}

/** A table cell: median, spread (± half the min–max range) and failed runs. */
export function formatCell(workload: Workload, cell: CellRuns): string {
  const summary = summarize(cell);
  if (summary.median === null) return "n/a";
  let text = formatValue(workload, summary.median);
  if (summary.runs > 1 && summary.min !== null && summary.max !== null && summary.median !== 0) {
    const spread = ((summary.max - summary.min) / 2 / Math.abs(summary.median)) * 100;
    text += ` ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`;
  }
  if (summary.failedRuns > 0) text += ` (${summary.failedRuns} failed)`;
  return text;
}

/** Formats a ratio as `1.23×`, or `n/a`. */
export function formatRatio(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(2)}×`;
}

/** Lays out rows as left-aligned columns separated by two spaces. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) => row.map((cell, index) => cell.padEnd(widths[index])).join("  ").trimEnd())
    .join("\n");
}

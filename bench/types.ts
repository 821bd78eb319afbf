/**
 * The shapes shared by the benchmark harness: a workload is a set of
 * implementations of the same job, measured in one unit.
 *
 * @module
 */

/** What one implementation reports from one run in one fresh process. */
export interface Measurement {
  /** The figure the tables compare, in the workload's unit. */
  readonly value: number;
  /** Extra figures kept in the JSON output (wall time, heap sizes, …). */
  readonly detail?: Readonly<Record<string, number | string>>;
}

/** One implementation of a workload; it checks its own results and throws if they are wrong. */
export type Impl = () => Promise<Measurement>;

/** A benchmark workload, as the registry lists it. */
export interface Workload {
  /** One line: what is run, how many tasks, how concurrent. */
  readonly describe: string;
  /** Unit of {@linkcode Measurement.value}, e.g. `"tasks/s"` or `"ms"`. */
  readonly unit: string;
  /** Whether a larger value is better (throughput) or a smaller one (time, memory). */
  readonly better: "higher" | "lower";
  /** The name of our implementation in {@linkcode Workload.impls}; ratios compare it with each peer. */
  readonly ours: string;
  /** Implementations by name, in table order. */
  readonly impls: Readonly<Record<string, Impl>>;
  /** Extra flags for `deno run` (e.g. `--v8-flags=--expose-gc`). */
  readonly denoFlags?: readonly string[];
  /** Extra flags for `bun`. */
  readonly bunFlags?: readonly string[];
  /** Formats a median for the table; the default prints the number with the unit implied. */
  readonly formatCell?: (value: number) => string;
  /** The workload's target for osiiso (e.g. "≤ 1 KiB retained per finished task"), printed. */
  readonly target?: string;
  /** A child process running longer than this is killed and reported as failed. */
  readonly timeoutMs?: number;
}

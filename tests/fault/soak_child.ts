/**
 * One soak measurement, in its own process (spawned by `bench/soak.ts`, so
 * that each figure of peak RSS and retained heap starts from a fresh heap).
 *
 * `soak_child.ts --list` prints the registered backends and their soak
 * sizes; `soak_child.ts <backend> <tasks> <all|bounded>` runs one load and
 * prints its report. Both print one line: `SOAK_RESULT <json>`.
 *
 * @module
 */

import { faultBackends } from "./backends.ts";
import { runLoad } from "./load_driver.ts";

/** Prefix of the one line of output the parent reads. */
export const SOAK_RESULT_PREFIX = "SOAK_RESULT ";

/** The queue size of the bounded producer run. */
export const BOUNDED_SIZE = 1_000;

const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
const args = deno !== undefined ? [...deno.args] : process.argv.slice(2);

if (args[0] === "--list") {
  const list = faultBackends().map((b) => ({ name: b.name, soak: b.load.soak }));
  console.log(SOAK_RESULT_PREFIX + JSON.stringify(list));
} else {
  const [name, tasks, mode] = args;
  const backend = faultBackends().find((b) => b.name === name);
  if (backend === undefined) throw new Error(`backend '${name}' is not registered`);
  const bounded = mode === "bounded";
  const report = await runLoad(backend, {
    tasks: Number(tasks),
    workers: backend.load.workers,
    bounded: bounded ? BOUNDED_SIZE : undefined,
    seed: bounded ? 11 : 7,
  });
  console.log(SOAK_RESULT_PREFIX + JSON.stringify(report));
  // Pooled backends may keep a worker or child a moment longer than needed.
  process.exit(0);
}

/**
 * One measurement in a fresh process: `run_workload.ts <workload> <impl>`.
 * `bench/main.ts` spawns this on Deno and on Bun; it can also be run by hand.
 *
 * The last stdout line is `BENCH_RESULT <json>`: either a Measurement plus the
 * runtime, or `{ "error": "…" }` (exit code 1).
 *
 * @module
 */

import { workloadLoaders } from "./registry.ts";
import { exitProcess, runtimeName, runtimeVersion, scriptArgs } from "./lib/runtime.ts";

/** Marks the line `bench/main.ts` parses. */
export const RESULT_PREFIX = "BENCH_RESULT ";

async function main(): Promise<number> {
  const [workloadName, implName] = scriptArgs();
  const runtime = { runtime: runtimeName(), version: runtimeVersion() };
  try {
    const load = workloadLoaders[workloadName];
    if (load === undefined) {
      throw new Error(`unknown workload '${workloadName}' (have ${Object.keys(workloadLoaders)})`);
    }
    const workload = await load();
    const impl = workload.impls[implName];
    if (impl === undefined) {
      throw new Error(`unknown impl '${implName}' for ${workloadName}`);
    }
    const measurement = await impl();
    console.log(RESULT_PREFIX + JSON.stringify({ ...runtime, ...measurement }));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.log(RESULT_PREFIX + JSON.stringify({ ...runtime, error: message }));
    return 1;
  }
}

if (import.meta.main) {
  // Exit explicitly: a measurement is done once printed, whatever the
  // implementation left running.
  exitProcess(await main());
}

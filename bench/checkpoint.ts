/**
 * The checkpoint store's figures in this process, on whichever runtime runs
 * it: `deno run -A bench/checkpoint.ts` or `bun bench/checkpoint.ts`.
 * (`deno task bench --only CP` runs the same on both runtimes, in fresh processes.)
 *
 * @module
 */

import { FLUSH_EVERY, measureCheckpointStore, WRITE_ITEMS } from "./workloads/cp_store.ts";

const runtime = "Deno" in globalThis ? "deno" : "bun";
const { value, detail } = await measureCheckpointStore();
console.log(
  `${runtime}: resume 1M keys ${value.toFixed(0)} ms; ` +
    `write ${WRITE_ITEMS} in batches of ${FLUSH_EVERY}: ${detail?.writeRowsPerSecond} rows/s; ` +
    `${detail?.bytesPerRecord} bytes/record`,
);

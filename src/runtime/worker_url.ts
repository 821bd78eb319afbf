/**
 * Where a `ThreadQueue` worker starts: on Bun the single pre-built file in
 * `bundled/` with its bytecode cache (made from `worker_entry.ts` by
 * `.ci/bundle_entries.ts`, kept in step by CI), which reaches its first task
 * ~2 ms sooner than the TypeScript modules; elsewhere `worker_entry.ts`.
 *
 * @module
 */

import { runtimeName } from "./detect.ts";

/**
 * The module URL a pool worker is created from on this runtime.
 */
export const workerEntryUrl: URL = runtimeName === "bun"
  ? new URL("./bundled/worker_entry.js", import.meta.url)
  : new URL("./worker_entry.ts", import.meta.url);

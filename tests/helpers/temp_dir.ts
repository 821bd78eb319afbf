/**
 * A temporary directory for one test, removed afterwards whatever happens.
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `body` with a new directory under the system's temporary directory
 * (named from `prefix`), then removes it and everything in it.
 *
 * @example
 * ```ts
 * await withTempDir("osiiso-example-", (dir) => console.log(dir));
 * ```
 */
export async function withTempDir<T>(
  prefix: string,
  body: (dir: string) => T | Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Which runtime this is. Both Deno and Bun define `process` and call
 * themselves Node there, so the test is `globalThis.Deno` / `globalThis.Bun`.
 *
 * @module
 */

/** The runtimes the library supports. */
export type RuntimeName = "deno" | "bun" | "other";

/** The runtime the code is running on. */
export const runtimeName: RuntimeName = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "other";

/** The parts of Node's `process` object used by the Bun adapters. */
export interface NodeProcessLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  exit(code?: number): never;
  kill(pid: number, signal?: string | number): boolean;
  readonly pid: number;
  readonly execPath: string;
  exitCode?: number;
}

/** Node's `process` global (Bun), without depending on Node's type definitions. */
export function nodeProcess(): NodeProcessLike {
  return (globalThis as unknown as { process: NodeProcessLike }).process;
}

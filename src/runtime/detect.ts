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

/**
 * Whether a task handle that will likely be awaited is best a native promise:
 * on V8 (Deno) awaiting a thenable costs a promise, a microtask and two
 * resolving functions more, on JavaScriptCore (Bun) a promise handle costs
 * more to make than it saves.
 */
export const promiseHandlesPay: boolean = runtimeName === "deno";

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

/** What tells a standalone executable apart: the runtime globals, or a stand-in for them. */
export interface StandaloneHints {
  readonly Deno?: { readonly build?: { readonly standalone?: boolean } };
  readonly Bun?: { readonly isStandaloneExecutable?: boolean };
}

/**
 * Whether this program runs as a standalone executable (`deno compile`,
 * `bun build --compile`). Its executable then runs the program itself
 * whatever its arguments, so a child started from it would be this program
 * again (which would start children of its own), not the child entry script.
 * A Bun without `Bun.isStandaloneExecutable` tells it by its embedded file
 * system, where this module's URL then lies.
 */
export function isStandaloneExecutable(
  globals: StandaloneHints = globalThis as StandaloneHints,
  moduleUrl: string = import.meta.url,
): boolean {
  if (globals.Deno?.build?.standalone === true) return true;
  if (globals.Bun === undefined) return false;
  return globals.Bun.isStandaloneExecutable === true || moduleUrl.includes("/$bunfs/") ||
    moduleUrl.includes("/~BUN/");
}

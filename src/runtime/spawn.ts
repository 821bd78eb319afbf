/**
 * Child processes for `ProcessQueue`, behind one interface: the pool talks to
 * a {@linkcode ChildProcessHandle} and never to `Deno.Command` or
 * `Bun.spawn`. Each child runs the same runtime as the parent, with its
 * runtime's entry script (`child_entry_deno.ts` / `child_entry_bun.ts`).
 *
 * The handle speaks in protocol messages (`protocol.ts`), not bytes, because
 * the two runtimes use different channels, each the fastest measured on its
 * runtime:
 *
 * - **Deno** (`spawn_deno.ts`): length-prefixed frames (`framing.ts`) of the
 *   byte codec (`codec.ts`) on the child's stdin and stdout. The child
 *   points its console, `Deno.stdout` and `process.stdout` at stderr, and the
 *   frames carry magic bytes, so anything else that reaches its stdout (a
 *   grandchild that inherited it, say) is passed on to the parent's stderr
 *   between frames instead of corrupting them.
 * - **Bun** (`spawn_bun.ts`): Bun's IPC channel (JSON) carrying trees from
 *   `toWire()`; the child's stdout and stderr are the parent's stderr, so
 *   nothing a task prints goes near the channel. Bun's IPC also lets an idle
 *   child be unreferenced, which a pending read on a stdout pipe does not.
 *
 * Either way: every child is spawned `detached` (its own process group, so a
 * kill takes everything it started), learns of its parent's death from EOF
 * on its stdin (Deno) or its IPC channel closing (Bun) and then ends its
 * group, and ignores SIGINT (the parent decides when children stop).
 *
 * Runtime detection uses `globalThis.Deno` / `globalThis.Bun`: both runtimes
 * define `process` and call themselves Node there.
 *
 * @module
 */

import type { MainMessage, WorkerMessage } from "./protocol.ts";
import { nodeProcess, runtimeName } from "./detect.ts";
import { denoPermissionFlags, spawnDenoChild } from "./spawn_deno.ts";
import { invalidMessage } from "../core/validate.ts";
import { spawnBunChild } from "./spawn_bun.ts";

/**
 * How a child ended: an exit code, or the signal that killed it.
 *
 * @example
 * ```ts
 * import type { ChildExit } from "./spawn.ts";
 * const killed: ChildExit = { code: null, signal: "SIGKILL" };
 * ```
 */
export interface ChildExit {
  /** The exit code, or `null` when a signal ended the child. */
  readonly code: number | null;
  /** The signal that ended the child (`"SIGKILL"`, …), or `null`. */
  readonly signal: string | null;
}

/**
 * One permission of a Deno child: `"inherit"` (what the parent has), `true`
 * (all of it; the parent must have all of it), `false` (none), or a list of
 * paths, hosts, variables or commands (each granted to the parent too).
 *
 * @example
 * ```ts
 * import type { ChildPermissionValue } from "@osiiso/osiiso";
 * const read: ChildPermissionValue = ["./data", "./tasks"];
 * ```
 */
export type ChildPermissionValue = "inherit" | boolean | readonly string[];

/**
 * The permissions a Deno child gets, shaped like `Deno.PermissionOptionsObject`:
 * a missing name is not granted. Ignored on Bun, which has no permissions.
 * A child needs read access to the modules of its tasks.
 *
 * @example
 * ```ts
 * import type { ChildPermissionsObject } from "@osiiso/osiiso";
 * const permissions: ChildPermissionsObject = { read: "inherit", net: ["api.example.com"] };
 * ```
 */
export interface ChildPermissionsObject {
  /** File reads (`--allow-read`); the children read their task modules. */
  readonly read?: ChildPermissionValue;
  /** File writes (`--allow-write`). */
  readonly write?: ChildPermissionValue;
  /** Network access (`--allow-net`), as `host[:port]` entries. */
  readonly net?: ChildPermissionValue;
  /** Environment variables (`--allow-env`). */
  readonly env?: ChildPermissionValue;
  /** Subprocesses (`--allow-run`); also lets a child end its own process group. */
  readonly run?: ChildPermissionValue;
  /** Foreign functions (`--allow-ffi`). */
  readonly ffi?: ChildPermissionValue;
  /** System information (`--allow-sys`). */
  readonly sys?: ChildPermissionValue;
  /** Remote module imports (`--allow-import`), as hosts. */
  readonly import?: ChildPermissionValue;
}

/**
 * The permissions of a `ProcessQueue`'s children on Deno: `"inherit"` (the
 * default: what this process has), `"none"`, or per permission.
 *
 * @example
 * ```ts
 * import { ProcessQueue } from "@osiiso/osiiso";
 * const q = new ProcessQueue({ permissions: { read: "inherit" } }); // no net, env, write…
 * await q.shutdown();
 * ```
 */
export type ChildPermissions = "inherit" | "none" | ChildPermissionsObject;

/**
 * The permission names a {@linkcode ChildPermissionsObject} may hold.
 *
 * @example
 * ```ts
 * import { CHILD_PERMISSION_NAMES } from "./spawn.ts";
 * console.log(CHILD_PERMISSION_NAMES.includes("net")); // true
 * ```
 */
export const CHILD_PERMISSION_NAMES: readonly (keyof ChildPermissionsObject)[] = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
];

/**
 * What a child is started with.
 *
 * @example
 * ```ts
 * import type { ChildSpawnOptions } from "./spawn.ts";
 * const options: ChildSpawnOptions = {
 *   env: { LOG_LEVEL: "warn" },
 *   onMessage: (message) => console.log(message.type),
 *   onProtocolError: (error) => console.error(error),
 * };
 * ```
 */
export interface ChildSpawnOptions {
  /** Variables added to (or overriding) the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** The child's working directory (default: the parent's). */
  readonly cwd?: string;
  /** Deno only: the child's permissions (default `"inherit"`). */
  readonly permissions?: ChildPermissions;
  /** URLs of task modules the child should start importing at once. */
  readonly preload?: readonly string[];
  /** Called with every message the child sends, in order. */
  readonly onMessage: (message: WorkerMessage) => void;
  /** Called when the child sent something that is not a valid message. */
  readonly onProtocolError: (error: Error) => void;
}

/**
 * A running child process, whatever the runtime.
 *
 * @example
 * ```ts ignore
 * import { spawnChild } from "./spawn.ts";
 * const child = spawnChild({ onMessage: console.log, onProtocolError: console.error });
 * child.send({ type: "init", worker: child.pid, initializer: null, initArgs: [], replyBatch: 8 });
 * child.closeInput();
 * console.log(await child.exited);
 * ```
 */
export interface ChildProcessHandle {
  /** The child's process id (also its process group id). */
  readonly pid: number;
  /**
   * Queues `message` for the child; queued messages go out together at the
   * end of the current microtask. Throws `TaskSerializationError`, and queues
   * nothing, if the message holds a value that cannot cross.
   */
  send(message: MainMessage): void;
  /** Settles when the child has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** Closes the child's input: it ends itself and everything it started. */
  closeInput(): void;
  /** Kills the child's whole process group with SIGKILL, now. */
  killGroup(): void;
  /** Lets the child keep the parent alive (while it holds tasks). */
  ref(): void;
  /** Lets the parent exit even though the child runs (while it is idle). */
  unref(): void;
}

/**
 * Starts a child process running this runtime's child entry script.
 *
 * @throws {Error} On a runtime other than Deno or Bun, or if the spawn fails.
 *
 * @example
 * ```ts ignore
 * import { spawnChild } from "./spawn.ts";
 * const child = spawnChild({ onMessage: () => {}, onProtocolError: () => {} });
 * child.killGroup();
 * await child.exited;
 * ```
 */
export function spawnChild(options: ChildSpawnOptions): ChildProcessHandle {
  if (runtimeName === "deno") return spawnDenoChild(options);
  if (runtimeName === "bun") return spawnBunChild(options);
  throw new Error("ProcessQueue needs Deno or Bun to start child processes");
}

/**
 * Lets a timer not keep the process alive (an idle pool's timers must not
 * hold a finished program open).
 *
 * @example
 * ```ts
 * import { unrefTimer } from "./spawn.ts";
 * const timer = setTimeout(() => {}, 60_000);
 * unrefTimer(timer);
 * clearTimeout(timer);
 * ```
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (runtimeName === "deno") Deno.unrefTimer(timer as unknown as number);
  else (timer as unknown as { unref?: () => void }).unref?.();
}

/**
 * Calls `listener` synchronously when this process exits normally (the end
 * of the program, `Deno.exit()` / `process.exit()`), so that a pool can kill
 * children it still has. Returns the function that removes the listener.
 *
 * @example
 * ```ts
 * import { onProcessExit } from "./spawn.ts";
 * const remove = onProcessExit(() => console.error("bye"));
 * remove();
 * ```
 */
export function onProcessExit(listener: () => void): () => void {
  if (runtimeName === "deno") {
    globalThis.addEventListener("unload", listener);
    return () => globalThis.removeEventListener("unload", listener);
  }
  const process = nodeProcess();
  process.on("exit", listener);
  return () => {
    process.off("exit", listener);
  };
}

/**
 * Checks the `permissions` option of a `ProcessQueue` (action "create
 * queue"): its shape on every runtime and, on Deno, that it grants nothing
 * this process lacks. Returns it unchanged.
 *
 * @throws {TypeError} For a malformed value or an unknown permission name.
 * @throws {RangeError} On Deno, for a grant this process does not have.
 *
 * @example
 * ```ts
 * import { checkChildPermissions } from "./spawn.ts";
 * checkChildPermissions("none"); // "none"
 * ```
 */
export function checkChildPermissions(permissions: unknown): ChildPermissions {
  if (runtimeName === "deno") {
    denoPermissionFlags(permissions as ChildPermissions);
    return permissions as ChildPermissions;
  }
  if (permissions === "inherit" || permissions === "none") return permissions;
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions)) {
    throw new TypeError(
      invalidMessage("create queue", "permissions", "'inherit', 'none' or an object", permissions),
    );
  }
  for (const [name, value] of Object.entries(permissions)) {
    if (!(CHILD_PERMISSION_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(`Unknown permission name(s): ${name}`);
    }
    const valid = value === undefined || value === "inherit" || typeof value === "boolean" ||
      (Array.isArray(value) && value.every((item) => typeof item === "string"));
    if (!valid) {
      throw new TypeError(
        invalidMessage(
          "create queue",
          `permissions.${name}`,
          "'inherit', a boolean or an array of strings",
          value,
        ),
      );
    }
  }
  return permissions as ChildPermissions;
}

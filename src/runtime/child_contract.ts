/**
 * What a `ProcessQueue` child is, whatever the runtime: how it is started
 * ({@linkcode ChildSpawnOptions}), the handle the pool drives
 * ({@linkcode ChildProcessHandle}), how it ended ({@linkcode ChildExit}), and
 * the permissions a Deno child may be given, with their one check
 * ({@linkcode checkChildPermissions}). The dispatcher (`spawn.ts`) and both
 * adapters (`spawn_deno.ts`, `spawn_bun.ts`) import this module; it imports
 * none of them.
 *
 * @module
 */

import { invalidMessage } from "../core/validate.ts";
import type { MainMessage, WorkerMessage } from "./protocol.ts";

/** How a child ended: an exit code, or the signal that killed it. */
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

/** One permission name of a {@linkcode ChildPermissionsObject}. */
export type ChildPermissionName = keyof ChildPermissionsObject;

/** Every permission name, in the order flags are built and values checked. */
export const CHILD_PERMISSION_NAMES: readonly ChildPermissionName[] = [
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
 * Whether this process holds permission `name` in full (no `item`) or for
 * one path, host, variable or command: a child may be narrowed, not widened.
 */
export type HeldPermission = (name: ChildPermissionName, item?: string) => boolean;

const action = "create queue";

/** Whether an item of `name` is a path; `run` items are paths when they hold a slash. */
export function isPathItem(name: ChildPermissionName, item: string): boolean {
  return name === "read" || name === "write" || name === "ffi" ||
    (name === "run" && item.includes("/"));
}

/**
 * Checks the `permissions` option of a `ProcessQueue`: a `TypeError` for a
 * malformed value or unknown names, and, given what this process holds
 * (`held`, Deno), a `RangeError` for a grant it lacks. With `held`, relative
 * paths are resolved against the child's directory `cwd` (itself relative
 * to this process's), then checked, and the value is returned with absolute
 * paths (unchanged when there were none). Values are checked in
 * {@linkcode CHILD_PERMISSION_NAMES} order.
 */
export function checkChildPermissions(
  permissions: unknown,
  held?: HeldPermission,
  cwd?: string,
): ChildPermissions {
  if (permissions === "inherit" || permissions === "none") return permissions;
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions)) {
    throw new TypeError(
      invalidMessage(action, "permissions", "'inherit', 'none' or an object", permissions),
    );
  }
  const unknown = Object.keys(permissions).filter((name) =>
    !(CHILD_PERMISSION_NAMES as readonly string[]).includes(name)
  );
  if (unknown.length > 0) {
    throw new TypeError(`Unknown permission name(s): ${unknown.sort().join(", ")}`);
  }
  const given = permissions as Record<ChildPermissionName, unknown>;
  const resolved: Record<string, unknown> = { ...given };
  let changed = false;
  for (const name of CHILD_PERMISSION_NAMES) {
    let value = given[name];
    if (held !== undefined && Array.isArray(value)) {
      const items: unknown[] = value;
      const absolute = items.map((item) =>
        typeof item === "string" && isPathItem(name, item) ? absolutePath(cwd, item) : item
      );
      if (absolute.some((item, index) => item !== items[index])) {
        value = absolute;
        resolved[name] = absolute;
        changed = true;
      }
    }
    checkPermissionValue(name, value, held);
  }
  return (changed ? resolved : permissions) as ChildPermissions;
}

function checkPermissionValue(
  name: ChildPermissionName,
  value: unknown,
  held: HeldPermission | undefined,
): void {
  if (value === undefined || value === "inherit" || value === false) return;
  const field = `permissions.${name}`;
  const notHeld = "within this process's own permissions";
  if (value === true) {
    if (held !== undefined && !held(name)) {
      throw new RangeError(invalidMessage(action, field, notHeld, value));
    }
    return;
  }
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new TypeError(
      invalidMessage(action, field, "'inherit', a boolean or an array of strings", value),
    );
  }
  if (held === undefined) return;
  for (const item of value as string[]) {
    if (!held(name, item)) {
      throw new RangeError(
        invalidMessage(
          action,
          field,
          notHeld,
          `${
            JSON.stringify(item)
          } (not granted here, or granted with exceptions this process cannot read to pass on)`,
        ),
      );
    }
  }
}

/** What a child is started with. */
export interface ChildSpawnOptions {
  /** Variables added to (or overriding) the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** `false`: the child gets only `env` and this process's `PATH`, nothing else of its environment. */
  readonly inheritEnv?: boolean;
  /** The child's working directory (default: the parent's). */
  readonly cwd?: string;
  /** Deno only: the child's permissions, checked already (default `"inherit"`). */
  readonly permissions?: ChildPermissions;
  /** URLs of task modules the child should start importing at once. */
  readonly preload?: readonly string[];
  /** Called with every message the child sends, in order. */
  readonly onMessage: (message: WorkerMessage) => void;
  /** Called when the child sent something that is not a valid message. */
  readonly onProtocolError: (error: Error) => void;
}

/**
 * A running child process, whatever the runtime: the pool talks to this and
 * never to `Deno.Command` or `Bun.spawn`, in protocol messages, not bytes.
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
 * `path`, made absolute against `base` (itself against the current
 * directory) and normalised, as `node:path`'s `resolve` does on POSIX: the
 * library does not load `node:path` (nor need Node's types) for this one use.
 */
export function absolutePath(base: string | undefined, path: string): string {
  if (path.startsWith("/")) return normalizePath(path);
  const start = base !== undefined && base.startsWith("/")
    ? base
    : `${currentDirectory()}/${base ?? "."}`;
  return normalizePath(`${start}/${path}`);
}

/** Removes `.`, `..`, empty parts and a trailing slash from an absolute path. */
function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The process's current directory on either runtime. */
function currentDirectory(): string {
  const deno = (globalThis as { Deno?: { cwd(): string } }).Deno;
  return deno !== undefined ? deno.cwd() : (globalThis as unknown as {
    process: { cwd(): string };
  }).process.cwd();
}

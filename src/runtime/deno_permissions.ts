/**
 * The `deno run` permission flags of a `ProcessQueue` child: a child never
 * holds what its parent lacks, exceptions (`--deny-*`, `--ignore-*`)
 * included.
 *
 * Deno tells a process what it holds (`Deno.permissions.querySync`), and
 * whether a grant has exceptions (`partial`), but not what they are nor its
 * scoped grants (`--allow-read=/data`). Those are read from the parent's
 * command line: `/proc/self/cmdline` (readable under `--allow-all` without
 * read exceptions), else `cat` of it when the parent may run anything. Only
 * the runtime's own flags count: the tokens before the script and its
 * arguments (`Deno.args`), and never after `--`. A grant with exceptions
 * that cannot be read this way fails closed: an `InvalidStateError` that says
 * to pass `permissions`. Scoped grants that cannot be read are not passed on
 * (the child gets less). Every grant is checked against what the parent
 * holds now, at each spawn, so `Deno.permissions.revoke` takes effect.
 *
 * @module
 */

import { InvalidStateError } from "../core/errors.ts";
import {
  absolutePath,
  CHILD_PERMISSION_NAMES,
  type ChildPermissionName,
  type ChildPermissions,
  type ChildPermissionValue,
  type HeldPermission,
  isPathItem,
} from "./child_contract.ts";

/** The descriptor field that names one item of each permission, for queries. */
const ITEM_FIELD: Readonly<Record<ChildPermissionName, string>> = {
  read: "path",
  write: "path",
  net: "host",
  env: "variable",
  run: "command",
  ffi: "path",
  sys: "kind",
  import: "host",
};

const SHORT_FLAGS: Readonly<Record<string, ChildPermissionName>> = {
  R: "read",
  W: "write",
  N: "net",
  E: "env",
  S: "sys",
  I: "import",
};

function status(name: ChildPermissionName, item?: string): Deno.PermissionStatus | undefined {
  const descriptor =
    (item === undefined
      ? { name }
      : { name, [ITEM_FIELD[name]]: item }) as unknown as Deno.PermissionDescriptor;
  try {
    return Deno.permissions.querySync(descriptor);
  } catch {
    return undefined;
  }
}

/** The permission flags of this process's command line, by permission. */
interface ParentFlags {
  /** `--deny-<name>…` and `--ignore-<name>…` flags, paths made absolute. */
  readonly exceptions: ReadonlyMap<ChildPermissionName, readonly string[]>;
  /** Items of scoped `--allow-<name>=…` flags, paths made absolute. */
  readonly scoped: ReadonlyMap<ChildPermissionName, readonly string[]>;
}

/** This process's command line, once read (it never changes); `null`: unreadable. */
let commandLine: readonly string[] | null | undefined;

/** The directory the parent started in, for relative paths in its flags. */
const startDirectory = (() => {
  try {
    return Deno.cwd();
  } catch {
    return undefined;
  }
})();

function readCommandLine(): readonly string[] | null {
  if (commandLine !== undefined) return commandLine;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync("/proc/self/cmdline");
  } catch {
    // Deno asks for --allow-all (without read exceptions) here; a parent that
    // may run anything can read it through `cat`.
    const run = status("run");
    if (run?.state === "granted" && !run.partial) {
      try {
        const output = new Deno.Command("cat", {
          args: [`/proc/${Deno.pid}/cmdline`],
          stdout: "piped",
          stderr: "null",
        }).outputSync();
        if (output.success) text = new TextDecoder().decode(output.stdout);
      } catch {
        // No `cat`, or no /proc: the flags stay unknown.
      }
    }
  }
  const tokens = text?.split("\u0000");
  if (tokens !== undefined && tokens.at(-1) === "") tokens.pop();
  commandLine = tokens ?? null;
  return commandLine;
}

/**
 * The runtime's own flags: between the executable and the script, which
 * `Deno.args` (the program's arguments) follow. `null` when the command line
 * does not end with `Deno.args`, or cannot be read.
 */
function runtimeTokens(): readonly string[] | null {
  const tokens = readCommandLine();
  if (tokens === null) return null;
  const args = Deno.args;
  const end = tokens.length - args.length - 1;
  if (end < 1 || args.some((arg, index) => tokens[end + 1 + index] !== arg)) return null;
  const flags = tokens.slice(1, end);
  const stop = flags.indexOf("--");
  return stop < 0 ? flags : flags.slice(0, stop);
}

/** Items of a flag's value, paths made absolute; `null` if a relative path cannot be. */
function absoluteItems(name: ChildPermissionName, value: string): string[] | null {
  const items = value.split(",");
  const made: string[] = [];
  for (const item of items) {
    if (!isPathItem(name, item) || item.startsWith("/")) {
      made.push(item);
    } else if (startDirectory === undefined) {
      return null;
    } else {
      made.push(absolutePath(startDirectory, item));
    }
  }
  return made;
}

/** Parses this process's permission flags, or `null` when they cannot be known. */
function parentFlags(): ParentFlags | null {
  const tokens = runtimeTokens();
  if (tokens === null) return null;
  const exceptions = new Map<ChildPermissionName, string[]>();
  const scoped = new Map<ChildPermissionName, string[]>();
  const add = (
    map: Map<ChildPermissionName, string[]>,
    name: ChildPermissionName,
    ...items: string[]
  ) => map.set(name, [...(map.get(name) ?? []), ...items]);
  for (const token of tokens) {
    // Permissions from a config file's permission set are not on the command line.
    if (token === "-P" || token.startsWith("-P=") || token.startsWith("--permission-set")) {
      return null;
    }
    let kind: string;
    let name: ChildPermissionName;
    let value: string | undefined;
    const long = /^--(allow|deny|ignore)-([a-z]+)(?:=(.*))?$/s.exec(token);
    const short = /^-([RWNESI])(?:=(.*))?$/s.exec(token);
    if (long !== null && (CHILD_PERMISSION_NAMES as readonly string[]).includes(long[2])) {
      [kind, name, value] = [long[1], long[2] as ChildPermissionName, long[3]];
    } else if (short !== null) {
      [kind, name, value] = ["allow", SHORT_FLAGS[short[1]], short[2]];
    } else {
      continue;
    }
    if (kind === "allow") {
      if (value === undefined) continue; // A full grant: `querySync` reports it.
      const items = absoluteItems(name, value);
      if (items === null) return null;
      add(scoped, name, ...items);
    } else if (value === undefined) {
      add(exceptions, name, `--${kind}-${name}`);
    } else {
      const items = absoluteItems(name, value);
      if (items === null) return null;
      add(exceptions, name, `--${kind}-${name}=${items.join(",")}`);
    }
  }
  return { exceptions, scoped };
}

function mustPassPermissions(name: ChildPermissionName): InvalidStateError {
  return new InvalidStateError(
    `Cannot start a child with this process's ${name} permission: it has exceptions ` +
      `(--deny-${name} or --ignore-${name}) that this process cannot read from its command ` +
      `line, so a child could get more than this process has. Pass the queue's ` +
      `'permissions' option to say what the children get (without '${name}', or as a list ` +
      `of what they need).`,
  );
}

/**
 * Builds the flags for the permissions of one child, reading the parent's
 * flags at most once. A grant with exceptions comes with those exceptions.
 */
class FlagBuilder {
  #flags: ParentFlags | null | undefined;

  #parent(): ParentFlags | null {
    if (this.#flags === undefined) this.#flags = parentFlags();
    return this.#flags;
  }

  /** The exception flags of `name`; throws when the parent has some that are unknown. */
  #exceptions(name: ChildPermissionName, needed: boolean): string[] {
    const parent = this.#parent();
    const found = parent?.exceptions.get(name) ?? [];
    if (needed && found.length === 0) throw mustPassPermissions(name);
    return [...found];
  }

  /** What the parent has of `name`, exceptions included. */
  inherit(name: ChildPermissionName): string[] {
    const full = status(name);
    if (full?.state === "granted") {
      return [`--allow-${name}`, ...this.#exceptions(name, full.partial)];
    }
    const parent = this.#parent();
    if (parent === null) return []; // Scoped grants that cannot be read are not passed on.
    const items = (parent.scoped.get(name) ?? []).filter((item) =>
      this.#holds(name, item) && !item.includes(",")
    );
    if (items.length === 0) return [];
    return [`--allow-${name}=${items.join(",")}`, ...this.#exceptions(name, false)];
  }

  /** All of `name`, which the parent must hold (exceptions go along). */
  whole(name: ChildPermissionName): string[] {
    const full = status(name);
    if (full?.state !== "granted") throw notHeld(name);
    return [`--allow-${name}`, ...this.#exceptions(name, full.partial)];
  }

  /** `items` (absolute already) of `name`, each held by the parent. */
  items(name: ChildPermissionName, items: readonly string[]): string[] {
    if (items.length === 0) return [];
    let partial = false;
    for (const item of items) {
      const held = status(name, item);
      if (held?.state !== "granted" || item.includes(",")) throw notHeld(name, item);
      partial ||= held.partial;
    }
    return [`--allow-${name}=${items.join(",")}`, ...this.#exceptions(name, partial)];
  }

  /** Whether the parent holds `item` of `name`, and could pass on its exceptions. */
  #holds(name: ChildPermissionName, item: string): boolean {
    const held = status(name, item);
    return held?.state === "granted" &&
      (!held.partial || (this.#parent()?.exceptions.get(name)?.length ?? 0) > 0);
  }

  /** What `held` answers: whether a grant can be passed on whole. */
  holds(name: ChildPermissionName, item?: string): boolean {
    if (item !== undefined) return !item.includes(",") && this.#holds(name, item);
    const full = status(name);
    return full?.state === "granted" &&
      (!full.partial || (this.#parent()?.exceptions.get(name)?.length ?? 0) > 0);
  }

  /** The flags for one permission's value. */
  value(name: ChildPermissionName, value: ChildPermissionValue | undefined): string[] {
    if (value === undefined || value === false) return [];
    if (value === "inherit") return this.inherit(name);
    if (value === true) return this.whole(name);
    return this.items(name, value);
  }
}

function notHeld(name: ChildPermissionName, item?: string): InvalidStateError {
  const what = item === undefined ? `all of ${name}` : `${name} of ${JSON.stringify(item)}`;
  return new InvalidStateError(
    `Cannot start a child with ${what}: this process does not hold it (any more)`,
  );
}

/**
 * What this process may give a child of permission `name`, in full or for
 * `item` (absolute already): held now, and with any exceptions known. An item
 * with a comma cannot be passed on: commas separate a flag's items.
 */
export const denoHeldPermission: HeldPermission = (name, item) =>
  new FlagBuilder().holds(name, item);

/**
 * The `deno run` permission flags for a child with `permissions` (checked
 * and with absolute paths already), from what this process holds now.
 * Throws `InvalidStateError` when a grant cannot be passed on safely.
 */
export function denoPermissionFlags(permissions: ChildPermissions = "inherit"): string[] {
  if (permissions === "none") return [];
  const builder = new FlagBuilder();
  if (permissions === "inherit") {
    const everything = CHILD_PERMISSION_NAMES.every((name) => {
      const full = status(name);
      return full?.state === "granted" && !full.partial;
    });
    if (everything) return ["--allow-all"];
    return CHILD_PERMISSION_NAMES.flatMap((name) => builder.inherit(name));
  }
  return CHILD_PERMISSION_NAMES.flatMap((name) => builder.value(name, permissions[name]));
}

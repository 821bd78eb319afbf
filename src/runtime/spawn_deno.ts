/**
 * Deno children: `Deno.Command` running `child_entry_deno.ts`, spawned
 * `detached` (a process group of its own) with piped stdin and stdout and
 * the parent's stderr. Messages travel as frames (`framing.ts`) of the byte
 * codec (`codec.ts`): main → child on stdin, child → main on stdout. Bytes on
 * the child's stdout that are not a frame (something that wrote to it behind
 * the child's back) are copied to the parent's stderr.
 *
 * Permissions: a child gets the parent's by default. Deno cannot list a
 * process's scoped grants, so each permission the parent holds in full is
 * passed as `--allow-<name>`, and scoped flags (`--allow-read=/data`, deny
 * flags) are copied from the parent's command line when `/proc/self/cmdline`
 * is readable; otherwise pass `permissions` explicitly. A child also needs
 * read access to its task modules (dynamic imports of files need it).
 *
 * @module
 */

import { TaskSerializationError } from "../core/errors.ts";
import { countTimer } from "../core/resources.ts";
import { decodeValue, encodeValueInto } from "./codec.ts";
import { BatchedChild } from "./child_handle.ts";
import { FrameBuilder, FrameDecoder } from "./framing.ts";
import type { MainMessage, WorkerMessage } from "./protocol.ts";
import {
  CHILD_PERMISSION_NAMES,
  type ChildExit,
  type ChildPermissionName,
  type ChildPermissions,
  type ChildPermissionValue,
  type ChildProcessHandle,
  type ChildSpawnOptions,
  type HeldPermission,
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

function grantedInFull(name: ChildPermissionName): boolean {
  return Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted";
}

function grantedItem(name: ChildPermissionName, item: string): boolean {
  const descriptor = { name, [ITEM_FIELD[name]]: item } as unknown as Deno.PermissionDescriptor;
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

let parentFlags: ReadonlyMap<ChildPermissionName, readonly string[]> | undefined;

/** The parent's own scoped permission flags, by permission (read once). */
function scopedParentFlags(): ReadonlyMap<ChildPermissionName, readonly string[]> {
  if (parentFlags !== undefined) return parentFlags;
  const flags = new Map<ChildPermissionName, string[]>();
  let tokens: string[] = [];
  try {
    tokens = Deno.readTextFileSync("/proc/self/cmdline").split("\u0000");
  } catch {
    // Not Linux, or no read access there: only full grants are passed on.
  }
  for (const token of tokens) {
    if (token === "--") break;
    let name: ChildPermissionName | undefined;
    let flag = token;
    const long = /^--(?:allow|deny)-([a-z]+)(?:=|$)/.exec(token);
    if (long !== null && (CHILD_PERMISSION_NAMES as readonly string[]).includes(long[1])) {
      name = long[1] as ChildPermissionName;
    } else {
      const short = /^-([RWNESI])(=.*)?$/.exec(token);
      if (short !== null) {
        name = SHORT_FLAGS[short[1]];
        flag = `--allow-${name}${short[2] ?? ""}`;
      }
    }
    if (name === undefined) continue;
    const list = flags.get(name) ?? [];
    list.push(flag);
    flags.set(name, list);
  }
  parentFlags = flags;
  return flags;
}

/** Flags that give a child what the parent has of permission `name`. */
function inheritedFlags(name: ChildPermissionName): string[] {
  if (grantedInFull(name)) {
    // A full grant may still come with deny flags; those go along.
    return [
      `--allow-${name}`,
      ...(scopedParentFlags().get(name) ?? []).filter((flag) => flag.startsWith("--deny-")),
    ];
  }
  return [...(scopedParentFlags().get(name) ?? [])];
}

/**
 * What this process holds of permission `name`, in full or for `item`. An
 * item with a comma cannot be passed on: commas separate a flag's items.
 */
export const denoHeldPermission: HeldPermission = (name, item) =>
  item === undefined ? grantedInFull(name) : !item.includes(",") && grantedItem(name, item);

/** Flags for one permission of a checked `permissions` option. */
function flagsFor(name: ChildPermissionName, value: ChildPermissionValue | undefined): string[] {
  if (value === undefined || value === false) return [];
  if (value === "inherit") return inheritedFlags(name);
  if (value === true) return [`--allow-${name}`];
  return value.length === 0 ? [] : [`--allow-${name}=${value.join(",")}`];
}

/**
 * The `deno run` permission flags for a child with `permissions`, checked
 * already (`checkChildPermissions` with {@linkcode denoHeldPermission}).
 */
function denoPermissionFlags(permissions: ChildPermissions = "inherit"): string[] {
  if (permissions === "none") return [];
  if (permissions === "inherit") {
    if (CHILD_PERMISSION_NAMES.every(grantedInFull)) return ["--allow-all"];
    return CHILD_PERMISSION_NAMES.flatMap(inheritedFlags);
  }
  return CHILD_PERMISSION_NAMES.flatMap((name) => flagsFor(name, permissions[name]));
}

const CHILD_ENTRY = new URL("./child_entry_deno.ts", import.meta.url).href;

/**
 * Starts a Deno child (see the module documentation).
 */
export function spawnDenoChild(options: ChildSpawnOptions): ChildProcessHandle {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...denoPermissionFlags(options.permissions),
      CHILD_ENTRY,
      ...(options.preload ?? []),
    ],
    cwd: options.cwd,
    env: options.env === undefined ? undefined : { ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    detached: true,
  });
  const child = command.spawn();
  return new DenoChild(child, options);
}

/** How long a dead child's stdout may stay open before its last frames are given up. */
const stdoutDrainMs = 200;

/** Waits for `promise`, but no longer than `ms`. */
function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let pending = true;
    const timer = setTimeout(done, ms);
    countTimer(1);
    function done(): void {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      countTimer(-1);
      resolve();
    }
    promise.then(done, done);
  });
}

/** Copies stray bytes from a child's stdout to the parent's stderr. */
function writeStray(bytes: Uint8Array): void {
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch {
    // The parent's stderr is gone; nothing better to do with the bytes.
  }
}

class DenoChild extends BatchedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #outbox = new FrameBuilder();

  constructor(child: Deno.ChildProcess, options: ChildSpawnOptions) {
    super();
    this.#child = child;
    this.pid = child.pid;
    this.#writer = child.stdin.getWriter();
    // A write to a child that just died rejects; its death is reported by `exited`.
    this.#writer.closed.catch(() => {});
    const reader = child.stdout.getReader();
    const drained = this.#read(reader, options);
    this.exited = child.status.then(
      async (status) => {
        // The exit status can overtake the child's last frames: they are read
        // first. A grandchild that escaped the group kill may hold the pipe
        // open, so the wait is bounded and the read then abandoned.
        await settleWithin(drained, stdoutDrainMs);
        reader.cancel().catch(() => {});
        return { code: status.signal === null ? status.code : null, signal: status.signal };
      },
      () => ({ code: null, signal: null }),
    );
  }

  async #read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    options: ChildSpawnOptions,
  ): Promise<void> {
    const decoder = new FrameDecoder((payload) => {
      let message: WorkerMessage;
      try {
        message = decodeValue(payload) as WorkerMessage;
      } catch (error) {
        options.onProtocolError(error as Error);
        return;
      }
      options.onMessage(message);
    }, writeStray);
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        decoder.push(value);
      }
    } catch {
      // The pipe broke, or the read was abandoned; `exited` reports how the child ended.
    }
  }

  protected enqueue(message: MainMessage): void {
    const outbox = this.#outbox;
    const start = outbox.beginFrame();
    try {
      encodeValueInto(message, outbox);
    } catch (error) {
      outbox.truncate(start);
      throw error instanceof TaskSerializationError
        ? error
        : new TaskSerializationError(String((error as Error)?.message ?? error));
    }
    outbox.endFrame(start);
  }

  protected queued(): number {
    return this.#outbox.length;
  }

  protected writeQueued(): void {
    this.#writer.write(this.#outbox.take()).catch(() => {});
  }

  protected endInput(): void {
    this.#writer.close().catch(() => {});
  }

  protected killGroupOnly(): void {
    Deno.kill(-this.pid, "SIGKILL");
  }

  protected killChild(): void {
    this.#child.kill("SIGKILL");
  }

  ref(): void {
    this.#child.ref();
  }

  unref(): void {
    this.#child.unref();
  }
}

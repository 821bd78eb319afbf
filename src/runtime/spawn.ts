/**
 * Starts `ProcessQueue` children on this runtime: the dispatcher in front of
 * the two adapters, which implement the contract of `child_contract.ts` (the
 * pool talks to a `ChildProcessHandle` and never to `Deno.Command` or
 * `Bun.spawn`). Each child runs the same runtime as the parent, with its
 * runtime's entry script (`child_entry_deno.ts` / `child_entry_bun.ts`).
 *
 * The handle speaks in protocol messages (`protocol.ts`), not bytes, because
 * the two runtimes use different channels, each the fastest measured on its
 * runtime:
 *
 * - **Deno** (`spawn_deno.ts`): length-prefixed frames (`framing.ts`) of the
 *   byte codec (`codec.ts`) on the child's stdin and stdout. The child
 *   points its console, `Deno.stdout` and `process.stdout` at stderr, and the
 *   frames carry magic bytes and a random key per child, so text that
 *   reaches its stdout otherwise (a grandchild that inherited it, say) is
 *   passed on to the parent's stderr between frames, and bytes that pass for
 *   a frame and are not one fail that child instead of forging a reply.
 * - **Bun** (`spawn_bun.ts`): Bun's IPC channel (JSON) carrying trees from
 *   `toWire()`; the child's stdout and stderr are the parent's stderr, so
 *   nothing a task prints goes near the channel. Bun's IPC also lets an idle
 *   child be unreferenced, which a pending read on a stdout pipe does not.
 *
 * Either way: every child is spawned `detached` (its own process group, so a
 * kill takes everything it started), learns of its parent's death from EOF
 * on its stdin (Deno) or its IPC channel closing (Bun) and then ends its
 * group, and ignores SIGINT (the parent decides when children stop). A
 * watchdog started next to each child (`WATCHDOG_SCRIPT`) ends the child's
 * group when the parent dies even while a task blocks the child's event loop.
 *
 * Runtime detection uses `globalThis.Deno` / `globalThis.Bun`: both runtimes
 * define `process` and call themselves Node there.
 *
 * @module
 */

import type {
  ChildPermissions,
  ChildProcessHandle,
  ChildSpawnOptions,
  HeldPermission,
} from "./child_contract.ts";
import { runtimeName } from "./detect.ts";
import { spawnBunChild } from "./spawn_bun.ts";
import { spawnDenoChild } from "./spawn_deno.ts";
import { denoHeldPermission, denoPermissionFlags } from "./deno_permissions.ts";

/**
 * Starts a child process running this runtime's child entry script; throws
 * on a runtime other than Deno or Bun, or if the spawn fails.
 */
export function spawnChild(options: ChildSpawnOptions): ChildProcessHandle {
  if (runtimeName === "deno") return spawnDenoChild(options);
  if (runtimeName === "bun") return spawnBunChild(options);
  throw new Error("ProcessQueue needs Deno or Bun to start child processes");
}

/** What this process may grant a child (Deno); `undefined` where there are no permissions (Bun). */
export const heldPermission: HeldPermission | undefined = runtimeName === "deno"
  ? denoHeldPermission
  : undefined;

/**
 * Throws now what starting a child with `permissions` would throw (Deno: a
 * grant whose exceptions cannot be passed on), so a queue fails when it is
 * made rather than at its first task.
 */
export function checkSpawnable(permissions: ChildPermissions | undefined): void {
  if (runtimeName === "deno") denoPermissionFlags(permissions);
}

/**
 * ProcessQueue: tasks run in a pool of persistent child processes.
 *
 * @module
 */

import { InvalidStateError } from "../core/errors.ts";
import { TaskQueue } from "../core/task_queue.ts";
import type { QueueOptions } from "../core/queue_options.ts";
import { checkBoolean, checkString, invalidMessage } from "../core/validate.ts";
import { isStandaloneExecutable } from "../runtime/detect.ts";
import { checkChildPermissions, type ChildPermissions } from "../runtime/child_contract.ts";
import { checkSpawnable, heldPermission } from "../runtime/spawn.ts";
import { poolOptionNames, type PoolOptions, resolvePoolOptions } from "./pool_options.ts";
import { ProcessPool, type ProcessPoolOptions } from "./process_pool.ts";
import { stderrProgressBoard } from "./progress.ts";

/**
 * Options of a {@linkcode ProcessQueue}: the shared queue options
 * ({@linkcode QueueOptions}), the pool's ({@linkcode PoolOptions}), and the
 * children's environment, directory and permissions. Durations are
 * milliseconds.
 *
 * @example
 * ```ts
 * import { ProcessQueue, type ProcessQueueOptions, taskModule } from "@osiiso/osiiso";
 * const setup = taskModule(new URL("./setup.ts", import.meta.url));
 * const options: ProcessQueueOptions = {
 *   workers: 4,
 *   initializer: setup.loadModel,
 *   initArgs: ["model.bin"],
 *   maxTasksPerWorker: 1_000,
 *   idleTimeout: 30_000,
 *   env: { LOG_LEVEL: "warn" },
 *   permissions: { read: true, net: ["api.example.com"] },
 * };
 * const q = new ProcessQueue(options);
 * await q.shutdown();
 * ```
 */
export interface ProcessQueueOptions extends QueueOptions, PoolOptions {
  /**
   * Variables added to (or overriding) the children's environment. The
   * children inherit this process's whole environment (secrets included)
   * unless `inheritEnv` is `false`.
   */
  env?: Record<string, string>;
  /**
   * `false`: the children get only `env` plus this process's `PATH`, none
   * of the rest of its environment. Default `true`.
   */
  inheritEnv?: boolean;
  /** The children's working directory. Default: this process's. */
  cwd?: string;
  /**
   * Deno: the children's permissions; a child never holds what this process
   * lacks. Default `"inherit"`: what this process has, with its exceptions
   * (`--deny-*`, `--ignore-*`). Scoped grants (`--allow-read=/data`) and
   * exceptions are read from this process's command line (readable under
   * `--allow-all`, or with `--allow-run`); a grant with exceptions that
   * cannot be read makes the constructor throw `InvalidStateError`, and
   * scoped grants that cannot be read are not passed on: pass `permissions`
   * then. `"none"`, or an object like `Deno.PermissionOptionsObject` (a
   * missing name is not granted), narrows them; relative paths are resolved
   * against `cwd`; a grant this process lacks is a `RangeError`. Children
   * need read access to their task modules. Granting `run` grants
   * everything: a child may start any program without Deno's checks.
   * Ignored on Bun.
   */
  permissions?: ChildPermissions;
}

/** The names {@linkcode ProcessQueue} adds to the shared queue options. */
const processOptionNames = [
  ...poolOptionNames,
  "env",
  "inheritEnv",
  "cwd",
  "permissions",
] as const;

const action = "create queue";

function checkEnv(value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(invalidMessage(action, "env", "an object of strings", value));
  }
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new TypeError(invalidMessage(action, `env.${name}`, "a string", item));
    }
  }
  return { ...value as Record<string, string> };
}

const standaloneMessage = "ProcessQueue cannot start child processes in a standalone " +
  "executable (deno compile, bun build --compile): the executable runs this program " +
  "whatever its arguments, so each child would be this program again, not the child " +
  "entry script. Run the program with deno or bun instead.";

/** Checks the pool's own options (the engine checks the shared ones). */
function processPoolOptions(options: ProcessQueueOptions | undefined): ProcessPoolOptions {
  if (options === null || typeof options !== "object") return {};
  const given = options as Record<string, unknown>;
  const pool = resolvePoolOptions(given, action);
  const env = given.env === undefined ? undefined : checkEnv(given.env);
  const inheritEnv = given.inheritEnv === undefined
    ? undefined
    : checkBoolean(action, "inheritEnv", given.inheritEnv);
  const cwd = given.cwd === undefined ? undefined : checkString(action, "cwd", given.cwd);
  const permissions = given.permissions === undefined
    ? undefined
    : checkChildPermissions(given.permissions, heldPermission, cwd);
  checkSpawnable(permissions);
  return { ...pool, env, inheritEnv, cwd, permissions };
}

/**
 * A queue whose tasks run in a pool of persistent child processes of the
 * same runtime (`Deno.Command` on Deno, `Bun.spawn` on Bun): for isolation,
 * crash-prone or memory-hungry work, and code that must be stoppable even in
 * a busy loop. The same API as `AsyncQueue`; a task is a module export named
 * with `taskModule()`, or a self-contained function (sent as source).
 *
 * Children start on demand (`start()` boots the first one while you submit)
 * and stay until `shutdown()` (or `idleTimeout`); module state in a child
 * persists between its tasks. A child that starts imports the task modules
 * submitted so far right away, while it starts up. Arguments and results
 * cross as everything JSON carries plus `undefined`, `Date`, `RegExp`,
 * `Map`, `Set`, `BigInt`, typed arrays, `ArrayBuffer` and `Error`s (class,
 * message, stack, `cause` and own fields), with shared references and
 * cycles; anything else fails that task with `TaskSerializationError`.
 * What a task prints goes to this process's stderr. Not in a standalone
 * executable (`deno compile`, `bun build --compile`): there the constructor
 * throws `InvalidStateError`, as each child would be the program again.
 *
 * A timeout, cancel or forced shutdown aborts the task's signal in the
 * child; if the task has not stopped after `killGrace`, the child's whole
 * process group (the child and everything it started) is killed and the
 * child replaced. A child that crashes (`Deno.exit()`, `process.exit()`, a
 * signal, an uncaught error) fails the task it was running with
 * `WorkerCrashedError` (retried if retries remain); its other tasks go to
 * other children. `TaskResult.worker` is the child's pid. Idle children do
 * not keep a finished program alive, and children end with their parent.
 *
 * @example
 * ```ts
 * import { ProcessQueue } from "@osiiso/osiiso";
 * await using q = new ProcessQueue({ workers: 2 });
 * const h = q.submit((n: number) => {
 *   let a = 0, b = 1;
 *   for (let i = 0; i < n; i++) [a, b] = [b, a + b];
 *   return a;
 * }, [50]);
 * await q.run();
 * console.log(h.value(), h.result().worker); // 12586269025 <child pid>
 * ```
 */
export class ProcessQueue extends TaskQueue {
  /**
   * Creates a queue; see {@linkcode ProcessQueueOptions} for the options and defaults.
   *
   * @throws {InvalidStateError} In a standalone executable (`deno compile`,
   * `bun build --compile`): each child would run the program again.
   */
  constructor(options?: ProcessQueueOptions) {
    if (isStandaloneExecutable()) throw new InvalidStateError(standaloneMessage);
    super(
      options,
      new ProcessPool(processPoolOptions(options)),
      processOptionNames,
      stderrProgressBoard,
    );
  }
}

/**
 * Task references and rebuilding inline functions: the part of task sources
 * that workers and child processes load too, kept apart from the (larger)
 * free-variable analysis the pools need (`src/backends/function_source.ts`),
 * so a worker starts faster.
 *
 * @module
 */

import { invalidMessage } from "./validate.ts";
// ---------------------------------------------------------------------------
// Module references

/** Marks references made by {@linkcode taskModule}; private, so nothing else can mint one. */
const referenceBrand: unique symbol = Symbol("osiiso.TaskReference");

/**
 * An immutable name for a function exported by a module: its module's
 * absolute URL and the export's name. Thread and process queues send it to a
 * worker or child, which imports the module once and calls the export;
 * `AsyncQueue` imports it on the calling thread.
 *
 * `F` is the export's function type. It exists only for the type checker, so
 * that `q.submit(tasks.score, [doc])` checks `doc` against `score`'s
 * parameters and types the handle with its result.
 *
 * @example Reference an export of a task module
 * ```ts
 * import { type TaskReference, taskModule } from "@osiiso/osiiso";
 *
 * interface Tasks {
 *   score(doc: string): number;
 * }
 * const tasks = taskModule<Tasks>(new URL("./tasks.ts", import.meta.url));
 * const score: TaskReference<(doc: string) => number> = tasks.score;
 * console.log(score.url, score.exportName); // file:///…/tasks.ts score
 * ```
 */
export interface TaskReference<F = (...args: never[]) => unknown> {
  /** The module's absolute URL (`file:`, `https:`, `data:` …). */
  readonly url: string;
  /** The export's name in that module. */
  readonly exportName: string;
  /** The default task name: the export's name. */
  readonly name: string;
  /**
   * Type-only: carries the export's function type `F` for the type checker.
   * Never present at run time.
   */
  readonly "~signature"?: F;
}

/**
 * The parameter list of the function a {@linkcode TaskReference} names.
 */
export type TaskReferenceArgs<R> = R extends TaskReference<infer F>
  ? F extends (...args: infer A) => unknown ? A : never
  : never;

/**
 * The return type of the function a {@linkcode TaskReference} names (a
 * promise for an async export; wrap it in `Awaited` for the settled value).
 */
export type TaskReferenceResult<R> = R extends TaskReference<infer F>
  ? F extends (...args: never[]) => infer T ? T : never
  : never;

/**
 * What {@linkcode taskModule} returns for a module type `M`: one
 * {@linkcode TaskReference} per function-valued export of `M` (other exports,
 * and one named `then`, are left out).
 *
 * @example
 * ```ts
 * import { type TaskModule, taskModule } from "@osiiso/osiiso";
 *
 * interface Tasks {
 *   score(doc: string): number;
 *   LIMIT: number;
 * }
 * const tasks: TaskModule<Tasks> = taskModule<Tasks>("file:///srv/tasks.ts");
 * tasks.score; // TaskReference<(doc: string) => number>; `tasks.LIMIT` is a type error
 * ```
 */
export type TaskModule<M> = {
  readonly [
    K in keyof M as K extends "then" ? never
      : K extends string ? (M[K] extends (...args: never[]) => unknown ? K : never)
      : never
  ]: TaskReference<M[K]>;
};

/**
 * Names the exports of a task module so that thread and process queues can
 * run them: each property of the result is a {@linkcode TaskReference} to the
 * export of that name (made once per name, then reused). Nothing is imported
 * here; the worker or child imports the module when a task first needs it,
 * so any plain module, `.ts` or `.js`, works and needs nothing inside.
 *
 * Pass the module's type (`import type * as Tasks from "./tasks.ts"`) as `M`
 * so that arguments and results are type-checked.
 *
 * @param url The module: a `URL` or an absolute URL string, usually
 *   `new URL("./tasks.ts", import.meta.url)`.
 * @returns An object whose property `name` is a reference to export `name`.
 * @throws {TypeError} If `url` is not a `URL` or an absolute URL string.
 *
 * @example Run a module's export on a thread pool
 * ```ts
 * import { taskModule, ThreadQueue } from "@osiiso/osiiso";
 *
 * // A program names its own file: `taskModule<typeof Tasks>(new URL("./tasks.ts",
 * // import.meta.url))` with `import type * as Tasks from "./tasks.ts"`.
 * const source = "export function score(text) { return text.length; }";
 * const url = `data:text/javascript,${encodeURIComponent(source)}`;
 * const tasks = taskModule<{ score(text: string): number }>(url);
 * await using q = new ThreadQueue({ workers: 2 }).start();
 * const handle = q.submit(tasks.score, ["some document"]);
 * console.log(await handle); // 13
 * ```
 */
export function taskModule<M = Record<string, (...args: never[]) => unknown>>(
  url: URL | string,
): TaskModule<M> {
  const href = absoluteModuleUrl(url);
  const references = new Map<string, TaskReference>();
  const handler: ProxyHandler<object> = {
    get(_target, key) {
      // Promise resolution probes `then`: answering it would make `await`
      // (or returning the module from an async function) treat it as a thenable.
      if (typeof key !== "string" || key === "then") return undefined;
      let reference = references.get(key);
      if (reference === undefined) {
        reference = makeReference(href, key);
        references.set(key, reference);
      }
      return reference;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  };
  return new Proxy(Object.create(null), handler) as TaskModule<M>;
}

function absoluteModuleUrl(url: unknown): string {
  if (url instanceof URL) return url.href;
  if (typeof url === "string" && URL.canParse(url)) return new URL(url).href;
  throw new TypeError(invalidMessage("create task module", "url", "an absolute URL", url));
}

function makeReference(url: string, exportName: string): TaskReference {
  const reference = { url, exportName, name: exportName };
  // Not enumerable: a reference crosses to a worker as plain `{ url, exportName, name }`.
  Object.defineProperty(reference, referenceBrand, { value: true });
  return Object.freeze(reference);
}

/**
 * Whether `value` is a {@linkcode TaskReference} made by
 * {@linkcode taskModule} (a look-alike plain object is not).
 */
export function isTaskReference(value: unknown): value is TaskReference {
  return typeof value === "object" && value !== null &&
    (value as { [referenceBrand]?: unknown })[referenceBrand] === true;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();
const resolved = new Map<string, Promise<(...args: unknown[]) => unknown>>();

/**
 * Imports the module a reference names (once per URL) and returns the
 * exported function. Accepts a reference made by {@linkcode taskModule} or
 * the plain `{ url, exportName }` it becomes after crossing to a worker.
 *
 * @returns A promise of the export; it rejects with an `Error` when the module
 *   cannot be imported or has no export of that name, and with a `TypeError`
 *   when the export is not a function.
 */
export function resolveTaskReference(
  reference: Pick<TaskReference, "url" | "exportName">,
): Promise<(...args: unknown[]) => unknown> {
  const { url, exportName } = reference;
  const key = `${exportName}\u0000${url}`;
  let found = resolved.get(key);
  if (found === undefined) {
    found = importTaskModule(url).then((module) => {
      if (!(exportName in module)) throw new Error(`module '${url}' has no export '${exportName}'`);
      const value = module[exportName];
      if (typeof value !== "function") {
        throw new TypeError(
          `module '${url}' export '${exportName}' is not a function: it is ${
            value === null ? "null" : typeof value
          }`,
        );
      }
      return value as (...args: unknown[]) => unknown;
    });
    resolved.set(key, found);
    // A failure is not remembered: the module may exist by the next attempt.
    found.catch(() => resolved.delete(key));
  }
  return found;
}

/**
 * Starts importing a task module ahead of the first task that needs it, so
 * that the work overlaps with a worker's start-up. A failure is not reported
 * here: the module is imported again by that task, which fails with the
 * reason.
 */
export function preloadTaskModule(url: string): void {
  importTaskModule(url).catch(() => {});
}

function importTaskModule(url: string): Promise<Record<string, unknown>> {
  let module = modules.get(url);
  if (module === undefined) {
    module = import(url).then(
      (namespace: Record<string, unknown>) => namespace,
      (cause: unknown) => {
        modules.delete(url);
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new Error(`cannot import task module '${url}': ${reason}`, { cause });
      },
    );
    modules.set(url, module);
  }
  return module;
}

/**
 * The default name of a task: the function's `name`, or the export's name for
 * a {@linkcode TaskReference}; `"anonymous"` when that is empty.
 */
export function sourceName(source: ((...args: never[]) => unknown) | TaskReference): string {
  const name: unknown = source.name;
  return typeof name === "string" && name !== "" ? name : "anonymous";
}

// ---------------------------------------------------------------------------
// Inline functions: rebuilding in the worker

const revived = new Map<string, (...args: unknown[]) => unknown>();
const revivedLimit = 256;

/**
 * Rebuilds an inline task function from the text {@linkcode functionSource}
 * produced (on the worker or child side). The function is made in the global
 * scope, in strict mode as module code is, and kept for the next task with
 * the same source.
 *
 * @throws {SyntaxError} If `source` is not valid JavaScript.
 * @throws {TypeError} If it does not evaluate to a function.
 */
export function reviveFunction(source: string): (...args: unknown[]) => unknown {
  let fn = revived.get(source);
  if (fn === undefined) {
    // Safe to evaluate: this is the caller's own function text, produced by
    // Function.prototype.toString in the queue's own process and checked to
    // be one function expression; it is never data from elsewhere.
    const value: unknown = compileFunctionExpression(source)();
    if (typeof value !== "function") {
      throw new TypeError(`task source does not evaluate to a function: ${source.slice(0, 80)}`);
    }
    fn = value as (...args: unknown[]) => unknown;
    if (revived.size >= revivedLimit) revived.delete(revived.keys().next().value as string);
    revived.set(source, fn);
  }
  return fn;
}

/** Compiles (without running) a function that returns the expression `source`. */
export function compileFunctionExpression(source: string): () => unknown {
  // The new line keeps a trailing line comment from swallowing the parenthesis.
  return new Function(`"use strict";\nreturn (${source}\n);`) as () => unknown;
}

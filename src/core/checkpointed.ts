/**
 * Submitting with a checkpoint: the `checkpoint`, `key` and `namespace`
 * options of `map`, `starmap`, `group` and bound tasks. Every key is derived
 * first, one batched look-up finds what is already recorded, those items get
 * restored handles (born succeeded, never enqueued), the rest are submitted,
 * and each of their successes is recorded through the store's write buffer.
 *
 * Each queue flushes the stores it recorded into once per burst of
 * completions (a zero-delay timer armed by the first record of the burst)
 * and before its `run()`, `join()` or `shutdown()` resolves.
 *
 * @module
 */

import { Checkpoint, type CheckpointStore, checkpointStore } from "./checkpoint.ts";
import {
  checkpointKeyFor,
  type CheckpointKeyFunction,
  isNumericKey,
  keyText,
  type StoreKey,
  storeKeyFor,
} from "./checkpoint_key.ts";
import { TaskHandle } from "./handle.ts";
import type { TaskSource } from "./executor.ts";
import type { ResolvedTaskOptions } from "./options.ts";
import type { QueueEngine } from "./queue.ts";
import { TaskResult } from "./result.ts";
import { releaseResource, trackResource } from "./resources.ts";
import { sourceName } from "./task_reference.ts";
import { describeValue, invalidMessage } from "./validate.ts";

/**
 * The options that make a `map`, `starmap`, `group` or bound task's `map`
 * resume from a {@linkcode Checkpoint}: items already recorded there come
 * back as finished handles, and each new success is recorded.
 *
 * @example
 * ```ts
 * import { AsyncQueue, Checkpoint, type CheckpointMapOptions } from "@osiiso/osiiso";
 * await using checkpoint = new Checkpoint();
 * const options: CheckpointMapOptions<number> = { checkpoint, namespace: "double" };
 * const q = new AsyncQueue();
 * q.map((n: number) => n * 2, [1, 2], options);
 * await q.run();
 * console.log(await checkpoint.count("double")); // 2
 * ```
 */
export interface CheckpointMapOptions<T = never> {
  /** Where successes are recorded and looked up. */
  checkpoint?: Checkpoint;
  /**
   * Derives an item's key (its result goes through `String()`). Default: the
   * item's canonical JSON (object keys sorted). For a heterogeneous group it
   * receives the whole entry `[task, ...args]`.
   */
  key?(item: T): unknown;
  /**
   * The namespace of the keys. Default: the task function's name; for a
   * heterogeneous group, the explicit `groupId` (one of the two is required).
   */
  namespace?: string;
}

/** The checked checkpoint options of one call. */
export interface CheckpointUse {
  readonly store: CheckpointStore;
  readonly key: CheckpointKeyFunction<unknown> | undefined;
  readonly namespace: string | undefined;
}

/**
 * Takes `checkpoint`, `key` and `namespace` out of raw options. Options
 * without them come back as they are (the common case costs three property
 * reads), so the task options' own check still refuses them elsewhere.
 */
export function splitCheckpointOptions(
  action: string,
  options: unknown,
): { use: CheckpointUse | undefined; rest: unknown } {
  if (options === null || typeof options !== "object") return { use: undefined, rest: options };
  const given = options as CheckpointMapOptions<unknown> & Record<string, unknown>;
  if (given.checkpoint === undefined && given.key === undefined && given.namespace === undefined) {
    return { use: undefined, rest: options };
  }
  const { checkpoint, key, namespace, ...rest } = given;
  if (!(checkpoint instanceof Checkpoint)) {
    throw new TypeError(
      `Cannot ${action} as 'checkpoint' must be a Checkpoint` +
        (checkpoint === undefined ? " when 'key' or 'namespace' is given" : "") +
        `: current value is ${describeValue(checkpoint)}`,
    );
  }
  if (key !== undefined && typeof key !== "function") {
    throw new TypeError(invalidMessage(action, "key", "a function", key));
  }
  if (namespace !== undefined && typeof namespace !== "string") {
    throw new TypeError(invalidMessage(action, "namespace", "a string", namespace));
  }
  return { use: { store: checkpointStore(checkpoint), key, namespace }, rest };
}

/** The default key source of a `map` item: the item. */
const itemItself = (item: unknown): unknown => item;

/**
 * `source` over `items` with a checkpoint: `source(...argsOf(item))` for each
 * item not yet recorded. The default namespace is the function's name.
 */
export function submitEachCheckpointed(
  engine: QueueEngine,
  use: CheckpointUse,
  source: TaskSource,
  items: readonly unknown[],
  argsOf: (item: unknown) => readonly unknown[],
  options: ResolvedTaskOptions,
): TaskHandle<unknown>[] {
  const spec: RestoreSpec = {
    name: options.name ?? sourceName(source),
    options,
    groupId: options.groupId ?? null,
  };
  return submitCheckpointed(
    engine,
    use,
    use.namespace ?? sourceName(source),
    items,
    itemItself,
    () => spec,
    (misses, recordSuccess) =>
      engine.submitEachResolved(
        source,
        misses === undefined
          ? items.map((item) => argsOf(item))
          : misses.map((i) => argsOf(items[i])),
        { ...options, recordSuccess },
      ),
  );
}

/**
 * The namespace of a heterogeneous group with a checkpoint: `namespace`,
 * else the explicit `groupId`; a generated group id would never match on
 * the next run, so neither is a TypeError.
 */
export function entriesNamespace(use: CheckpointUse, explicitGroupId: string | undefined): string {
  const namespace = use.namespace ?? explicitGroupId;
  if (namespace === undefined) {
    throw new TypeError(
      "Cannot submit group as 'namespace' must be a string when a heterogeneous group has a " +
        "checkpoint (it needs a stable name: pass namespace or an explicit groupId, since a " +
        "generated group id never matches on resume): current value is undefined",
    );
  }
  return namespace;
}

/**
 * Checked `[source, ...args]` entries with a checkpoint. The default key of
 * an entry is the canonical JSON of `[name, args]`, so the same arguments to
 * another function are another key.
 */
export function submitEntriesCheckpointed(
  engine: QueueEngine,
  use: CheckpointUse,
  namespace: string,
  entries: readonly (readonly unknown[])[],
  options: ResolvedTaskOptions,
  groupId: string,
): TaskHandle<unknown>[] {
  return submitCheckpointed(
    engine,
    use,
    namespace,
    entries,
    (entry) => {
      const [source, ...args] = entry as unknown[];
      return [sourceName(source as TaskSource), args];
    },
    (i) => ({
      name: options.name ?? sourceName(entries[i][0] as TaskSource),
      options,
      groupId,
    }),
    (misses, recordSuccess) =>
      engine.submitEntriesResolved(
        misses === undefined ? entries : misses.map((i) => entries[i]),
        { ...options, recordSuccess },
      ),
  );
}

/**
 * The store key of each item. Items that are their own keys (a `map` over
 * whole numbers) are checked and copied as a list: 200,000 keys pushed one
 * by one cost 8–9 ms on a first run, the check and the copy 3–6 ms.
 */
function storeKeys(
  items: readonly unknown[],
  keyFunction: CheckpointKeyFunction<unknown> | undefined,
  defaultKeyOf: (item: unknown) => unknown,
): StoreKey[] {
  if (keyFunction === undefined && defaultKeyOf === itemItself && items.every(isNumericKey)) {
    return items.slice() as number[];
  }
  // Lists grown by push: V8 makes `new Array(n)` of more than 100,000
  // entries a slow dictionary, which cost a 200,000-item map 0.1 s.
  const keys: StoreKey[] = [];
  for (let i = 0; i < items.length; i++) {
    keys.push(
      keyFunction === undefined
        ? storeKeyFor(defaultKeyOf(items[i]))
        : checkpointKeyFor(items[i], keyFunction),
    );
  }
  return keys;
}

/** What the restored handles of one call carry. */
interface RestoreSpec {
  readonly name: string;
  readonly options: ResolvedTaskOptions;
  readonly groupId: string | null;
}

/**
 * The handles of a checkpointed submission, in input order: a restored
 * handle for each recorded key, and for the rest what `submitMisses` returns
 * (it gets the indices of the misses, or `undefined` for every item, and
 * must return their handles in that order, submitted with options whose
 * `recordSuccess` is the one given). Keys are all derived (and may throw)
 * before anything is submitted.
 */
function submitCheckpointed(
  engine: QueueEngine,
  use: CheckpointUse,
  namespace: string,
  items: readonly unknown[],
  defaultKeyOf: (item: unknown) => unknown,
  restore: (index: number) => RestoreSpec,
  submitMisses: (
    indices: number[] | undefined,
    recordSuccess: NonNullable<ResolvedTaskOptions["recordSuccess"]>,
  ) => readonly TaskHandle<unknown>[],
): TaskHandle<unknown>[] {
  const keys = storeKeys(items, use.key, defaultKeyOf);
  const store = use.store;
  const hits = store.lookupNow(namespace, keys);
  const recorder = new SuccessRecorder(flusherOf(engine), store, namespace);
  if (hits.size === 0) {
    // Nothing recorded yet (a first run): every item is submitted, and no
    // lists of restored handles and misses are built.
    const submitted = submitMisses(undefined, recorder.record);
    recorder.follow(submitted, keys);
    return submitted as TaskHandle<unknown>[];
  }
  const restored: (TaskHandle<unknown> | undefined)[] = [];
  const misses: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const hit = hits.get(keyText(keys[i]));
    if (hit === undefined) misses.push(i);
    restored.push(hit && restoredHandle(restore(i), hit.value, hit.hasValue));
  }
  if (misses.length === 0) return restored as TaskHandle<unknown>[];
  const submitted = submitMisses(misses, recorder.record);
  recorder.follow(submitted, misses.map((i) => keys[i]));
  const handles: TaskHandle<unknown>[] = [];
  let miss = 0;
  for (let i = 0; i < items.length; i++) handles.push(restored[i] ?? submitted[miss++]);
  return handles;
}

/**
 * Records the successes of one checkpointed submission under their keys.
 * The engine calls `record` for each task that succeeds (the submission's
 * `recordSuccess` option): no callback is added to every handle, which cost
 * more than writing the row. The tasks of one submission have consecutive
 * ids, so a task's key is found from its id.
 */
class SuccessRecorder {
  private readonly flusher: CheckpointFlusher;
  private readonly store: CheckpointStore;
  private readonly namespace: string;
  private keys: StoreKey[] = [];
  private firstId = 0;
  /** Keys by task, if the ids were not consecutive after all. */
  private keyByTask: Map<TaskHandle<unknown>, StoreKey> | undefined = undefined;

  constructor(flusher: CheckpointFlusher, store: CheckpointStore, namespace: string) {
    this.flusher = flusher;
    this.store = store;
    this.namespace = namespace;
  }

  /** Takes the submitted tasks and their keys (`keys[i]` is the key of `tasks[i]`). */
  follow(tasks: readonly TaskHandle<unknown>[], keys: StoreKey[]): void {
    const firstId = tasks.length === 0 ? 0 : tasks[0]._id as number;
    // Ids only grow, so the first and the last tell whether they are consecutive.
    if (tasks.length === 0 || tasks[tasks.length - 1]._id === firstId + tasks.length - 1) {
      this.keys = keys;
      this.firstId = firstId;
    } else {
      this.keyByTask = new Map(tasks.map((task, index) => [task, keys[index]]));
    }
  }

  readonly record = (task: TaskHandle<unknown>, value: unknown): void => {
    const key = this.keyByTask === undefined
      ? this.keys[(task._id as number) - this.firstId]
      : this.keyByTask.get(task)!;
    this.flusher.record(this.store, this.namespace, key, value, task.name);
  };
}

/** A handle born succeeded with a recorded value: never enqueued, no hooks, no summary. */
function restoredHandle(spec: RestoreSpec, value: unknown, hasValue: boolean): TaskHandle<unknown> {
  const options = spec.options;
  return TaskHandle.fromResult(
    new TaskResult({
      taskId: crypto.randomUUID(),
      name: spec.name,
      status: "succeeded",
      value: hasValue ? value : undefined,
      attempts: 0,
      priority: options.priority,
      mustComplete: options.mustComplete,
      groupId: spec.groupId,
      detached: options.detached,
      metadata: options.metadata,
      message: hasValue
        ? "restored from checkpoint"
        : "restored from checkpoint (value not retained)",
    }),
  );
}

/**
 * One queue's pending checkpoint writes: the stores it recorded into since
 * its last flush, and the burst timer.
 */
class CheckpointFlusher {
  private readonly engine: QueueEngine;
  private dirty = new Set<CheckpointStore>();
  /** The store last added to `dirty`, while it is still there. */
  private lastDirty: CheckpointStore | undefined = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private timerToken = 0;

  constructor(engine: QueueEngine) {
    this.engine = engine;
  }

  record(
    store: CheckpointStore,
    namespace: string,
    key: StoreKey,
    value: unknown,
    name: string,
  ): void {
    try {
      store.recordLater(namespace, key, value, name);
    } catch (error) {
      this.engine.reportCallbackError(error, "checkpoint");
      return;
    }
    // Most records go to the store of the one before.
    if (store !== this.lastDirty) {
      this.dirty.add(store);
      this.lastDirty = store;
    }
    if (this.timer === undefined) {
      this.timerToken = trackResource("timers", "checkpoint flush");
      this.timer = setTimeout(() => {
        this.clearTimer();
        try {
          this.flush();
        } catch (error) {
          this.engine.reportCallbackError(error, "checkpoint");
        }
      }, 0);
    }
  }

  /** Writes every dirty store; the first failure is thrown after trying them all. */
  flush(): void {
    this.clearTimer();
    this.lastDirty = undefined;
    if (this.dirty.size === 0) return;
    let failure: { error: unknown } | undefined;
    for (const store of this.dirty) {
      try {
        // A store closed since then wrote its rows when it closed.
        if (!store.closed) store.flush();
        this.dirty.delete(store);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    releaseResource(this.timerToken);
    this.timer = undefined;
  }
}

const flushers = new WeakMap<QueueEngine, CheckpointFlusher>();

function flusherOf(engine: QueueEngine): CheckpointFlusher {
  let flusher = flushers.get(engine);
  if (flusher === undefined) {
    flusher = new CheckpointFlusher(engine);
    flushers.set(engine, flusher);
  }
  return flusher;
}

/**
 * Writes what `engine`'s checkpointed tasks have recorded; throws what the
 * write threw. Nothing to do for a queue that never used a checkpoint.
 */
export function flushCheckpoints(engine: QueueEngine): void {
  flushers.get(engine)?.flush();
}

/** Whether `engine` has ever submitted with a checkpoint (its lifecycle calls then flush). */
export function usesCheckpoints(engine: QueueEngine): boolean {
  return flushers.has(engine);
}

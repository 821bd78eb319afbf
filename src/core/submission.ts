/**
 * What the submit methods share beyond the engine: the checks on their
 * iterables and bound tasks (`queue.task(fn)`), which submit through the
 * engine with options resolved once at bind time.
 *
 * @module
 */

import { splitCheckpointOptions, submitEachCheckpointed } from "./checkpointed.ts";
import type { TaskSource } from "./executor.ts";
import { TaskGroup } from "./group.ts";
import { submitGroup } from "./group_submission.ts";
import { type ResolvedTaskOptions, resolveTaskOptions, type TaskOptions } from "./options.ts";
import type { QueueEngine } from "./queue.ts";
import type { BoundTask } from "./queue_types.ts";
import { sourceName } from "./task_reference.ts";
import { checkArray } from "./validate.ts";

/** Whether `value` is iterable (a string is not: it would submit one task per character). */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && value !== undefined &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function" &&
    typeof value !== "string";
}

/** `items` as an array (itself when it is one), or a TypeError naming `name`. */
export function iterableToArray<T>(action: string, name: string, items: Iterable<T>): T[] {
  if (Array.isArray(items)) return items;
  if (!isIterable(items)) {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be iterable: current value is ${typeof items}`,
    );
  }
  return [...items];
}

/** The argument lists of a starmap, each checked to be an array. */
export function argListsOf(action: string, argLists: Iterable<unknown[]>): unknown[][] {
  const lists = iterableToArray(action, "argLists", argLists);
  lists.forEach((args, index) => {
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot ${action} as 'argLists[${index}]' must be an array: current value is ${typeof args}`,
      );
    }
  });
  return lists;
}

/**
 * A bound task: `task` with `bound` options on `queue`. Overrides merge onto
 * the resolved options, and every submission goes to the engine with them
 * (no round trip through raw options).
 */
export function bindTask<A extends unknown[], R>(
  queue: QueueEngine,
  task: TaskSource,
  bound: ResolvedTaskOptions,
): BoundTask<A, R> {
  const merged = (overrides?: unknown) =>
    overrides === undefined ? bound : resolveTaskOptions(overrides, bound);
  const call = (...args: A) => queue.submitResolved(task, args, bound);
  const name = bound.name ?? sourceName(task);
  Object.defineProperty(call, "name", { value: name });
  const extras = {
    taskName: name,
    withOptions: (overrides: TaskOptions) => {
      const resolved = merged(overrides);
      return (...args: A) => queue.submitResolved(task, args, resolved);
    },
    submit: (args: A, overrides?: TaskOptions) => {
      checkArray("submit task", "args", args);
      return queue.submitResolved(task, args, merged(overrides));
    },
    map: (items: Iterable<A[0]>, overrides?: TaskOptions) => {
      const { use, rest } = splitCheckpointOptions("map tasks", overrides);
      const resolved = merged(rest);
      const list = iterableToArray("map tasks", "items", items);
      if (use !== undefined) {
        return submitEachCheckpointed(queue, use, task, list, (item) => [item], resolved);
      }
      return queue.submitEachResolved(task, list.map((item) => [item]), resolved);
    },
    starmap: (argLists: Iterable<A>, overrides?: TaskOptions) => {
      const { use, rest } = splitCheckpointOptions("starmap tasks", overrides);
      const resolved = merged(rest);
      const lists = argListsOf("starmap tasks", argLists);
      if (use !== undefined) {
        return submitEachCheckpointed(queue, use, task, lists, (args) => args as A, resolved);
      }
      return queue.submitEachResolved(task, lists, resolved);
    },
    group: (items: Iterable<A[0]>, overrides?: TaskOptions) => {
      const { use, rest } = splitCheckpointOptions("submit group", overrides);
      const resolved = merged(rest);
      const list = iterableToArray("submit group", "items", items);
      if (use === undefined) return submitGroup(queue, task, list, resolved);
      const groupId = resolved.groupId ?? queue.nextGroupId();
      const withId = resolveTaskOptions({ groupId }, resolved);
      const handles = submitEachCheckpointed(queue, use, task, list, (item) => [item], withId);
      return new TaskGroup(groupId, handles);
    },
  };
  return Object.assign(call, extras) as unknown as BoundTask<A, R>;
}

/**
 * Submitting a group: its tasks admitted together (all or none) under one
 * group id, handed back as one `TaskGroup` that times its waits on the
 * queue's clock.
 *
 * @module
 */

import type { TaskSource } from "./executor.ts";
import { TaskGroup } from "./group.ts";
import { type ResolvedTaskOptions, resolveTaskOptions } from "./options.ts";
import type { QueueEngine } from "./queue.ts";

/** A homogeneous group of a checked source: `source(item)` for each item. */
export function submitGroup(
  engine: QueueEngine,
  source: TaskSource,
  items: readonly unknown[],
  options: ResolvedTaskOptions,
  groupId: string = options.groupId ?? engine.nextGroupId(),
): TaskGroup<unknown> {
  const resolved = options.groupId === groupId ? options : resolveTaskOptions({ groupId }, options);
  const handles = engine.submitEachResolved(source, items.map((item) => [item]), resolved);
  return new TaskGroup(groupId, handles, engine.clock);
}

/** A heterogeneous group of checked `[source, ...args]` entries; `options` carry `groupId`. */
export function submitEntries(
  engine: QueueEngine,
  entries: readonly (readonly unknown[])[],
  options: ResolvedTaskOptions,
  groupId: string,
): TaskGroup<unknown> {
  return new TaskGroup(groupId, engine.submitEntriesResolved(entries, options), engine.clock);
}

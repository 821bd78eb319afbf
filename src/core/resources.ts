/**
 * A ledger of everything the library keeps alive: timers, workers, child
 * processes and listeners. Every place that starts one registers it here and
 * releases it when it is gone, so tests can prove that nothing outlives a
 * queue (neither runtime's sanitizer covers `node:test`).
 *
 * @module
 */

/** The kinds of resources the ledger counts. */
export type ResourceKind = "timers" | "workers" | "children" | "listeners";

const live: Record<ResourceKind, number> = { timers: 0, workers: 0, children: 0, listeners: 0 };
const labels = new Map<number, { kind: ResourceKind; label: string }>();
let nextToken = 1;

/** Records that a resource was started; returns a token for {@linkcode releaseResource}. */
export function trackResource(kind: ResourceKind, label: string): number {
  live[kind]++;
  const token = nextToken++;
  labels.set(token, { kind, label });
  return token;
}

/** Records that a resource is gone. Releasing a token twice is harmless. */
export function releaseResource(token: number): void {
  const entry = labels.get(token);
  if (entry === undefined) return;
  labels.delete(token);
  live[entry.kind]--;
}

/** Counts the timers the library's clocks hold, without labels (hot path). */
export function countTimer(delta: 1 | -1): void {
  live.timers += delta;
}

/** How many resources of each kind are alive now. */
export function liveResources(): Readonly<Record<ResourceKind, number>> {
  return { ...live };
}

/** Labels of the tracked resources still alive (timers are counted only). */
export function liveResourceLabels(): string[] {
  return [...labels.values()].map((entry) => `${entry.kind}: ${entry.label}`);
}

const abandoned = new Map<number, string>();

/**
 * Records a worker the library gave up on but could not stop (Deno cannot
 * terminate a worker stuck in synchronous code); `run(main)` ends the
 * process when such a worker remains after `main` settles.
 */
export function recordAbandoned(label: string): number {
  const token = nextToken++;
  abandoned.set(token, label);
  return token;
}

/** Forgets an abandoned worker (it ended after all). */
export function forgetAbandoned(token: number): void {
  abandoned.delete(token);
}

/** Labels of abandoned workers that may still be running. */
export function abandonedLabels(): string[] {
  return [...abandoned.values()];
}

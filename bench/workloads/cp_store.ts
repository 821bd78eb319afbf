/**
 * CP: the checkpoint store on its own (no queue): how fast the engine's
 * batched writes go, how long resuming a large run takes (opening the file
 * and looking up every key), and how large the file is per record.
 *
 * @module
 */

import type { Measurement, Workload } from "../types.ts";

/** Items written through `recordLater` + `flush`. */
export const WRITE_ITEMS = 200_000;
/** Items recorded, then looked up all at once after reopening the file. */
export const RESUME_ITEMS = 1_000_000;
/** Completions per flush: about what one burst of finished tasks gives. */
export const FLUSH_EVERY = 1_000;

interface StoreLike {
  lookupNow(namespace: string, keys: readonly string[]): Map<string, unknown>;
  recordLater(namespace: string, key: string, value: unknown, name: string | null): boolean;
  flush(): void;
}

interface CheckpointLike {
  close(): Promise<void>;
}

interface CheckpointModule {
  Checkpoint: new (path: string) => CheckpointLike;
  checkpointStore(checkpoint: CheckpointLike): StoreLike;
}

interface KeyModule {
  checkpointKeyFor(item: unknown): string;
}

/** The file calls the workload makes (typed here: `deno check bench/` has no Node types). */
interface FileSystem {
  mkdtempSync(prefix: string): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  statSync(path: string): { size: number };
}

const { getBuiltinModule } = (globalThis as unknown as {
  process: { getBuiltinModule(id: string): unknown };
}).process;

async function loadModules(): Promise<[CheckpointModule, KeyModule]> {
  // Computed specifiers, so `deno check bench/` does not follow the
  // library's node: imports (see lib/osiiso.ts).
  const store = new URL("../../src/core/checkpoint.ts", import.meta.url).href;
  const keys = new URL("../../src/core/checkpoint_key.ts", import.meta.url).href;
  // The entry module gives the store its runtime's SQLite binding.
  await import(new URL("../../mod.ts", import.meta.url).href);
  return [await import(store), await import(keys)];
}

function fileBytes(fs: FileSystem, path: string): number {
  let total = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      total += fs.statSync(path + suffix).size;
    } catch { /* not there */ }
  }
  return total;
}

/** Writes `count` items (key = canonical JSON of i, value = 2i) in batches; returns seconds. */
function writeItems(store: StoreLike, keys: readonly string[], batch: number): number {
  const started = performance.now();
  for (let i = 0; i < keys.length; i++) {
    store.recordLater("double", keys[i], 2 * i, "double");
    if ((i + 1) % batch === 0) store.flush();
  }
  store.flush();
  return (performance.now() - started) / 1000;
}

/** Every CP figure from one process. */
export async function measureCheckpointStore(): Promise<Measurement> {
  const [{ Checkpoint, checkpointStore }, { checkpointKeyFor }] = await loadModules();
  const fs = getBuiltinModule("node:fs") as FileSystem;
  const { tmpdir } = getBuiltinModule("node:os") as { tmpdir(): string };
  const dir = fs.mkdtempSync(`${tmpdir()}/osiiso-cp-bench-`);
  try {
    const keys = Array.from({ length: RESUME_ITEMS }, (_, i) => checkpointKeyFor(i));

    const writePath = `${dir}/write.db`;
    let checkpoint = new Checkpoint(writePath);
    const writeSeconds = writeItems(
      checkpointStore(checkpoint),
      keys.slice(0, WRITE_ITEMS),
      FLUSH_EVERY,
    );
    await checkpoint.close();
    const bytesPerRecord = fileBytes(fs, writePath) / WRITE_ITEMS;

    const resumePath = `${dir}/resume.db`;
    checkpoint = new Checkpoint(resumePath);
    writeItems(checkpointStore(checkpoint), keys, 10_000);
    await checkpoint.close();

    const started = performance.now();
    checkpoint = new Checkpoint(resumePath);
    const hits = checkpointStore(checkpoint).lookupNow("double", keys);
    const resumeMs = performance.now() - started;
    await checkpoint.close();
    if (hits.size !== RESUME_ITEMS) {
      throw new Error(`expected ${RESUME_ITEMS} hits, got ${hits.size}`);
    }
    return {
      value: resumeMs,
      detail: {
        writeRowsPerSecond: Math.round(WRITE_ITEMS / writeSeconds),
        bytesPerRecord: Math.round(bytesPerRecord * 10) / 10,
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CP as the registry lists it. */
export const cpStore: Workload = {
  describe: `checkpoint store: reopen and look up ${RESUME_ITEMS.toLocaleString("en-US")} ` +
    `recorded keys at once (detail: ${WRITE_ITEMS.toLocaleString("en-US")} writes in batches ` +
    `of ${FLUSH_EVERY.toLocaleString("en-US")}, file bytes per record)`,
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target: "resuming 1M recorded items ≤ 3 s (3,000 ms)",
  timeoutMs: 180_000,
  formatCell: (ms) => ms.toFixed(0),
  impls: { osiiso: measureCheckpointStore },
};

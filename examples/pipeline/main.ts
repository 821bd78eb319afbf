/**
 * An offline Hacker News pipeline in three stages, one per queue:
 *
 * 1. fetch (AsyncQueue): the three feeds, then the items, then their
 *    authors, from a local fixture server that fails and stalls on purpose
 *    (retries with backoff, per-task timeouts, priorities, a run timeout);
 *    items and users are checkpointed, so a second run restores them and a
 *    run killed halfway resumes;
 * 2. persist (ThreadQueue): every item and user written to SQLite from four
 *    workers (`mustComplete` writes, a delayed metric);
 * 3. analyze (ProcessQueue): score summary and keywords, and a ranking of
 *    every item, in child processes.
 *
 * `deno task pipeline [--limit N] [--database PATH] [--checkpoint PATH]
 * [--no-checkpoint] [--reset-checkpoint]` (or `bun examples/pipeline/main.ts …`).
 *
 * @module
 */

import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AsyncQueue,
  Checkpoint,
  type GroupEntry,
  ProcessQueue,
  run,
  type TaskGroup,
  type TaskHandle,
  taskModule,
  ThreadQueue,
} from "../../mod.ts";
import type * as Analytics from "./analytics.ts";
import type * as StoreTasks from "./store_tasks.ts";
import { counts, createSchema } from "./store_tasks.ts";
import { startFixtureServer } from "./fixture_server.ts";

const analytics = taskModule<typeof Analytics>(new URL("./analytics.ts", import.meta.url));
const storeTasks = taskModule<typeof StoreTasks>(new URL("./store_tasks.ts", import.meta.url));

type Json = Record<string, unknown>;

interface Flags {
  limit: number;
  database: string;
  checkpoint: string | null;
  resetCheckpoint: boolean;
}

function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = {
    limit: 6,
    database: join(tmpdir(), "osiiso_hn_showcase.sqlite3"),
    checkpoint: join(tmpdir(), "osiiso_hn_checkpoint.sqlite3"),
    resetCheckpoint: false,
  };
  for (let i = 0; i < args.length; i++) {
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${args[i - 1]} needs a value`);
      return next;
    };
    switch (args[i]) {
      case "--limit":
        flags.limit = Number(value());
        if (!Number.isInteger(flags.limit) || flags.limit < 1) {
          throw new Error("--limit: a positive integer");
        }
        break;
      case "--database":
        flags.database = value();
        break;
      case "--checkpoint":
        flags.checkpoint = value();
        break;
      case "--no-checkpoint":
        flags.checkpoint = null;
        break;
      case "--reset-checkpoint":
        flags.resetCheckpoint = true;
        break;
      default:
        throw new Error(`unknown flag ${args[i]}`);
    }
  }
  return flags;
}

/** GET `url` as JSON; an HTTP error throws (and is retried). */
async function getJson(url: string, signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(url, { signal });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} for ${url}`);
  }
  return await response.json();
}

const restoredCount = (handles: Iterable<TaskHandle<unknown>>) =>
  [...handles].filter((h) => h.done() && h.result().attempts === 0).length;

const fetchOptions = { timeout: 250, retries: 2, retryDelay: 50, backoff: 2 };

async function fetchStage(base: string, limit: number, checkpoint: Checkpoint | undefined) {
  const events: string[] = [];
  const q = new AsyncQueue({
    workers: 8,
    timeout: 60_000,
    onComplete: (result) => void events.push(`${result.name}:${result.status}`),
    onRetry: (handle, error) =>
      console.log(`  retrying ${handle.name}: ${(error as Error).message}`),
  });
  // Feeds change from run to run: never checkpointed.
  const feeds = q.group(
    ["topstories", "newstories", "beststories"].map((name) =>
      [getJson, `${base}/${name}.json`] as GroupEntry
    ),
    { ...fetchOptions, priority: 0, groupId: "feeds", name: "fetch-feed" },
  );
  await q.run({ strict: true });
  const ids = [...new Set((await feeds.values()).flat() as number[])].slice(0, limit);

  q.reset();
  console.log(`Fetching ${ids.length} items…`);
  const items: TaskGroup<Json> = q.group(
    (id: number) => getJson(`${base}/item/${id}.json`) as Promise<Json>,
    ids,
    {
      ...fetchOptions,
      priority: 1,
      groupId: "items",
      name: "fetch-item",
      ...(checkpoint ? { checkpoint, namespace: "hn-item" } : {}),
    },
  );
  await q.run({ strict: true });
  const itemValues = await items.values();

  q.reset();
  const userIds = [...new Set(itemValues.map((item) => String(item.by)))].sort();
  const users = q.group(
    userIds.map((id) => [getJson, `${base}/user/${id}.json`] as GroupEntry),
    {
      ...fetchOptions,
      priority: 2,
      groupId: "users",
      name: "fetch-user",
      ...(checkpoint
        ? {
          checkpoint,
          namespace: "hn-user",
          key: (entry: GroupEntry) => String(entry[1]).split("/").at(-1),
        }
        : {}),
    },
  );
  await q.run({ strict: true });
  const userValues = (await users.values()) as Json[];
  await q.shutdown();
  return {
    items: itemValues,
    users: userValues,
    events,
    restoredItems: restoredCount(items),
    restoredUsers: restoredCount(users),
  };
}

async function persistStage(database: string, items: Json[], users: Json[]) {
  createSchema(database);
  await using q = new ThreadQueue({ workers: 4 });
  const save = { mustComplete: true, timeout: 3_000, retries: 1 };
  const savedItems = q.group(
    items.map((item) => [storeTasks.saveItem, database, item] as GroupEntry),
    { ...save, priority: 0, groupId: "items", name: "save-item" },
  );
  const savedUsers = q.group(
    users.map((user) => [storeTasks.saveUser, database, user] as GroupEntry),
    { ...save, priority: 1, groupId: "users", name: "save-user" },
  );
  q.submit(storeTasks.saveMetric, [database, "last_batch_items", items.length], {
    mustComplete: true,
    priority: 0,
    delay: 10,
    name: "save-metric",
  });
  const summary = await q.run({ strict: true });
  await savedItems.values();
  await savedUsers.values();
  return { summary, counts: counts(database) };
}

async function analyzeStage(items: Json[]) {
  await using q = new ProcessQueue({ workers: 2 });
  const options = { timeout: 10_000, retries: 1 };
  const summaries = q.group(
    [[analytics.summarizeScores, items], [analytics.keywordCounts, items]] as GroupEntry[],
    { ...options, priority: 0, groupId: "analytics", name: "analytics" },
  );
  q.map(analytics.rankItem, items as unknown as Analytics.Item[], {
    ...options,
    priority: 1,
    groupId: "rankings",
    name: "rank-item",
  });
  const summary = await q.run({ strict: true });
  const [scores, keywords] = await summaries.values();
  const rankings = summary.values
    .filter((value): value is { id: number; title: string; hotness: number } =>
      typeof value === "object" && value !== null && "hotness" in value
    )
    .sort((a, b) => b.hotness - a.hotness);
  return { scores, keywords, rankings };
}

await run(async () => {
  const flags = parseFlags(
    process.argv.slice(process.argv.findIndex((a) => a.endsWith("main.ts")) + 1),
  );
  const server = await startFixtureServer();
  const checkpoint = flags.checkpoint === null ? undefined : new Checkpoint(flags.checkpoint);
  try {
    if (checkpoint !== undefined && flags.resetCheckpoint) {
      console.log(`Cleared ${await checkpoint.clear()} checkpoint record(s).`);
    }
    const fetched = await fetchStage(server.url, flags.limit, checkpoint);
    const persisted = await persistStage(flags.database, fetched.items, fetched.users);
    const analyzed = await analyzeStage(fetched.items);

    console.log("\nOsiiso Hacker News showcase");
    console.log(`Database: ${flags.database}`);
    console.log(`Fetched items: ${fetched.items.length}`);
    console.log(`Fetched users: ${fetched.users.length}`);
    if (checkpoint !== undefined) {
      const line = (restored: number, total: number) =>
        `${restored}/${total} (fetched ${total - restored})`;
      console.log(`Checkpoint: ${flags.checkpoint}`);
      console.log(`  items restored: ${line(fetched.restoredItems, fetched.items.length)}`);
      console.log(`  users restored: ${line(fetched.restoredUsers, fetched.users.length)}`);
    }
    console.log(`Server requests: ${JSON.stringify(server.requests)}`);
    console.log(`SQLite counts: ${JSON.stringify(persisted.counts)}`);
    console.log(`Score summary: ${JSON.stringify(analyzed.scores)}`);
    console.log(`Top keywords: ${JSON.stringify(analyzed.keywords)}`);
    console.log("Top ranked items:");
    for (const item of analyzed.rankings.slice(0, 5)) {
      console.log(`  ${item.id}: ${item.hotness} - ${item.title}`);
    }
  } finally {
    await checkpoint?.close();
    await server.close();
  }
});

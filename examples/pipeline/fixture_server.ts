/**
 * A local stand-in for the Hacker News API, with deterministic data: three
 * feeds, items, users. Some requests fail on purpose (HTTP 503 the first
 * time every third item is asked for) and some are slow (a user's first request
 * takes longer than the fetch stage's timeout), so retries and timeouts
 * show. `PIPELINE_ITEM_DELAY_MS` slows every item down (for the kill test).
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const WORDS = [
  "rust",
  "queues",
  "sqlite",
  "deno",
  "bun",
  "typescript",
  "workers",
  "retries",
  "checkpoints",
  "latency",
];
const USERS = ["ada", "brian", "grace", "ken", "linus", "margaret", "dennis"];
const ITEM_COUNT = 120;

/** Item `id` (1-based): a title of three words, an author, a score and a time, all from the id. */
export function fixtureItem(id: number): Record<string, unknown> {
  const word = (n: number) => WORDS[(id * 7 + n * 3) % WORDS.length];
  return {
    id,
    type: "story",
    title: `${word(0)} ${word(1)} ${word(2)} ${id}`,
    by: USERS[id % USERS.length],
    score: (id * 37) % 500,
    time: 1_700_000_000 + id * 600,
    descendants: (id * 13) % 90,
  };
}

function fixtureUser(id: string): Record<string, unknown> | undefined {
  const index = USERS.indexOf(id);
  if (index < 0) return undefined;
  return { id, karma: 1000 + index * 321, created: 1_500_000_000 + index * 86_400 };
}

function feed(name: string): number[] | undefined {
  const all = Array.from({ length: ITEM_COUNT }, (_, i) => i + 1);
  if (name === "topstories") return all.filter((id) => id % 2 === 1);
  if (name === "newstories") return [...all].reverse();
  if (name === "beststories") return all.filter((id) => id % 3 === 0);
  return undefined;
}

/** A running fixture server: its base URL, and how many requests each kind got. */
export interface FixtureServer {
  readonly url: string;
  readonly requests: { feeds: number; items: number; users: number; failed: number; slow: number };
  close(): Promise<void>;
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startFixtureServer(userDelayMs = 400): Promise<FixtureServer> {
  const itemDelay = Number(process.env.PIPELINE_ITEM_DELAY_MS ?? 0);
  const requests = { feeds: 0, items: 0, users: 0, failed: 0, slow: 0 };
  const seen = new Set<string>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://fixture").pathname;
    const first = !seen.has(path);
    seen.add(path);
    const send = (status: number, body: unknown, delay = 0) => {
      setTimeout(() => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
      }, delay);
    };
    let match: RegExpMatchArray | null;
    if ((match = path.match(/^\/v0\/(\w+)\.json$/)) && feed(match[1]) !== undefined) {
      requests.feeds++;
      return send(200, feed(match[1]));
    }
    if ((match = path.match(/^\/v0\/item\/(\d+)\.json$/))) {
      requests.items++;
      const id = Number(match[1]);
      if (first && id % 3 === 0) {
        requests.failed++;
        return send(503, { error: "try again" }, itemDelay);
      }
      return send(200, id >= 1 && id <= ITEM_COUNT ? fixtureItem(id) : null, itemDelay);
    }
    if ((match = path.match(/^\/v0\/user\/(\w+)\.json$/))) {
      requests.users++;
      if (first && match[1] === "grace") {
        requests.slow++;
        return send(200, fixtureUser(match[1]) ?? null, userDelayMs);
      }
      return send(200, fixtureUser(match[1]) ?? null);
    }
    send(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v0`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Connections to Redis for producers and workers: one place that builds the
 * clients, bounds how long an unreachable server may keep a caller waiting,
 * and checks the server's eviction policy.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { OsiisoError } from "../core/errors.ts";
import { checkKnownNames, invalidMessage } from "../core/validate.ts";

/** Where Redis is, when not given as a URL. */
export interface RedisConnectionOptions {
  /** Host name or address. Default `"127.0.0.1"`. */
  host?: string;
  /** TCP port. Default 6379. */
  port?: number;
  /** A Unix socket path, instead of host and port. */
  path?: string;
  /** ACL user name. */
  username?: string;
  /** Password. */
  password?: string;
  /** Database number. Default 0. */
  db?: number;
  /** Connect with TLS. Default false. */
  tls?: boolean;
}

/**
 * Where Redis (or Valkey) is: a `redis://` or `rediss://` URL, or
 * {@linkcode RedisConnectionOptions}.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "@osiiso/osiiso/distributed";
 * const local: RedisConnection = "redis://127.0.0.1:6379";
 * const remote: RedisConnection = { host: "queue.internal", port: 6380, password: "secret" };
 * ```
 */
export type RedisConnection = string | RedisConnectionOptions;

const CONNECTION_OPTION_NAMES: ReadonlySet<string> = new Set([
  "host",
  "port",
  "path",
  "username",
  "password",
  "db",
  "tls",
]);

/** How long a first connection may take before callers get an error, by default. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The error of a distributed queue or worker that cannot reach Redis: the
 * message names the connection (without its password) and the cause, such
 * as `ECONNREFUSED`.
 *
 * @example
 * ```ts
 * import { RedisUnavailableError } from "@osiiso/osiiso/distributed";
 * const error = new RedisUnavailableError("redis://127.0.0.1:1", "connect ECONNREFUSED");
 * console.log(error.message);
 * // cannot reach Redis at redis://127.0.0.1:1 within 10000ms: connect ECONNREFUSED
 * ```
 */
export class RedisUnavailableError extends OsiisoError {
  static {
    Object.defineProperty(this.prototype, "name", {
      value: "RedisUnavailableError",
      writable: true,
      configurable: true,
    });
  }

  /** The connection, as given (password removed). */
  readonly connection: string;

  /**
   * Creates the error.
   *
   * @param connection The connection, password removed.
   * @param cause What the client last reported, such as `connect ECONNREFUSED 127.0.0.1:1`.
   * @param waited How long it waited, in ms.
   */
  constructor(connection: string, cause: string, waited: number = CONNECT_TIMEOUT_MS) {
    super(`cannot reach Redis at ${connection} within ${waited}ms: ${cause}`);
    this.connection = connection;
  }
}

/** Checks a `connection` option (a URL string or an options object). */
export function checkConnection(action: string, value: unknown): RedisConnection {
  if (typeof value === "string") {
    if (!/^rediss?:\/\//.test(value)) {
      throw new RangeError(invalidMessage(action, "connection", "a redis:// URL", value));
    }
    return value;
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    checkKnownNames("connection", value as Record<string, unknown>, CONNECTION_OPTION_NAMES);
    return value as RedisConnectionOptions;
  }
  throw new TypeError(
    invalidMessage(action, "connection", "a redis:// URL or connection options", value),
  );
}

/** The connection as it may be shown in messages: no password. */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === "string") {
    return connection.replace(/\/\/[^@/]*@/, "//");
  }
  if (typeof connection.path === "string") return connection.path;
  return `redis://${connection.host ?? "127.0.0.1"}:${connection.port ?? 6379}`;
}

/**
 * A new client. It reconnects for ever (a restarted Redis is found again)
 * and queues commands meanwhile, as BullMQ requires; callers bound the first
 * connection with {@linkcode whenConnected}.
 */
export function createClient(connection: RedisConnection): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    // Retry quickly at first, then every second: a restarted Redis is back in ~1 s.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    lazyConnect: false,
  };
  if (typeof connection === "string") return new Redis(connection, options);
  const { tls, ...where } = connection;
  return new Redis({ ...where, ...(tls === true ? { tls: {} } : {}), ...options });
}

/**
 * Resolves once `client` is ready, or rejects with a
 * {@linkcode RedisUnavailableError} after `limit` ms (ioredis itself would
 * retry a refused connection for ever).
 */
export function whenConnected(
  client: Redis,
  connection: RedisConnection,
  limit: number,
): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = "no answer";
    const onError = (error: Error) => {
      lastError = error.message || String(error);
    };
    const finish = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("end", onEnd);
    };
    const onReady = () => {
      finish();
      resolve();
    };
    const onEnd = () => {
      finish();
      reject(new RedisUnavailableError(describeConnection(connection), "connection closed", limit));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new RedisUnavailableError(describeConnection(connection), lastError, limit));
    }, limit);
    client.on("ready", onReady);
    client.on("error", onError);
    client.on("end", onEnd);
  });
}

/**
 * Warns (once per server and process) when Redis may evict keys: BullMQ
 * loses jobs then. Servers that refuse `CONFIG GET` are not warned about.
 */
export async function checkEvictionPolicy(
  client: Redis,
  connection: RedisConnection,
  warn: (message: string) => void,
): Promise<void> {
  const where = describeConnection(connection);
  if (warnedServers.has(where)) return;
  let policy: string | undefined;
  try {
    const reply = await client.config("GET", "maxmemory-policy") as string[];
    policy = reply[1];
  } catch {
    return;
  }
  if (policy !== undefined && policy !== "noeviction") {
    warnedServers.add(where);
    warn(
      `osiiso: Redis at ${where} has maxmemory-policy '${policy}'; jobs may be evicted and lost. ` +
        "Set 'maxmemory-policy noeviction' in its configuration.",
    );
  }
}

const warnedServers = new Set<string>();

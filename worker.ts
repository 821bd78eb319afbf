/**
 * The `worker` command of `@osiiso/osiiso`: serves a distributed queue until
 * SIGINT or SIGTERM, then stops gracefully (running jobs finish first; a
 * second signal exits at once).
 *
 * ```sh
 * deno run -A jsr:@osiiso/osiiso/worker --name thumbs --connection redis://127.0.0.1:6379 \
 *   --backend process --workers 4
 * ```
 *
 * Options: `--name` (required), `--connection` (default `redis://127.0.0.1:6379`),
 * `--backend async|thread|process` (default `process`), `--workers N`,
 * `--concurrency N`, `--prefix P`.
 *
 * @module
 */

import { runWorkerCommand } from "./src/distributed/worker_command.ts";

if (import.meta.main) await runWorkerCommand();

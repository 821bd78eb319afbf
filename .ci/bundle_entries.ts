/**
 * Builds the single-file entry scripts Bun starts its workers and children
 * from (`src/runtime/bundled/`), or with `--check` fails when the committed
 * ones differ from what the sources give now. Run with Bun (`deno task
 * bundle`); CI runs the check.
 *
 * Why: a Bun worker or child loading one pre-built file (marked `// @bun`, so
 * Bun does not transpile it again) reaches its first task about 2 ms sooner
 * than one importing seven TypeScript modules (W5-cold, W6). Deno runs the
 * TypeScript entries directly.
 *
 * @module
 */

interface BuildArtifact {
  text(): Promise<string>;
}

interface BuildOutput {
  readonly success: boolean;
  readonly outputs: readonly BuildArtifact[];
  readonly logs: readonly unknown[];
}

interface BunApi {
  build(options: {
    entrypoints: string[];
    target: "bun";
    minify: { whitespace: boolean; syntax: boolean; identifiers: boolean };
  }): Promise<BuildOutput>;
  file(path: string): { exists(): Promise<boolean>; text(): Promise<string> };
  write(path: string, text: string): Promise<number>;
}

interface NodeProcess {
  readonly argv: readonly string[];
  exitCode?: number;
}

const bun = (globalThis as unknown as { Bun?: BunApi }).Bun;
const process = (globalThis as unknown as { process: NodeProcess }).process;
if (bun === undefined) {
  throw new Error("run this with Bun: node_modules/.bin/bun .ci/bundle_entries.ts");
}

const root = new URL("../", import.meta.url).pathname;
/** Source entry → bundle, both relative to the repository root. */
const entries: readonly (readonly [string, string])[] = [
  ["src/runtime/child_entry_bun.ts", "src/runtime/bundled/child_entry_bun.js"],
  ["src/runtime/worker_entry.ts", "src/runtime/bundled/worker_entry.js"],
];

async function bundle(source: string): Promise<string> {
  const output = await bun!.build({
    entrypoints: [root + source],
    target: "bun",
    // Names stay (stack traces, error classes); whitespace and syntax go.
    minify: { whitespace: true, syntax: true, identifiers: false },
  });
  if (!output.success || output.outputs.length !== 1) {
    throw new Error(`bundling ${source} failed: ${output.logs.map(String).join("\n")}`);
  }
  const text = await output.outputs[0].text();
  // Bun's `// @bun` pragma must stay on the first line.
  const [pragma, ...rest] = text.split("\n");
  return [
    pragma,
    `// Generated from ${source} by .ci/bundle_entries.ts (deno task bundle). Do not edit.`,
    ...rest,
  ].join("\n");
}

const check = process.argv.includes("--check");
const stale: string[] = [];
for (const [source, target] of entries) {
  const text = await bundle(source);
  const file = bun.file(root + target);
  const current = await file.exists() ? await file.text() : undefined;
  if (current === text) continue;
  if (check) stale.push(target);
  else {
    await bun.write(root + target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale.length > 0) {
  const names = stale.join(", ");
  console.error(`stale: ${names}; the sources changed since: run \`deno task bundle\``);
  process.exitCode = 1;
} else if (check) {
  console.log(`bundled entries are up to date (${entries.length})`);
}

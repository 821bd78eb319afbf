/**
 * Builds the single-file entry scripts Bun starts its workers and children
 * from (`src/runtime/bundled/`), each with its bytecode cache (`.jsc`), or
 * with `--check` fails when the committed files differ from what the
 * sources give now. Run with Bun (`deno task bundle`); CI runs the check.
 *
 * Why: a Bun worker or child loading one pre-built file whose bytecode is
 * ready reaches its first task about 4 ms sooner than one importing seven
 * TypeScript modules (W5-cold, W6): nothing to transpile, resolve or
 * compile. A Bun whose engine differs from the one that built the cache
 * ignores the cache and compiles the file as usual. Deno runs the
 * TypeScript entries directly.
 *
 * The built files are byte for byte what Bun's bundler gives (the cache is
 * tied to the text of its `.js` file), so they carry no header:
 * `bundled/README.md` says where they come from.
 *
 * @module
 */

interface BuildArtifact {
  readonly kind: string;
  arrayBuffer(): Promise<ArrayBuffer>;
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
    bytecode: boolean;
    minify: { whitespace: boolean; syntax: boolean; identifiers: boolean };
  }): Promise<BuildOutput>;
  file(path: string): { exists(): Promise<boolean>; arrayBuffer(): Promise<ArrayBuffer> };
  write(path: string, data: Uint8Array): Promise<number>;
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
/** Source entry → bundle (its cache is the same path plus `.jsc`), from the repository root. */
const entries: readonly (readonly [string, string])[] = [
  ["src/runtime/child_entry_bun.ts", "src/runtime/bundled/child_entry_bun.js"],
  ["src/runtime/worker_entry.ts", "src/runtime/bundled/worker_entry.js"],
];

/** The files one entry builds into: path → bytes. */
async function bundle(source: string, target: string): Promise<Map<string, Uint8Array>> {
  const output = await bun!.build({
    entrypoints: [root + source],
    target: "bun",
    bytecode: true,
    // Names stay (stack traces, error classes); whitespace and syntax go.
    minify: { whitespace: true, syntax: true, identifiers: false },
  });
  const code = output.outputs.find((artifact) => artifact.kind === "entry-point");
  const cache = output.outputs.find((artifact) => artifact.kind === "bytecode");
  if (!output.success || code === undefined || cache === undefined) {
    throw new Error(`bundling ${source} failed: ${output.logs.map(String).join("\n")}`);
  }
  return new Map([
    [target, new Uint8Array(await code.arrayBuffer())],
    [`${target}.jsc`, new Uint8Array(await cache.arrayBuffer())],
  ]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const check = process.argv.includes("--check");
const stale: string[] = [];
for (const [source, target] of entries) {
  for (const [path, bytes] of await bundle(source, target)) {
    const file = bun.file(root + path);
    const current = await file.exists() ? new Uint8Array(await file.arrayBuffer()) : undefined;
    if (current !== undefined && sameBytes(current, bytes)) continue;
    if (check) stale.push(path);
    else {
      await bun.write(root + path, bytes);
      console.log(`wrote ${path}`);
    }
  }
}
if (stale.length > 0) {
  const names = stale.join(", ");
  console.error(`stale: ${names}; the sources changed since: run \`deno task bundle\``);
  process.exitCode = 1;
} else if (check) {
  console.log(`bundled entries are up to date (${entries.length}, with their bytecode)`);
}

/**
 * Fails when the modules under `src/` import each other in a cycle, and
 * prints each cycle. Run with Deno from the repository root:
 * `deno run --allow-read --allow-run .ci/import_cycles.ts` (CI does).
 *
 * Why: a cycle of value imports makes the order in which modules evaluate
 * depend on which one a program imports first, so a constant read at load
 * time can be undefined in one program and not in another; it also blurs
 * which layer depends on which (`src/core` must not need `src/runtime`).
 *
 * The graph comes from `deno info --json`, over `mod.ts` and every other
 * `.ts` file in `src/` that it does not reach (the worker and child entries
 * are started by URL, not imported). `deno info` marks what each import
 * brings: `code` for a value import, `type` for `import type` and
 * `export type … from`, which disappear from the JavaScript and so do not
 * count (`import { type X }` alone would count, as the module is still
 * loaded, but `deno lint` already asks for `import type` there). Dynamic
 * `import()` is left out: it runs after every module has loaded.
 *
 * @module
 */

/** One import, as `deno info --json` reports it (the fields read here). */
export interface InfoDependency {
  readonly specifier: string;
  readonly code?: { readonly specifier?: string };
  readonly type?: { readonly specifier?: string };
  readonly isDynamic?: boolean;
}

/** One module, as `deno info --json` reports it (the fields read here). */
export interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly InfoDependency[];
}

/** The output of `deno info --json` (the fields read here). */
export interface ModuleInfo {
  readonly modules: readonly InfoModule[];
}

/**
 * The value-import graph of the modules whose specifier starts with
 * `prefix`: each module's static value imports that also start with it.
 */
export function valueImportGraph(
  infos: readonly ModuleInfo[],
  prefix: string,
): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const info of infos) {
    for (const module of info.modules) {
      if (!module.specifier.startsWith(prefix)) continue;
      const targets = graph.get(module.specifier) ?? new Set<string>();
      graph.set(module.specifier, targets);
      for (const dependency of module.dependencies ?? []) {
        const target = dependency.code?.specifier;
        if (dependency.isDynamic || target === undefined || !target.startsWith(prefix)) continue;
        targets.add(target);
      }
    }
  }
  return graph;
}

/**
 * The import cycles of `graph`, each as a path that starts and ends at the
 * same module, e.g. `[a, b, a]`: for every module caught in a cycle, the
 * shortest cycle through it (so each module that needs fixing is named;
 * modules entangled in more than one way may have further, longer cycles).
 * The strongly connected groups come from Tarjan's algorithm. Cycles start
 * at their smallest module and come sorted, so the output is stable.
 */
export function findImportCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const targetsOf = (module: string): string[] => [...(graph.get(module) ?? [])].sort();

  // Recursive: the graph is this package's modules, a few dozen deep at most.
  const visit = (module: string): void => {
    index.set(module, index.size);
    lowLink.set(module, index.get(module)!);
    stack.push(module);
    onStack.add(module);
    for (const target of targetsOf(module)) {
      if (!index.has(target)) {
        visit(target);
        lowLink.set(module, Math.min(lowLink.get(module)!, lowLink.get(target)!));
      } else if (onStack.has(target)) {
        lowLink.set(module, Math.min(lowLink.get(module)!, index.get(target)!));
      }
    }
    if (lowLink.get(module) !== index.get(module)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== module);
    const selfImport = graph.get(module)?.has(module) ?? false;
    if (group.length > 1 || selfImport) groups.push(group);
  };
  for (const module of [...graph.keys()].sort()) {
    if (!index.has(module)) visit(module);
  }
  const cycles = new Map<string, string[]>();
  for (const group of groups) {
    const members = new Set(group);
    for (const start of [...members].sort()) {
      const cycle = rotateToSmallest(shortestCycleThrough(graph, members, start));
      cycles.set(cycle.join("\n"), cycle);
    }
  }
  return [...cycles.keys()].sort().map((key) => cycles.get(key)!);
}

/** The same cycle, starting (and ending) at its smallest module: one spelling per cycle. */
function rotateToSmallest(cycle: readonly string[]): string[] {
  const ring = cycle.slice(0, -1);
  const first = ring.indexOf([...ring].sort()[0]);
  const rotated = [...ring.slice(first), ...ring.slice(0, first)];
  return [...rotated, rotated[0]];
}

/** The shortest cycle through `start` that stays inside its strongly connected group. */
function shortestCycleThrough(
  graph: ReadonlyMap<string, ReadonlySet<string>>,
  group: ReadonlySet<string>,
  start: string,
): string[] {
  // Breadth-first from start, inside the group, until an edge leads back to it.
  const cameFrom = new Map<string, string>([[start, start]]);
  let frontier = [start];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const module of frontier) {
      for (const target of [...(graph.get(module) ?? [])].sort()) {
        if (target === start) {
          const path = [module];
          while (path[0] !== start) path.unshift(cameFrom.get(path[0])!);
          return [...path, start];
        }
        if (group.has(target) && !cameFrom.has(target)) {
          cameFrom.set(target, module);
          next.push(target);
        }
      }
    }
    frontier = next;
  }
  // Unreachable: every member of a strongly connected group leads back to itself.
  return [start, start];
}

async function denoInfo(file: string): Promise<ModuleInfo> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`deno info --json ${file} failed`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

async function* typeScriptFiles(directory: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) yield* typeScriptFiles(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

async function main(): Promise<number> {
  const root = new URL("../", import.meta.url);
  const infos = [await denoInfo(new URL("mod.ts", root).pathname)];
  const seen = (file: string): boolean =>
    infos.some((info) => info.modules.some((module) => module.specifier === file));
  const files: string[] = [];
  for await (const file of typeScriptFiles(new URL("src", root).pathname)) files.push(file);
  for (const file of files.sort()) {
    const url = new URL(`file://${file}`).href;
    if (!seen(url)) infos.push(await denoInfo(file));
  }
  const graph = valueImportGraph(infos, new URL("src/", root).href);
  const cycles = findImportCycles(graph);
  const relative = (url: string): string => url.slice(root.href.length);
  for (const cycle of cycles) console.log(`import cycle: ${cycle.map(relative).join(" -> ")}`);
  if (cycles.length > 0) {
    console.log(
      `\n${cycles.length} value-import cycle(s) among ${graph.size} modules in src/; ` +
        "break each one (move what both sides need into a third module, or use `import type`)",
    );
    return 1;
  }
  console.log(`no value-import cycles among ${graph.size} modules in src/`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

import { findImportCycles, type ModuleInfo, valueImportGraph } from "../../.ci/import_cycles.ts";

function graphOf(edges: Record<string, string[]>): Map<string, Set<string>> {
  return new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));
}

describe("findImportCycles", () => {
  it("finds nothing in a graph without cycles", () => {
    assert.deepEqual(findImportCycles(graphOf({ a: ["b", "c"], b: ["c"], c: [] })), []);
  });

  it("finds a cycle of two modules once, starting at the smaller", () => {
    const graph = graphOf({ main: ["spawn"], spawn: ["deno"], deno: ["spawn"] });
    assert.deepEqual(findImportCycles(graph), [["deno", "spawn", "deno"]]);
  });

  it("finds a module that imports itself", () => {
    assert.deepEqual(findImportCycles(graphOf({ a: ["a", "b"], b: [] })), [["a", "a"]]);
  });

  it("names every module caught in a group, with the shortest cycle through each", () => {
    // a -> b -> c -> a, and b <-> d: one strongly connected group of four.
    const graph = graphOf({ a: ["b"], b: ["c", "d"], c: ["a"], d: ["b"] });
    assert.deepEqual(findImportCycles(graph), [["a", "b", "c", "a"], ["b", "d", "b"]]);
  });

  it("reports separate groups separately, in sorted order", () => {
    const graph = graphOf({ z: ["y"], y: ["z"], b: ["a"], a: ["b"], m: ["a", "z"] });
    assert.deepEqual(findImportCycles(graph), [["a", "b", "a"], ["y", "z", "y"]]);
  });
});

describe("valueImportGraph", () => {
  const info: ModuleInfo = {
    modules: [
      {
        specifier: "file:///repo/src/a.ts",
        dependencies: [
          { specifier: "./b.ts", code: { specifier: "file:///repo/src/b.ts" } },
          { specifier: "./c.ts", type: { specifier: "file:///repo/src/c.ts" } },
          {
            specifier: "./d.ts",
            code: { specifier: "file:///repo/src/d.ts" },
            isDynamic: true,
          },
          { specifier: "../x.ts", code: { specifier: "file:///repo/x.ts" } },
          { specifier: "./missing.ts" },
        ],
      },
      { specifier: "file:///repo/mod.ts", dependencies: [] },
    ],
  };

  it("keeps static value imports inside the prefix only", () => {
    assert.deepEqual(
      valueImportGraph([info], "file:///repo/src/"),
      new Map([["file:///repo/src/a.ts", new Set(["file:///repo/src/b.ts"])]]),
    );
  });

  it("merges the graphs of several roots", () => {
    const other: ModuleInfo = {
      modules: [{
        specifier: "file:///repo/src/e.ts",
        dependencies: [{ specifier: "./a.ts", code: { specifier: "file:///repo/src/a.ts" } }],
      }],
    };
    const graph = valueImportGraph([info, other], "file:///repo/src/");
    assert.deepEqual([...graph.keys()].sort(), ["file:///repo/src/a.ts", "file:///repo/src/e.ts"]);
  });
});

describe("deno info --json, as the check reads it", () => {
  // The pinned deno marks each kind of import as the check expects: in the
  // fixture graph every module imports its root back by value, and the root
  // imports each in a different way; only its plain value import closes a cycle.
  it("marks import type and export type as types, and import() as dynamic", () => {
    const root = new URL("../fixtures/import_cycles/root.ts", import.meta.url);
    const deno = "Deno" in globalThis
      ? Deno.execPath()
      : fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
    const output = execFileSync(deno, ["info", "--json", fileURLToPath(root)], {
      encoding: "utf8",
    });
    const prefix = new URL("./", root).href;
    const cycles = findImportCycles(valueImportGraph([JSON.parse(output)], prefix))
      .map((cycle) => cycle.map((url) => url.slice(prefix.length)));
    assert.deepEqual(cycles, [["root.ts", "value.ts", "root.ts"]]);
  });
});

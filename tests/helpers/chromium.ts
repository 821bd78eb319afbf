/**
 * Opens a page in real headless Chromium (Debian's `chromium` package) to
 * read back the DOM it rendered and to take a screenshot. No driver: the
 * browser's own `--dump-dom` and `--screenshot` switches.
 *
 * @module
 */

import { execFile } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Thrown when Chromium is missing; the message says how to install it. */
export const CHROMIUM_INSTALL_HINT = `Chromium is not installed at ${CHROMIUM_PATH}: run ` +
  "`apt-get install -y chromium` (the timeline tests render the page in a real browser; " +
  ".ci/run installs it)";

/**
 * The switches for a headless run on a machine with a closed network: no
 * sandbox (CI runs as root), no GPU, and none of the background connections
 * a fresh profile would try.
 */
const HEADLESS_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
];

/** Runs Chromium on `file` with `flags` and a fresh profile; resolves with its stdout. */
function runChromium(file: string, flags: readonly string[]): Promise<string> {
  if (!existsSync(CHROMIUM_PATH)) return Promise.reject(new Error(CHROMIUM_INSTALL_HINT));
  const profile = mkdtempSync(join(tmpdir(), "osiiso-chromium-"));
  const args = [
    ...HEADLESS_FLAGS,
    `--user-data-dir=${profile}`,
    ...flags,
    pathToFileURL(file).href,
  ];
  return new Promise<string>((resolve, reject) => {
    execFile(
      CHROMIUM_PATH,
      args,
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        rmSync(profile, { recursive: true, force: true });
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * The DOM of the page at `file` after Chromium loaded and rendered it
 * (scripts in the page have run), serialised as HTML.
 *
 * @example
 * ```ts
 * const dom = await dumpDom("/tmp/page.html");
 * ```
 */
export function dumpDom(file: string): Promise<string> {
  return runChromium(file, ["--dump-dom"]);
}

/**
 * Renders the page at `file` in a window of `width` × `height` CSS pixels
 * and saves a PNG screenshot to `png`.
 *
 * @example
 * ```ts
 * await screenshot("/tmp/page.html", "/tmp/page.png", 1300, 700);
 * ```
 */
export async function screenshot(
  file: string,
  png: string,
  width: number,
  height: number,
): Promise<void> {
  await runChromium(file, [`--screenshot=${png}`, `--window-size=${width},${height}`]);
  if (!existsSync(png)) throw new Error(`chromium wrote no screenshot to ${png}`);
}

/** What the probe measures in the rendered page. */
export interface ProbeReport {
  lanes: { lane: string; top: number; bottom: number }[];
  /** Per outcome: single bars, merged attempts, and the computed fills seen. */
  outcomes: Record<string, { bars: number; merged: number; fills: string[] }>;
  /** Bars whose box lies outside their lane's band, or that have no width. */
  misplaced: number;
  untitled: number;
  waits: number;
  svg: { width: number; height: number };
  boldElements: number;
  scripts: number;
  titleOf: Record<string, string>;
}

// Runs in Chromium after the timeline page loaded; it writes its report as JSON into <pre id="probe">.
const PROBE = `<script>
(() => {
  const report = { lanes: [], outcomes: {}, misplaced: 0, untitled: 0, titleOf: {} };
  const entry = (o) => (report.outcomes[o] ??= { bars: 0, merged: 0, fills: [] });
  const noteFill = (o, el) => {
    const fill = getComputedStyle(el).fill;
    if (!entry(o).fills.includes(fill)) entry(o).fills.push(fill);
  };
  for (const lane of document.querySelectorAll("[data-lane]")) {
    const { top, bottom } = lane.querySelector("rect.band").getBoundingClientRect();
    report.lanes.push({ lane: lane.dataset.lane, top, bottom });
    for (const el of lane.querySelectorAll("[data-ended-by], [data-merged-ended-by]")) {
      const box = el.getBoundingClientRect();
      if (box.width <= 0 || box.top < top || box.bottom > bottom) report.misplaced++;
    }
  }
  for (const bar of document.querySelectorAll("[data-ended-by]")) {
    entry(bar.dataset.endedBy).bars++;
    noteFill(bar.dataset.endedBy, bar);
    const title = bar.querySelector("title");
    if (!title) report.untitled++;
    else report.titleOf[bar.dataset.taskId + "#" + bar.dataset.attempt] = title.textContent;
  }
  for (const slice of document.querySelectorAll("[data-merged-ended-by]")) {
    entry(slice.dataset.mergedEndedBy).merged += Number(slice.dataset.mergedCount);
    noteFill(slice.dataset.mergedEndedBy, slice);
  }
  report.waits = document.querySelectorAll("[data-retry-wait]").length;
  const svg = document.querySelector("svg[role=img]").getBoundingClientRect();
  report.svg = { width: svg.width, height: svg.height };
  report.boldElements = document.querySelectorAll("b").length;
  report.scripts = document.scripts.length - 1;
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(report);
  document.body.append(pre);
})();
</script>`;

/** `#2f9e44` as Chromium reports a computed colour: `rgb(47, 158, 68)`. */
export function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

function decodeText(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/**
 * Writes the timeline page `html` with a probe script to `dir`, opens it in
 * Chromium and returns what the probe measured in the rendered page.
 *
 * @example
 * ```ts
 * const report = await probeTimeline("/tmp/dir", summary.timeline());
 * ```
 */
export async function probeTimeline(dir: string, html: string): Promise<ProbeReport> {
  const file = join(dir, "probed.html");
  writeFileSync(file, html.replace("</body>", `${PROBE}</body>`));
  const dom = await dumpDom(file);
  const found = /<pre id="probe">([^<]*)<\/pre>/.exec(dom);
  assert.ok(found, `the probe wrote no report; the DOM was:\n${dom.slice(0, 2000)}`);
  return JSON.parse(decodeText(found[1]));
}

/**
 * Writes `html` to a page in `dir`, takes its screenshot in a window of
 * `width` × `height` and returns the PNG's bytes, checked to be a PNG of
 * that size.
 *
 * @example
 * ```ts
 * const png = await screenshotPage("/tmp/dir", summary.timeline(), 1200, 330);
 * ```
 */
export async function screenshotPage(
  dir: string,
  html: string,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const page = join(dir, "page.html");
  const png = join(dir, "page.png");
  writeFileSync(page, html);
  await screenshot(page, png, width, height);
  const bytes = readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString("latin1"), "PNG");
  assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [width, height]);
  return bytes;
}

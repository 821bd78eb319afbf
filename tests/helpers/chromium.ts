/**
 * Opens a page in real headless Chromium (Debian's `chromium` package) to
 * read back the DOM it rendered and to take a screenshot. No driver: the
 * browser's own `--dump-dom` and `--screenshot` switches.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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

/**
 * A queue's listener on its `signal` option, counted in the resource
 * ledger while it is attached so the tests' leak checks see it.
 *
 * @module
 */

import { releaseResource, trackResource } from "./resources.ts";

/** Calls back once when a signal aborts, until released. */
export class AbortWatch {
  private signal: AbortSignal | undefined = undefined;
  private listener: (() => void) | undefined = undefined;
  private token: number | undefined = undefined;

  /** Calls `onAbort` when `signal` aborts; nothing when there is no signal or it has aborted. */
  watch(signal: AbortSignal | undefined, onAbort: () => void): void {
    if (signal === undefined || signal.aborted) return;
    this.signal = signal;
    this.listener = onAbort;
    signal.addEventListener("abort", onAbort, { once: true });
    this.token = trackResource("listeners", "queue signal");
  }

  /** Detaches the listener, if any. */
  release(): void {
    if (this.listener !== undefined && this.signal !== undefined) {
      this.signal.removeEventListener("abort", this.listener);
      this.listener = undefined;
    }
    if (this.token !== undefined) {
      releaseResource(this.token);
      this.token = undefined;
    }
  }
}

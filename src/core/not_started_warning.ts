/**
 * The warning about awaiting a task of a queue that is not started: that
 * wait would stay pending forever (Deno ends the program with "Top-level
 * await promise never resolved", Bun hangs), so the console says why.
 *
 * @module
 */

/** Warns once per queue, if the queue still cannot run its tasks after the current event-loop task. */
export class NotStartedWarning {
  #state: "none" | "armed" | "given" = "none";
  /** Whether the queue is still not started, not closed, and has tasks outstanding. */
  readonly #stuck: () => boolean;

  constructor(stuck: () => boolean) {
    this.#stuck = stuck;
  }

  /**
   * Checks after the current task of the event loop (a `start()` right
   * after the await is fine); warns the first time the queue is stuck then.
   */
  arm(): void {
    if (this.#state !== "none") return;
    this.#state = "armed";
    setTimeout(() => {
      if (!this.#stuck()) {
        this.#state = "none";
        return;
      }
      this.#state = "given";
      console.warn(
        "osiiso: a task is awaited on a queue that is not started, so it will not run: " +
          "call start(), run() or join() on the queue, or create it with autoStart: true",
      );
    }, 0);
  }
}

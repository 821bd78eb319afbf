/**
 * The progress board every queue of this process draws on: one per
 * terminal writer (stderr), so queues running at the same time stack their
 * lines on one board instead of drawing over each other.
 *
 * @module
 */

import { systemClock } from "../core/clock.ts";
import { ProgressBoard, type TerminalWriter } from "../core/progress_line.ts";
import { stderrTerminal } from "../runtime/terminal.ts";

const boards = new WeakMap<TerminalWriter, ProgressBoard>();

/**
 * The board on stderr, made on first use. It keeps real time: the line is
 * for a person watching, whatever clock a queue's tasks are timed by.
 */
export function stderrProgressBoard(): ProgressBoard {
  const writer = stderrTerminal();
  let board = boards.get(writer);
  if (board === undefined) {
    board = new ProgressBoard(writer, systemClock);
    boards.set(writer, board);
  }
  return board;
}

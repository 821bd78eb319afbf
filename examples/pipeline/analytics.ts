/**
 * The analytics stage's tasks, run in ProcessQueue children: plain functions
 * of plain data.
 *
 * @module
 */

/** An item as the analytics read it. */
export interface Item {
  readonly id: number;
  readonly title: string;
  readonly score: number;
  readonly time: number;
  readonly descendants?: number;
}

/** Count, mean, min and max of the scores. */
export function summarizeScores(items: Item[]): Record<string, number> {
  const scores = items.map((item) => item.score);
  const total = scores.reduce((a, b) => a + b, 0);
  return {
    count: scores.length,
    mean: scores.length === 0 ? 0 : Math.round((total / scores.length) * 10) / 10,
    min: Math.min(...scores),
    max: Math.max(...scores),
  };
}

/** The five most frequent title words (ties by word), as `[word, count]`. */
export function keywordCounts(items: Item[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) {
    for (const word of item.title.toLowerCase().split(/\W+/)) {
      if (word.length > 2 && !/^\d+$/.test(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
}

/** A "hotness" for one item: score and comments, decayed by age (fixed "now"). */
export function rankItem(item: Item): { id: number; title: string; hotness: number } {
  const ageHours = (1_700_100_000 - item.time) / 3600;
  const hotness = (item.score + 2 * (item.descendants ?? 0)) /
    Math.pow(Math.max(ageHours, 0) + 2, 1.5);
  return { id: item.id, title: item.title, hotness: Math.round(hotness * 1000) / 1000 };
}

// FSRS scheduling (ts-fsrs from npm, bundled into the course script at build time) for flashcards and
// review items.
// Stored as JSON: the ts-fsrs Card (dates as ISO strings) and a log of ts-fsrs ReviewLogs, in the
// shapes docs/schema/progress.schema.json describes.
let fsrsModule = null;

export const RATINGS = ["Again", "Hard", "Good", "Easy"]; // keys 1-4, ts-fsrs Rating 1-4

export function loadScheduler() {
  if (!fsrsModule) {
    fsrsModule = import("ts-fsrs").catch(() => null); // without it, marks still work, just unscheduled
  }
  return fsrsModule;
}

// One graded review: `previous` is the stored card JSON (or null for a new item), `rating` 1-4.
// Resolves to {fsrs, due, log} (JSON-ready), or null when the scheduler cannot be loaded.
export async function grade(previous, rating, now = new Date()) {
  const ts = await loadScheduler();
  if (!ts) return null;
  let current;
  try {
    current = previous ? ts.TypeConvert.card(previous) : ts.createEmptyCard(now);
  } catch {
    current = ts.createEmptyCard(now); // a corrupt saved schedule starts afresh
  }
  const next = ts.fsrs().next(current, now, rating);
  const fsrs = JSON.parse(JSON.stringify(next.card));
  return { fsrs, due: fsrs.due, log: JSON.parse(JSON.stringify(next.log)) };
}

// When an item was last reviewed (ms), from its card or log; 0 if never.
export function lastReview(entry) {
  const times = [];
  if (entry && entry.fsrs && entry.fsrs.last_review) times.push(Date.parse(entry.fsrs.last_review));
  for (const log of (entry && Array.isArray(entry.log) ? entry.log : [])) times.push(Date.parse(log.review));
  const valid = times.filter((t) => !Number.isNaN(t));
  return valid.length ? Math.max(...valid) : 0;
}

export function when(date, now = Date.now()) {
  const minutes = Math.round((date.getTime() - now) / 60000);
  if (minutes <= 0) return "now";
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `in ${hours} h`;
  return `in ${Math.round(hours / 24)} days`;
}

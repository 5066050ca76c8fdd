// The reader's progress as one thing: read from storage, summed up for the dashboard, turned into
// the review queue, exported to and merged from a progress file. No DOM here, except reading the
// course index the build puts on the page (hooks/lessons/progress.py course_index): the lessons with
// their question answers, card terms and the fingerprints the stored records must match.
//
// Records, by kind and lesson, in the shapes of docs/schema/progress.schema.json:
//   visit  {first, last, page, section}
//   quiz   {version, answers, answered, checks, checks_answered}   (written by quiz.js)
//   cards  {version, cards: {term: {mark, due, fsrs, log}}}
//   review {version, items: {"quiz-<i>" | "check-<key>": {fsrs, log}}}   notes {text, saved}
// Quiz answers and "quiz-<i>" review items belong to the quiz `version` they were made for; a check is
// identified by its own key (a fingerprint of the question), so it stands on its own.
import { lastReview } from "./schedule.js";
import { isPlainObject, load } from "./storage.js";

export const KINDS = ["visit", "quiz", "cards", "review", "notes"];
export const SCHEMA_VERSION = 1;
export const PROGRESS_CHANGED = "course:progress-changed"; // bubbles from the import control

// What each kind keeps (export drops anything else, so a file always matches the schema).
const FIELDS = {
  visit: ["first", "last", "page", "section"],
  quiz: ["version", "answers", "answered", "checks", "checks_answered"],
  cards: ["version", "cards"],
  review: ["version", "items"],
  notes: ["text", "saved"],
};
const CARD_FIELDS = ["mark", "due", "fsrs", "log"];
const ITEM_FIELDS = ["fsrs", "log"];
const SHAPE = {
  visit: (v) => typeof v.first === "string" && typeof v.last === "string",
  quiz: (v) => (typeof v.version === "string" || v.version === null) && isPlainObject(v.answers),
  cards: (v) => isPlainObject(v.cards),
  review: (v) => typeof v.version === "string" && isPlainObject(v.items),
  notes: (v) => typeof v.text === "string",
};

export function readIndex(element) {
  try {
    const index = JSON.parse(element.dataset.courseIndex || "null");
    return isPlainObject(index) && Array.isArray(index.lessons) ? index : null;
  } catch {
    return null;
  }
}

export function readSchema(element) {
  try {
    return JSON.parse(element.dataset.progressSchema || "null");
  } catch {
    return null;
  }
}

export function loadRecord(kind, lessonId) {
  return load(kind, lessonId, (v) => isPlainObject(v) && SHAPE[kind](v));
}

// {lesson id: {kind: record}} for every lesson of the course.
export function readAll(index) {
  const all = {};
  for (const lesson of index.lessons) {
    all[lesson.id] = {};
    for (const kind of KINDS) {
      const record = loadRecord(kind, lesson.id);
      if (record) all[lesson.id][kind] = record;
    }
  }
  return all;
}

const time = (iso) => {
  const t = typeof iso === "string" ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
};

export function endOfToday(now = new Date()) {
  const end = new Date(now);
  end.setHours(23, 59, 59, 999);
  return end.getTime();
}

// Answers that belong to the lesson's current questions: {index: {choice, correct, at}}.
export function currentAnswers(lesson, records) {
  const quiz = records.quiz;
  const out = {};
  if (!quiz || quiz.version !== lesson.quiz.version) return out;
  for (const [key, choice] of Object.entries(quiz.answers)) {
    const i = Number(key);
    if (Number.isInteger(i) && i >= 0 && i < lesson.quiz.answers.length && Number.isInteger(choice)) {
      out[i] = { choice, correct: choice === lesson.quiz.answers[i], at: time(quiz.answered && quiz.answered[key]) };
    }
  }
  return out;
}

// Answers to the lesson's current checks: {key: {choice, correct, at}}.
export function currentChecks(lesson, records) {
  const quiz = records.quiz;
  const out = {};
  const checks = quiz && isPlainObject(quiz.checks) ? quiz.checks : {};
  for (const [key, answer] of Object.entries(lesson.checks)) {
    if (Number.isInteger(checks[key])) {
      out[key] = { choice: checks[key], correct: checks[key] === answer, at: time(quiz.checks_answered && quiz.checks_answered[key]) };
    }
  }
  return out;
}

function currentCards(lesson, records) {
  const cards = records.cards && isPlainObject(records.cards.cards) ? records.cards.cards : {};
  return lesson.cards.terms.filter((term) => isPlainObject(cards[term])).map((term) => [term, cards[term]]);
}

// Review schedules that still belong to the lesson's questions.
function reviewItems(lesson, records) {
  const review = records.review;
  const items = {};
  if (!review) return items;
  for (const [key, item] of Object.entries(review.items)) {
    const current = key.startsWith("check-") ? key.slice(6) in lesson.checks : review.version === lesson.quiz.version;
    if (current && isPlainObject(item) && isPlainObject(item.fsrs)) items[key] = item;
  }
  return items;
}

// Every review item of a lesson: scheduled cards, and questions answered wrongly or already under
// review. {kind: "card"|"question", lesson, key, due (ms), entry}. A wrong answer not yet reviewed is
// due from the moment it was given.
export function lessonItems(lesson, records, now = Date.now()) {
  const items = [];
  for (const [term, entry] of currentCards(lesson, records)) {
    if (entry.due) items.push({ kind: "card", lesson, key: term, due: time(entry.due), entry });
  }
  const scheduled = reviewItems(lesson, records);
  const answers = currentAnswers(lesson, records);
  const checks = currentChecks(lesson, records);
  const questions = [
    ...lesson.quiz.answers.map((_, i) => [`quiz-${i}`, answers[i]]),
    ...Object.keys(lesson.checks).map((key) => [`check-${key}`, checks[key]]),
  ];
  for (const [key, given] of questions) {
    const entry = scheduled[key] || null;
    if (entry) items.push({ kind: "question", lesson, key, due: time(entry.fsrs.due), entry });
    else if (given && !given.correct) items.push({ kind: "question", lesson, key, due: Math.min(given.at || now, now), entry: null });
  }
  return items;
}

export function summarize(index, all, now = new Date()) {
  const nowMs = now.getTime();
  const todayEnd = endOfToday(now);
  let latest = null;
  const upcoming = [];
  const lessons = index.lessons.map((lesson) => {
    const records = all[lesson.id] || {};
    const answers = Object.values(currentAnswers(lesson, records));
    const checks = Object.values(currentChecks(lesson, records));
    const cards = currentCards(lesson, records);
    const items = lessonItems(lesson, records, nowMs);
    upcoming.push(...items.filter((it) => it.due > nowMs).map((it) => it.due));
    const visit = records.visit || null;
    if (visit && (!latest || time(visit.last) > time(latest.visit.last))) latest = { lesson, visit };
    const notes = records.notes ? records.notes.text.trim() : "";
    return {
      lesson,
      visited: Boolean(visit),
      quiz: { total: lesson.quiz.answers.length, answered: answers.length, correct: answers.filter((a) => a.correct).length },
      checks: { total: Object.keys(lesson.checks).length, answered: checks.length, correct: checks.filter((a) => a.correct).length },
      cards: {
        total: lesson.cards.terms.length,
        known: cards.filter(([, e]) => e.mark === "known").length,
        dueToday: items.filter((it) => it.kind === "card" && it.due <= todayEnd).length,
      },
      questionsDueToday: items.filter((it) => it.kind === "question" && it.due <= todayEnd).length,
      dueNow: items.filter((it) => it.due <= nowMs).length,
      notesWords: notes ? notes.split(/\s+/).length : 0,
    };
  });
  const next = upcoming.length ? Math.min(...upcoming) : null;
  return { lessons, latest, next, dueNow: lessons.reduce((n, l) => n + l.dueNow, 0) };
}

// The review queue: items due now, earliest first, questions before cards on ties.
export function dueItems(index, all, now = Date.now()) {
  return index.lessons
    .flatMap((lesson) => lessonItems(lesson, all[lesson.id] || {}, now))
    .filter((it) => it.due <= now)
    .sort((a, b) => a.due - b.due || (a.kind === b.kind ? 0 : a.kind === "question" ? -1 : 1));
}

// ---- the progress file -------------------------------------------------------------------------

function pick(value, fields) {
  const out = {};
  for (const field of fields) if (value[field] !== undefined) out[field] = value[field];
  return out;
}

function clean(kind, record) {
  const out = pick(record, FIELDS[kind]);
  if (kind === "cards") {
    out.cards = Object.fromEntries(Object.entries(record.cards).map(([term, entry]) => [term, isPlainObject(entry) ? pick(entry, CARD_FIELDS) : entry]));
  } else if (kind === "review") {
    out.items = Object.fromEntries(Object.entries(record.items).map(([key, item]) => [key, isPlainObject(item) ? pick(item, ITEM_FIELDS) : item]));
  }
  return out;
}

let validatorModule = null;
export async function makeValidator(schema) {
  if (!validatorModule) validatorModule = import("@cfworker/json-schema").catch(() => null);
  const mod = await validatorModule;
  if (!mod || !schema) return null;
  const validator = new mod.Validator(schema, "2020-12", false);
  return (data) => validator.validate(data);
}

function errorPath(error) {
  return String(error.instanceLocation || "#").replace(/^#\/?/, "").split("/").filter(Boolean).map((p) => decodeURIComponent(p.replace(/~1/g, "/").replace(/~0/g, "~")));
}

// The file to download. Records that would not pass the schema (damaged in storage) are left out
// and counted rather than spoiling the whole file.
export function buildFile(index, all, validate, now = new Date()) {
  const file = { schema_version: SCHEMA_VERSION, course_id: index.course_id, exported_at: now.toISOString(), lessons: {} };
  for (const lesson of index.lessons) {
    const records = all[lesson.id] || {};
    const kept = {};
    for (const kind of KINDS) if (records[kind]) kept[kind] = clean(kind, records[kind]);
    if (Object.keys(kept).length) file.lessons[lesson.id] = kept;
  }
  let left = 0;
  for (let round = 0; validate && round < 50; round += 1) {
    const result = validate(file);
    if (result.valid) break;
    const [top, lessonId, kind] = errorPath(result.errors.find((e) => errorPath(e).length >= 3) || {});
    if (top !== "lessons" || !file.lessons[lessonId] || !file.lessons[lessonId][kind]) break;
    delete file.lessons[lessonId][kind];
    left += 1;
  }
  return { file, left };
}

export function fileName(index, now = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${index.course_id}-progress-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.json`;
}

class FileProblem extends Error {}

function describeError(error) {
  const path = errorPath(error);
  const where = path.length ? path.join(".") : "the top level";
  return `${where}: ${String(error.error || "invalid").replace(/\.$/, "")}`;
}

// Parse and check a file's text: {file} or {error: one line}.
export function checkFile(text, index, validate) {
  try {
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      throw new FileProblem("it is not complete JSON (a damaged or truncated download?)");
    }
    if (!isPlainObject(data) || !("schema_version" in data) || !("course_id" in data)) {
      throw new FileProblem("it is not a progress file (no schema_version and course_id)");
    }
    if (typeof data.schema_version === "number" && data.schema_version > SCHEMA_VERSION) {
      throw new FileProblem(`it was made by a newer version of the course site (format ${data.schema_version}; this site reads format ${SCHEMA_VERSION})`);
    }
    if (data.course_id !== index.course_id) {
      throw new FileProblem(`it belongs to another course (${JSON.stringify(String(data.course_id)).slice(0, 60)}, not "${index.course_id}")`);
    }
    if (!validate) throw new FileProblem("the file checker could not be loaded; reload the page and try again");
    const result = validate(data);
    if (!result.valid) {
      const deepest = [...result.errors].sort((a, b) => errorPath(b).length - errorPath(a).length)[0];
      throw new FileProblem(`it does not match the progress file format (${describeError(deepest)})`);
    }
    const lessons = new Map(index.lessons.map((l) => [l.id, l]));
    for (const [lessonId, records] of Object.entries(data.lessons)) {
      const lesson = lessons.get(lessonId);
      if (!lesson) throw new FileProblem(`lesson "${lessonId}" is not part of this course`);
      checkItems(lesson, records);
    }
    return { file: data };
  } catch (err) {
    if (err instanceof FileProblem) return { error: `Not imported: ${err.message}. Nothing was changed.` };
    throw err;
  }
}

// Item ids must exist in the lesson, for records made for its current questions.
function checkItems(lesson, records) {
  const count = lesson.quiz.answers.length;
  if (records.quiz && records.quiz.version === lesson.quiz.version) {
    for (const key of Object.keys(records.quiz.answers)) {
      if (Number(key) >= count) throw new FileProblem(`lesson "${lesson.id}" has no quiz question ${Number(key) + 1}`);
    }
  }
  if (records.review && records.review.version === lesson.quiz.version) {
    for (const key of Object.keys(records.review.items)) {
      if (key.startsWith("quiz-") && Number(key.slice(5)) >= count) throw new FileProblem(`lesson "${lesson.id}" has no review item "${key}"`);
    }
  }
}

// ---- merging: nothing the browser holds is lost; per item the later review wins ----------------

function mergeLogs(a = [], b = []) {
  const seen = new Map();
  for (const log of [...a, ...b]) seen.set(`${log.review}|${log.rating}`, log);
  return [...seen.values()].sort((x, y) => time(x.review) - time(y.review));
}

function mergeScheduled(local, incoming) {
  if (!local) return incoming;
  const winner = lastReview(incoming) > lastReview(local) ? incoming : local;
  return { ...winner, log: mergeLogs(local.log, incoming.log) };
}

// Copies each entry of `theirs` (with its time in `theirTimes`) into `mine`/`myTimes` where it is
// new or later; entries whose key fails `known` are counted and left out.
function laterWins(mine, myTimes, theirs, theirTimes, known) {
  let unknown = 0;
  for (const [key, value] of Object.entries(theirs)) {
    if (!known(key)) {
      unknown += 1;
    } else if (!(key in mine) || time(theirTimes[key]) > time(myTimes[key])) {
      mine[key] = value;
      if (theirTimes[key]) myTimes[key] = theirTimes[key];
    }
  }
  return unknown;
}

// One function per kind: (this browser's record or null, the file's record, lesson, skipped) -> the
// record to keep. Records made for questions that have since changed are skipped, with a reason.
const MERGE = {
  visit(local, incoming) {
    if (!local) return incoming;
    const later = time(incoming.last) > time(local.last) ? incoming : local;
    return { ...later, first: time(incoming.first) < time(local.first) ? incoming.first : local.first };
  },
  quiz(local, incoming, lesson, skipped) {
    const current = lesson.quiz.version;
    const mine = local || { version: null, answers: {} };
    let { version } = mine;
    let answers = { ...mine.answers };
    let answered = { ...(mine.answered || {}) };
    if (Object.keys(incoming.answers).length && incoming.version !== current) {
      skipped.push(`quiz answers of "${lesson.title}" (its questions have changed)`);
    } else if (Object.keys(incoming.answers).length) {
      if (version !== current) [version, answers, answered] = [current, {}, {}];
      laterWins(answers, answered, incoming.answers, incoming.answered || {}, () => true);
    }
    const checks = { ...(mine.checks || {}) };
    const checksAnswered = { ...(mine.checks_answered || {}) };
    const unknown = laterWins(checks, checksAnswered, incoming.checks || {}, incoming.checks_answered || {}, (key) => key in lesson.checks);
    if (unknown) skipped.push(`${unknown} check answer(s) of "${lesson.title}" whose questions have changed`);
    return { version: version === null ? incoming.version : version, answers, answered, checks, checks_answered: checksAnswered };
  },
  cards(local, incoming, lesson, skipped) {
    const terms = new Set(lesson.cards.terms);
    const cards = { ...(local ? local.cards : {}) };
    let unknown = 0;
    for (const [term, entry] of Object.entries(incoming.cards)) {
      if (!terms.has(term)) unknown += 1;
      else cards[term] = mergeScheduled(cards[term], entry);
    }
    if (unknown) skipped.push(`${unknown} card(s) of "${lesson.title}" no longer in its deck`);
    return { version: lesson.cards.version, cards };
  },
  review(local, incoming, lesson, skipped) {
    const current = lesson.quiz.version;
    const items = {};
    const isCurrent = (key, record) => (key.startsWith("check-") ? key.slice(6) in lesson.checks : record.version === current);
    for (const [key, item] of Object.entries(local ? local.items : {})) if (isCurrent(key, local)) items[key] = item;
    let stale = 0;
    for (const [key, item] of Object.entries(incoming.items)) {
      if (isCurrent(key, incoming)) items[key] = mergeScheduled(items[key], item);
      else stale += 1;
    }
    if (stale) skipped.push(`${stale} review schedule(s) of "${lesson.title}" whose questions have changed`);
    return { version: current, items };
  },
  notes(local, incoming) {
    if (!local || incoming.text.includes(local.text)) return incoming;
    if (local.text.includes(incoming.text)) return local;
    // Both differ: keep both, the imported text after a marked line.
    const stamp = String(incoming.saved).slice(0, 10);
    return { text: `${local.text}\n\n--- imported note (saved ${stamp}) ---\n${incoming.text}`, saved: new Date().toISOString() };
  },
};

// Merge a checked file into the records of this browser. Returns {writes: [[kind, id, value]],
// changed: number of records, skipped: [reasons]}. Records that come out equal are not written, so
// importing the same file twice changes nothing the second time.
export function mergeFile(index, all, file) {
  const writes = [];
  const skipped = [];
  for (const lesson of index.lessons) {
    const incoming = file.lessons[lesson.id];
    if (!incoming) continue;
    const local = all[lesson.id] || {};
    for (const kind of KINDS) {
      if (!incoming[kind]) continue;
      const mine = local[kind] ? clean(kind, local[kind]) : null;
      const merged = MERGE[kind](mine, clean(kind, incoming[kind]), lesson, skipped);
      if (merged && JSON.stringify(merged) !== JSON.stringify(mine)) writes.push([kind, lesson.id, merged]);
    }
  }
  return { writes, skipped };
}

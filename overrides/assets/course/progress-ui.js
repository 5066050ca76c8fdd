// The reader's progress on the page: the dashboard over the course map, the line under each lesson
// header, export/import of the progress file, resetting a lesson, visits and the last section read,
// and the notice shown when the browser will not keep anything. The logic is in progress.js.
import {
  buildFile, checkFile, fileName, KINDS, PROGRESS_CHANGED, loadRecord, makeValidator, mergeFile, readAll, readIndex, readSchema, summarize,
} from "./progress.js";
import { when } from "./schedule.js";
import { onStorageRefused, save, saveAll, storageRefused } from "./storage.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const PAGE_OF = { lesson: "url", quiz: "quiz_url", flashcards: "flashcards_url" };

function lessonLine(entry, { withTitle = false } = {}) {
  const parts = [];
  if (withTitle) parts.push(entry.visited ? "Visited" : "Not visited yet");
  parts.push(`Quiz: ${entry.quiz.correct} of ${entry.quiz.total} correct (${entry.quiz.answered} answered)`);
  if (entry.checks.total) parts.push(`Checks in the text: ${entry.checks.answered} of ${entry.checks.total} answered`);
  parts.push(`Cards: ${entry.cards.known} of ${entry.cards.total} known, ${entry.cards.dueToday} due today`);
  if (entry.questionsDueToday) parts.push(`${plural(entry.questionsDueToday, "question")} to review today`);
  parts.push(entry.notesWords ? `Notes: ${plural(entry.notesWords, "word")}` : "No notes yet");
  return parts.join(" · ");
}

function continueLink(latest) {
  const link = document.createElement("a");
  const { lesson, visit } = latest;
  link.href = lesson[PAGE_OF[visit.page] || "url"] + (visit.section ? `#${encodeURIComponent(visit.section)}` : "");
  link.className = "course-dashboard__continue-link";
  const where = visit.page === "lesson" ? "" : ` (${visit.page})`;
  link.textContent = `Continue: ${lesson.title}${where}`;
  return link;
}

export function initDashboard(root) {
  const index = readIndex(root);
  if (!index) return;
  const render = () => {
    const summary = summarize(index, readAll(index));
    const cont = root.querySelector(".course-dashboard__continue");
    cont.replaceChildren(summary.latest ? continueLink(summary.latest) : "Start with the first lesson below; your progress will show here.");
    const visited = summary.lessons.filter((l) => l.visited).length;
    const correct = summary.lessons.reduce((n, l) => n + l.quiz.correct, 0);
    const questions = summary.lessons.reduce((n, l) => n + l.quiz.total, 0);
    const known = summary.lessons.reduce((n, l) => n + l.cards.known, 0);
    const cards = summary.lessons.reduce((n, l) => n + l.cards.total, 0);
    root.querySelector(".course-dashboard__summary").textContent =
      `${visited} of ${plural(index.lessons.length, "lesson")} visited · ${correct} of ${questions} quiz questions correct · ${known} of ${cards} cards known`;
    root.querySelector(".course-dashboard__due").textContent = summary.dueNow
      ? `${plural(summary.dueNow, "item")} due now`
      : summary.next ? `Nothing due now; next ${when(new Date(summary.next))}` : "Nothing to review yet";
    for (const entry of summary.lessons) {
      const item = document.querySelector(`.course-map__lesson[data-lesson-id="${CSS.escape(entry.lesson.id)}"]`);
      if (!item) continue;
      let line = item.querySelector(".course-map__progress");
      if (!line) {
        line = document.createElement("p");
        line.className = "course-map__progress";
        item.append(line);
      }
      line.textContent = lessonLine(entry, { withTitle: true });
    }
  };
  render();
  root.addEventListener(PROGRESS_CHANGED, render);
  root.hidden = false;
}

export function initLessonProgress(root) {
  const index = readIndex(root);
  const lessonId = root.dataset.lessonId;
  if (!index || !index.lessons.some((l) => l.id === lessonId)) return;
  const render = () => {
    const entry = summarize(index, readAll(index)).lessons.find((l) => l.lesson.id === lessonId);
    root.querySelector(".lesson-progress__summary").textContent = `Your progress: ${lessonLine(entry)}`;
  };
  render();
  root.addEventListener(PROGRESS_CHANGED, render);
  const dialog = root.querySelector(".lesson-progress__dialog");
  root.querySelector("[data-progress-reset]").addEventListener("click", () => dialog.showModal());
  root.querySelector(".lesson-progress__cancel").addEventListener("click", () => dialog.close());
  root.querySelector(".lesson-progress__confirm").addEventListener("click", () => {
    saveAll(KINDS.map((kind) => [kind, lessonId, null]));
    dialog.close();
    // The lesson's own widgets (notes) read storage when bound: reload so the page shows the reset.
    window.location.reload();
  });
  root.hidden = false;
}

// Export and import of the progress file. The course index and schema are on the enclosing
// dashboard, lesson progress or review element; after an import, PROGRESS_CHANGED bubbles up to it.
export function initFileTools(tools) {
  const root = tools.closest("[data-course-index]");
  const index = root && readIndex(root);
  if (!index) return;
  const schema = readSchema(root);
  const status = tools.querySelector(".course-progress-file__status");
  const say = (text, isError = false) => {
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  };
  const exportButton = tools.querySelector("[data-progress-export]");
  exportButton.addEventListener("click", async () => {
    const { file, left } = buildFile(index, readAll(index), await makeValidator(schema));
    const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 1)], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName(index);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    const lessons = Object.keys(file.lessons).length;
    say(`Downloaded ${link.download} (progress in ${plural(lessons, "lesson")})` +
      (left ? `; ${plural(left, "damaged record")} could not be included.` : "."));
  });
  const input = tools.querySelector("[data-progress-import]");
  if (!input) return;
  input.addEventListener("change", async () => {
    const chosen = input.files && input.files[0];
    if (!chosen) return;
    const text = await readText(chosen);
    input.value = ""; // choosing the same file again fires change again
    const checked = text === null
      ? { error: "Not imported: the file could not be read. Nothing was changed." }
      : checkFile(text, index, await makeValidator(schema));
    if (checked.error) {
      say(checked.error, true);
      return;
    }
    const { writes, skipped } = mergeFile(index, readAll(index), checked.file);
    const stored = saveAll(writes);
    const note = skipped.length ? ` Left out: ${skipped.join("; ")}.` : "";
    say(writes.length
      ? `Imported ${chosen.name}: ${plural(writes.length, "record")} updated${stored ? "" : " for this session only (the browser would not store them)"}.${note}`
      : `Nothing new in ${chosen.name}: this browser already holds all of it.${note}`);
    tools.dispatchEvent(new CustomEvent(PROGRESS_CHANGED, { bubbles: true }));
  });
}

// FileReader works for pages opened from disk as well as served ones.
function readText(file) {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : null);
    reader.onerror = () => resolve(null);
    reader.readAsText(file);
  });
}

// ---- visits: which lesson pages were opened, and the section last read -------------------------

let tracked = null; // {element, lessonId, page} of the page on screen
let sectionTimer = 0;

// Called on every page (instant navigation included): a lesson, quiz or flashcards page counts as a
// visit of its lesson and becomes the place "Continue" leads to.
export function recordVisit() {
  const root = document.querySelector(".lesson-header[data-lesson-id], .course-quiz[data-quiz-id], .course-cards[data-cards-id]");
  if (!root) {
    tracked = null;
    return;
  }
  if (tracked && tracked.element === root) return;
  const lessonId = root.dataset.lessonId || root.dataset.quizId || root.dataset.cardsId;
  const page = root.classList.contains("course-quiz") ? "quiz" : root.classList.contains("course-cards") ? "flashcards" : "lesson";
  const now = new Date().toISOString();
  const previous = loadRecord("visit", lessonId);
  // the same page opened again (a reload, whose restored scroll need not fire a scroll event) keeps the
  // section last read; the next scroll records where the reader is now
  const section = previous && previous.page === page ? previous.section || "" : "";
  save("visit", lessonId, { first: previous ? previous.first : now, last: now, page, section });
  tracked = { element: root, lessonId, page };
}

function currentSection() {
  const headings = [...document.querySelectorAll("article h2[id], article h3[id]")];
  let id = "";
  for (const heading of headings) {
    if (heading.getBoundingClientRect().top < window.innerHeight * 0.4) id = heading.id;
  }
  return id;
}

window.addEventListener("scroll", () => {
  if (!tracked || tracked.page !== "lesson") return;
  clearTimeout(sectionTimer);
  sectionTimer = setTimeout(() => {
    const record = tracked && loadRecord("visit", tracked.lessonId);
    const section = currentSection();
    if (record && record.section !== section) save("visit", tracked.lessonId, { ...record, last: new Date().toISOString(), section });
  }, 300);
}, { passive: true });

// ---- storage unavailable ----------------------------------------------------------------------

export function showStorageNotice() {
  if (!storageRefused()) return;
  const content = document.querySelector(".md-content__inner");
  if (!content || content.querySelector(".course-storage-notice")) return;
  const notice = document.createElement("p");
  notice.className = "course-storage-notice";
  notice.setAttribute("role", "status");
  notice.textContent = "This browser is not keeping data for this site (storage is blocked, full or private): " +
    "your progress works until you close this tab but will not be kept. Use Export progress on the home or review page to save a copy.";
  content.prepend(notice);
}

onStorageRefused(showStorageNotice);

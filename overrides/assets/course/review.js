// The review page: everything due now across the course, one item at a time. Cards are flipped and
// graded Again/Hard/Good/Easy; questions answered wrongly are answered again (right = Good, wrong =
// Again). Each grade is an FSRS review (schedule.js) stored with the lesson's progress.
import { dueItems, loadRecord, PROGRESS_CHANGED, readAll, readIndex, summarize } from "./progress.js";
import { grade, RATINGS, when } from "./schedule.js";
import { pageKeys } from "./keys.js";
import { save } from "./storage.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
// On a focused button, Space is handled here (flip or grade) so it is not also a click.
const sessions = pageKeys(".course-review[data-course-bound]", "input, textarea, select, a, [contenteditable]");

function readBank(root) {
  const bank = new Map();
  for (const section of root.querySelectorAll(".course-review__bank > section")) {
    const lesson = { title: section.dataset.title, url: section.dataset.url, flashcardsUrl: section.dataset.flashcardsUrl, questions: new Map(), cards: new Map() };
    for (const li of section.querySelectorAll(".course-review__questions > li")) {
      lesson.questions.set(li.dataset.key, {
        q: li.querySelector(".course-review__q").textContent,
        options: [...li.querySelectorAll("ol > li")].map((o) => o.textContent),
        answer: Number(li.dataset.answer),
        why: li.querySelector(".course-review__why").textContent,
        href: li.dataset.href,
      });
    }
    for (const li of section.querySelectorAll(".course-review__cards > li")) {
      lesson.cards.set(li.dataset.key, { term: li.querySelector(".course-review__term").textContent, definition: li.querySelector(".course-review__definition").textContent });
    }
    bank.set(section.dataset.lessonId, lesson);
  }
  return bank;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `md-button ${className}`;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

export function initReview(root) {
  const index = readIndex(root);
  if (!index) return;
  const bank = readBank(root);
  const $ = (selector) => root.querySelector(selector);
  const session = $(".course-review__session");
  const itemBox = $(".course-review__item");
  const controls = $(".course-review__controls");
  const feedback = $(".course-review__feedback");
  const empty = $(".course-review__empty");
  let queue = [];
  let position = 0;
  let state = null; // {item, flipped | answered, keys: {key: action}}

  function showCounts() {
    const cards = queue.filter((it) => it.kind === "card").length;
    const questions = queue.length - cards;
    $(".course-review__counts").textContent = queue.length
      ? `Due now: ${plural(queue.length, "item")} (${plural(cards, "card")}, ${plural(questions, "question")}).`
      : "Nothing is due now.";
    const list = $(".course-review__lessons");
    list.replaceChildren();
    for (const lesson of index.lessons) {
      const mine = queue.filter((it) => it.lesson.id === lesson.id);
      if (!mine.length) continue;
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = lesson.url;
      link.textContent = lesson.title;
      const c = mine.filter((it) => it.kind === "card").length;
      li.append(link, `: ${plural(c, "card")}, ${plural(mine.length - c, "question")}`);
      list.append(li);
    }
  }

  function showEmpty() {
    session.hidden = true;
    state = null;
    const summary = summarize(index, readAll(index));
    if (summary.next) {
      const next = new Date(summary.next);
      empty.textContent = `${position ? "Done for now. " : ""}Nothing is due now. The next item is due ${when(next)} (${next.toLocaleString()}).`;
    } else {
      empty.textContent = "Nothing to review yet. Mark flashcards on a lesson's flashcards page, or answer its quiz: cards you mark and questions you get wrong come back here when they are due.";
    }
    empty.hidden = false;
  }

  function start() {
    queue = dueItems(index, readAll(index));
    position = 0;
    showCounts();
    if (queue.length) next(false, false);
    else showEmpty();
  }

  // `focus`: move keyboard focus to the new item (not on page load, where it would steal focus).
  function next(advance = true, focus = true) {
    if (advance) position += 1;
    if (position >= queue.length) {
      showCounts();
      showEmpty();
      return;
    }
    empty.hidden = true;
    session.hidden = false;
    const item = queue[position];
    $(".course-review__position").textContent = `Item ${position + 1} of ${queue.length} · ${item.lesson.title}`;
    feedback.textContent = "";
    const first = item.kind === "card" ? showCard(item) : showQuestion(item);
    if (focus) first.focus();
  }

  function showCard(item) {
    const card = bank.get(item.lesson.id).cards.get(item.key);
    state = { item, flipped: false, keys: {} };
    const flip = () => {
      state.flipped = true;
      itemBox.replaceChildren(paragraph("course-review__side", "Definition"), paragraph("course-review__face", card.definition), paragraph("course-review__term-below", card.term));
      controls.replaceChildren(...RATINGS.map((name, i) => button(`${i + 1} ${name}`, `course-review__grade course-review__grade--${name.toLowerCase()}`, () => gradeCard(item, i + 1))));
      state.keys = { 1: () => gradeCard(item, 1), 2: () => gradeCard(item, 2), 3: () => gradeCard(item, 3), 4: () => gradeCard(item, 4) };
      controls.querySelector(".course-review__grade--good").focus();
    };
    itemBox.replaceChildren(paragraph("course-review__side", "Card"), paragraph("course-review__face", card.term));
    const flipButton = button("Show the definition (Space)", "course-review__flip", flip);
    controls.replaceChildren(flipButton);
    state.keys = { " ": flip };
    return flipButton;
  }

  async function gradeCard(item, rating) {
    state.keys = {};
    const stored = loadRecord("cards", item.lesson.id);
    const cards = stored ? { ...stored.cards } : {};
    const previous = cards[item.key] || item.entry;
    const graded = await grade(previous && previous.fsrs, rating);
    if (!graded) {
      feedback.textContent = "The scheduler could not be loaded; reload the page to try again.";
      return;
    }
    cards[item.key] = { mark: rating === 1 ? "again" : "known", due: graded.due, fsrs: graded.fsrs, log: [...(previous && previous.log ? previous.log : []), graded.log] };
    save("cards", item.lesson.id, { version: item.lesson.cards.version, cards });
    next();
  }

  function showQuestion(item) {
    const question = bank.get(item.lesson.id).questions.get(item.key);
    state = { item, answered: false, keys: {} };
    const list = document.createElement("ol");
    list.className = "course-review__options";
    const choose = (choice) => answer(item, question, choice);
    question.options.forEach((option, i) => {
      const li = document.createElement("li");
      li.append(button(`${i + 1}. ${option}`, "course-review__option", () => choose(i)));
      list.append(li);
      if (i < 9) state.keys[String(i + 1)] = () => choose(i);
    });
    itemBox.replaceChildren(paragraph("course-review__side", "Question you got wrong"), paragraph("course-review__question", question.q), list);
    controls.replaceChildren();
    return list.querySelector("button");
  }

  async function answer(item, question, choice) {
    if (state.answered) return;
    state.answered = true;
    state.keys = {};
    const right = choice === question.answer;
    for (const [i, b] of [...itemBox.querySelectorAll(".course-review__option")].entries()) {
      b.disabled = true;
      b.classList.toggle("is-correct", i === question.answer);
      b.classList.toggle("is-wrong", i === choice && !right);
    }
    const stored = loadRecord("review", item.lesson.id);
    const items = stored && stored.version === item.lesson.quiz.version ? { ...stored.items } : {};
    const previous = items[item.key] || item.entry;
    const graded = await grade(previous && previous.fsrs, right ? 3 : 1);
    const link = document.createElement("a");
    link.href = question.href;
    link.textContent = "See the question in the lesson's quiz";
    feedback.replaceChildren(
      paragraph(`course-review__verdict ${right ? "is-correct" : "is-wrong"}`, right ? "Correct." : `Not quite. The answer is: ${question.options[question.answer]}.`),
      paragraph("course-review__why", question.why),
      link,
    );
    if (graded) {
      items[item.key] = { fsrs: graded.fsrs, log: [...(previous && previous.log ? previous.log : []), graded.log] };
      save("review", item.lesson.id, { version: item.lesson.quiz.version, items });
      feedback.append(paragraph("course-review__next-due", `Next review ${when(new Date(graded.due))}.`));
    }
    const go = button("Next (Space)", "course-review__next", () => next());
    controls.replaceChildren(go);
    state.keys = { " ": () => next(), Enter: () => next() };
    go.focus();
  }

  sessions.set(root, (event) => {
    const action = state && state.keys[event.key];
    if (!action) return false;
    action();
    return true;
  });
  root.addEventListener(PROGRESS_CHANGED, start);
  start();
}

// Flashcards page: flip (click or Space), previous/next, shuffle, and "Known" / "Again" marks that
// are remembered in this browser. Each mark is a review graded for the FSRS spaced-repetition model
// (ts-fsrs, see schedule.js), which sets when the card is due again; due cards come first in the deck.
import { pageKeys } from "./keys.js";
import { grade, when } from "./schedule.js";
import { isPlainObject, load, save } from "./storage.js";

// Space flips, arrows move. A focused button already turns Space into a click, so buttons are left alone.
const decks = pageKeys(".course-cards[data-course-bound]", "input, textarea, select, button, a, [contenteditable]");

export function initFlashcards(root) {
  const id = root.dataset.cardsId;
  const version = root.dataset.cardsVersion;
  const cards = [...root.querySelectorAll(".course-cards__item")].map((item) => ({
    term: item.querySelector(".course-cards__term").textContent,
    definition: item.querySelector(".course-cards__definition").textContent,
  }));
  if (!cards.length) return;
  const $ = (selector) => root.querySelector(selector);
  const cardButton = $(".course-cards__card");
  const face = $(".course-cards__face");
  const side = $(".course-cards__side");
  const position = $(".course-cards__position");
  const status = $(".course-cards__status");
  const summary = $(".course-cards__summary");

  // Saved marks by term; entries for terms no longer in the deck are ignored (and dropped on save).
  const saved = load("cards", id, (v) => isPlainObject(v) && isPlainObject(v.cards));
  const marks = {};
  for (const card of cards) {
    const entry = saved && saved.cards[card.term];
    if (isPlainObject(entry) && (entry.mark === "known" || entry.mark === "again")) {
      const due = typeof entry.due === "string" ? new Date(entry.due) : null;
      marks[card.term] = {
        mark: entry.mark,
        due: due && !Number.isNaN(due.getTime()) ? due.toISOString() : null,
        fsrs: isPlainObject(entry.fsrs) ? entry.fsrs : null,
        log: Array.isArray(entry.log) ? entry.log : [],
      };
    }
  }

  let order = dueFirst();
  let index = 0;
  let flipped = false;

  function dueFirst() {
    const now = Date.now();
    const dueAt = (i) => {
      const m = marks[cards[i].term];
      return m && m.due ? Date.parse(m.due) : 0; // new cards count as due now
    };
    return cards.map((_, i) => i).sort((a, b) => {
      const da = dueAt(a) <= now ? 0 : dueAt(a);
      const db = dueAt(b) <= now ? 0 : dueAt(b);
      return da - db || a - b;
    });
  }

  function describe(mark) {
    if (!mark) return "Not marked yet.";
    const label = mark.mark === "known" ? "Marked known" : "Marked again";
    return mark.due ? `${label}; next review ${when(new Date(mark.due))}.` : `${label}.`;
  }

  function render() {
    const card = cards[order[index]];
    side.textContent = flipped ? "Definition" : "Term";
    face.textContent = flipped ? card.definition : card.term;
    cardButton.classList.toggle("is-flipped", flipped);
    cardButton.setAttribute("aria-label", `${flipped ? "Definition" : "Term"}: ${face.textContent}. Press to flip.`);
    position.textContent = `Card ${index + 1} of ${cards.length}`;
    status.textContent = describe(marks[card.term]);
    const values = Object.values(marks);
    const known = values.filter((m) => m.mark === "known").length;
    const again = values.filter((m) => m.mark === "again").length;
    const now = Date.now();
    const due = cards.filter((c) => !marks[c.term] || !marks[c.term].due || Date.parse(marks[c.term].due) <= now).length;
    summary.textContent = `Known: ${known} · Again: ${again} · Not marked: ${cards.length - known - again} · Due now: ${due}`;
  }

  function flip() {
    flipped = !flipped;
    render();
  }

  function go(step) {
    index = (index + step + cards.length) % cards.length;
    flipped = false;
    render();
  }

  function shuffle() {
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    index = 0;
    flipped = false;
    render();
    status.textContent = "Deck shuffled. " + status.textContent;
  }

  async function markCard(mark) {
    const card = cards[order[index]];
    const previous = marks[card.term];
    const entry = { mark, due: null, fsrs: null, log: previous ? previous.log : [] };
    const graded = await grade(previous && previous.fsrs, mark === "known" ? 3 : 1); // Good / Again
    if (graded) {
      Object.assign(entry, { due: graded.due, fsrs: graded.fsrs, log: [...entry.log, graded.log] });
    }
    marks[card.term] = entry;
    const ok = save("cards", id, { version, cards: marks });
    render();
    if (!ok) status.textContent += " (Could not save: browser storage is full or blocked.)";
  }

  cardButton.addEventListener("click", flip);
  $(".course-cards__prev").addEventListener("click", () => go(-1));
  $(".course-cards__next").addEventListener("click", () => go(1));
  $(".course-cards__shuffle").addEventListener("click", shuffle);
  $(".course-cards__known").addEventListener("click", () => markCard("known"));
  $(".course-cards__again").addEventListener("click", () => markCard("again"));
  decks.set(root, (event) => {
    if (event.key === " ") flip();
    else if (event.key === "ArrowRight") go(1);
    else if (event.key === "ArrowLeft") go(-1);
    return event.key === " "; // the page must not scroll; arrows keep their default
  });
  $(".course-cards__deck").hidden = false;
  $(".course-cards__list").hidden = true;
  render();
}


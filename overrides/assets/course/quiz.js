// Quiz page and the check questions inside lessons: check one answer at a time, explain it, keep score,
// remember answers across reloads.
//
// Saved progress, one entry per lesson (read it with loadProgress; other modules may, too):
//   key   storageKey("quiz", <lesson id>) = "scaling-course:v1:quiz:<lesson id>"
//   value {version, answers: {"<question index>": <option index>}, checks: {"<check id>": <option index>},
//          answered: {"<question index>": ISO time}, checks_answered: {"<check id>": ISO time}}
// The times say which answer is later when progress files merge (progress.js).
// `version` fingerprints the quiz page's questions (data-quiz-version): when they change, `answers` is
// dropped. A check's id (data-check on its form, also written by hooks/lessons/pages.py) fingerprints
// that question alone, so a changed check loses only its own answer and the quiz keeps its own.
import { isPlainObject, load, save } from "./storage.js";

const isChoice = (value) => Number.isInteger(value) && value >= 0;

const isTime = (value) => typeof value === "string" && !Number.isNaN(Date.parse(value));

function cleanMap(value, valid = isChoice) {
  const out = {};
  for (const [key, entry] of Object.entries(isPlainObject(value) ? value : {})) if (valid(entry)) out[key] = entry;
  return out;
}

// -> {version, answers, checks}: whatever is saved for this lesson, bad entries left out.
export function loadProgress(lessonId) {
  const saved = load("quiz", lessonId, isPlainObject) || {};
  return {
    version: typeof saved.version === "string" ? saved.version : null,
    answers: cleanMap(saved.answers),
    checks: cleanMap(saved.checks),
    answered: cleanMap(saved.answered, isTime),
    checks_answered: cleanMap(saved.checks_answered, isTime),
  };
}

// Merges `changes` into the saved progress (other parts are kept); false if the browser refused.
export function saveProgress(lessonId, changes) {
  return save("quiz", lessonId, { ...loadProgress(lessonId), ...changes });
}

// One question (fieldset.course-quiz__question with data-answer): "Check answer" shows right or wrong and
// the explanation. `answered(choice)` is called with the reader's choice; show(choice) restores one.
export function bindQuestion(fieldset, answered) {
  const options = () => [...fieldset.querySelectorAll('input[type="radio"]')];
  const verdict = fieldset.querySelector(".course-quiz__verdict");
  const explain = fieldset.querySelector(".course-quiz__explain");

  function show(choice, announce) {
    const correct = Number(fieldset.dataset.answer);
    const inputs = options();
    inputs.forEach((input, j) => {
      input.checked = j === choice;
      const label = input.closest("label");
      label.classList.toggle("is-correct", j === correct);
      label.classList.toggle("is-wrong", j === choice && j !== correct);
    });
    const right = choice === correct;
    const answerText = inputs[correct] ? inputs[correct].closest("label").textContent.trim().replace(/\.$/, "") : "";
    verdict.textContent = right ? "Correct." : `Not quite. The answer is: ${answerText}.`;
    verdict.className = `course-quiz__verdict ${right ? "is-correct" : "is-wrong"}`;
    explain.hidden = false;
    fieldset.classList.add("is-answered");
    if (announce) {
      verdict.tabIndex = -1;
      verdict.focus();
    }
  }

  function reset() {
    for (const input of options()) {
      input.checked = false;
      input.closest("label").classList.remove("is-correct", "is-wrong");
    }
    verdict.textContent = "";
    verdict.className = "course-quiz__verdict";
    explain.hidden = true;
    fieldset.classList.remove("is-answered");
  }

  fieldset.querySelector(".course-quiz__check").addEventListener("click", () => {
    const chosen = fieldset.querySelector('input[type="radio"]:checked');
    if (!chosen) {
      verdict.textContent = "Choose an option first.";
      return;
    }
    const choice = Number(chosen.value);
    answered(choice);
    show(choice, true);
  });
  return { show, reset, count: () => options().length };
}

export function initQuiz(root) {
  const id = root.dataset.quizId;
  const version = root.dataset.quizVersion; // changes when the questions change: old answers are dropped
  const scoreEl = root.querySelector(".course-quiz__score");
  const fieldsets = [...root.querySelectorAll(".course-quiz__question")];
  let answers = {};
  let answered = {};
  const questions = fieldsets.map((fieldset, index) => bindQuestion(fieldset, (choice) => {
    answers[index] = choice;
    answered[index] = new Date().toISOString();
    saveProgress(id, { version, answers, answered });
    updateScore();
  }));

  const saved = loadProgress(id);
  if (saved.version === version) {
    for (const [key, choice] of Object.entries(saved.answers)) {
      const index = Number(key);
      if (questions[index] && choice < questions[index].count()) {
        answers[index] = choice;
        if (saved.answered[key]) answered[index] = saved.answered[key];
      }
    }
  }

  function updateScore() {
    const answered = Object.keys(answers).length;
    const right = fieldsets.filter((q, i) => answers[i] === Number(q.dataset.answer)).length;
    scoreEl.textContent =
      answered === fieldsets.length
        ? `Quiz complete: ${right} of ${fieldsets.length} correct.`
        : `Score: ${right} of ${fieldsets.length} (${answered} answered).`;
  }

  questions.forEach((question, index) => {
    if (index in answers) question.show(answers[index], false);
  });

  root.querySelector(".course-quiz__retry").addEventListener("click", () => {
    answers = {};
    answered = {};
    saveProgress(id, { version, answers, answered }); // the lesson's check answers stay
    questions.forEach((question) => question.reset());
    updateScore();
    const first = fieldsets[0] && fieldsets[0].querySelector("input");
    if (first) first.focus();
  });
  root.querySelector(".course-quiz__form").addEventListener("submit", (event) => event.preventDefault());
  updateScore();
}

// A check question in the lesson body (form.lesson-check[data-check]): the quiz's interaction, its answer
// saved with the lesson's quiz progress under its check id.
export function initCheck(form) {
  const lessonId = form.dataset.lessonId;
  const checkId = form.dataset.check;
  const fieldset = form.querySelector(".course-quiz__question");
  const question = bindQuestion(fieldset, (choice) => {
    const { checks, checks_answered: times } = loadProgress(lessonId);
    saveProgress(lessonId, { checks: { ...checks, [checkId]: choice }, checks_answered: { ...times, [checkId]: new Date().toISOString() } });
  });
  const saved = loadProgress(lessonId).checks[checkId];
  if (saved !== undefined && saved < question.count()) question.show(saved, false);
  form.addEventListener("submit", (event) => event.preventDefault());
}

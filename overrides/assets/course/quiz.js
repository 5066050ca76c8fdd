// Quiz page: check one answer at a time, explain it, keep score, remember answers across reloads.
import { isPlainObject, load, remove, save } from "./storage.js";

export function initQuiz(root) {
  const id = root.dataset.quizId;
  const version = root.dataset.quizVersion; // changes when the questions change: old answers are dropped
  const questions = [...root.querySelectorAll(".course-quiz__question")];
  const scoreEl = root.querySelector(".course-quiz__score");
  let answered = {}; // when each answer was given: the later answer wins when progress files merge
  let answers = restore();

  function restore() {
    const saved = load("quiz", id, (v) => isPlainObject(v) && v.version === version && isPlainObject(v.answers));
    const times = saved && isPlainObject(saved.answered) ? saved.answered : {};
    const valid = {};
    for (const [key, choice] of Object.entries(saved ? saved.answers : {})) {
      const index = Number(key);
      const fieldset = questions[index];
      if (fieldset && Number.isInteger(choice) && choice >= 0 && choice < options(fieldset).length) {
        valid[index] = choice;
        if (typeof times[key] === "string" && !Number.isNaN(Date.parse(times[key]))) answered[index] = times[key];
      }
    }
    return valid;
  }

  function persist() {
    save("quiz", id, { version, answers, answered });
  }

  function options(fieldset) {
    return [...fieldset.querySelectorAll('input[type="radio"]')];
  }

  function show(fieldset, index, announce) {
    const choice = answers[index];
    const correct = Number(fieldset.dataset.answer);
    const inputs = options(fieldset);
    inputs.forEach((input, j) => {
      input.checked = j === choice;
      const label = input.closest("label");
      label.classList.toggle("is-correct", j === correct);
      label.classList.toggle("is-wrong", j === choice && j !== correct);
    });
    const right = choice === correct;
    const answerText = inputs[correct] ? inputs[correct].closest("label").textContent.trim().replace(/\.$/, "") : "";
    const verdict = fieldset.querySelector(".course-quiz__verdict");
    verdict.textContent = right ? "Correct." : `Not quite. The answer is: ${answerText}.`;
    verdict.className = `course-quiz__verdict ${right ? "is-correct" : "is-wrong"}`;
    fieldset.querySelector(".course-quiz__explain").hidden = false;
    fieldset.classList.add("is-answered");
    if (announce) {
      verdict.tabIndex = -1;
      verdict.focus();
    }
  }

  function reset(fieldset) {
    for (const input of options(fieldset)) {
      input.checked = false;
      input.closest("label").classList.remove("is-correct", "is-wrong");
    }
    const verdict = fieldset.querySelector(".course-quiz__verdict");
    verdict.textContent = "";
    verdict.className = "course-quiz__verdict";
    fieldset.querySelector(".course-quiz__explain").hidden = true;
    fieldset.classList.remove("is-answered");
  }

  function updateScore() {
    const answered = Object.keys(answers).length;
    const right = questions.filter((q, i) => answers[i] === Number(q.dataset.answer)).length;
    scoreEl.textContent =
      answered === questions.length
        ? `Quiz complete: ${right} of ${questions.length} correct.`
        : `Score: ${right} of ${questions.length} (${answered} answered).`;
  }

  questions.forEach((fieldset, index) => {
    fieldset.querySelector(".course-quiz__check").addEventListener("click", () => {
      const chosen = fieldset.querySelector('input[type="radio"]:checked');
      if (!chosen) {
        fieldset.querySelector(".course-quiz__verdict").textContent = "Choose an option first.";
        return;
      }
      answers[index] = Number(chosen.value);
      answered[index] = new Date().toISOString();
      persist();
      show(fieldset, index, true);
      updateScore();
    });
    if (index in answers) show(fieldset, index, false);
  });

  root.querySelector(".course-quiz__retry").addEventListener("click", () => {
    answers = {};
    answered = {};
    remove("quiz", id);
    questions.forEach(reset);
    updateScore();
    const first = questions[0] && questions[0].querySelector("input");
    if (first) first.focus();
  });
  root.querySelector(".course-quiz__form").addEventListener("submit", (event) => event.preventDefault());
  updateScore();
}

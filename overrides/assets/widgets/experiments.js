// Experiment cards (section.lesson-experiment[data-experiment], written by hooks/lessons/pages.py).
// The card arrives showing the values the build computed (what readers without JavaScript, and print,
// see). Here the question comes first: the outcome is folded away until the reader presses "Run this
// experiment", which loads the experiment's settings into this page's widget (controls, URL fragment,
// scroll and focus), runs the experiment and its baseline in the tab's Python worker, and shows what to
// notice and every claim with its live value and whether it holds. Claims come from the build already
// parsed (never evaluated as code); `compare` mirrors hooks/lessons/blocks.py.

export function compare(a, op, b, tolerance) {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  if (op === "==") return a === b;
  if (op === "!=") return a !== b;
  if (typeof a === "boolean" || typeof b === "boolean") return false; // yes/no values: == and != only
  switch (op) {
    case "<": return a < b;
    case "<=": return a <= b;
    case ">": return a > b;
    case ">=": return a >= b;
    case "≈": return Math.abs(a - b) <= ((tolerance || 0) / 100) * Math.abs(b);
    default: return false;
  }
}

// side: {path, baseline} or {literal, text}; payloads: the worker's results ({metrics: {name: {value, text}}})
function sideValue(side, live, baseline) {
  if (!side.path) return { value: side.literal, text: side.text };
  const metric = (side.baseline ? baseline : live).metrics[side.path];
  return metric || { value: null, text: "—" };
}

export function evaluateClaims(claims, live, baseline) {
  return claims.map((claim) => {
    const left = sideValue(claim.left, live, baseline);
    const right = sideValue(claim.right, live, baseline);
    const tolerance = claim.tolerance === null || claim.tolerance === undefined ? "" : ` ± ${claim.tolerance}%`;
    return {
      holds: compare(left.value, claim.op, right.value, claim.tolerance),
      shown: `${left.text} vs ${right.text}${tolerance}`,
    };
  });
}

// `widgets`: {controllerFor(type) -> the page's live widget controller or null, run(type, params) -> Promise<payload>}
export function initExperiment(card, widgets) {
  const button = card.querySelector(".lesson-experiment__run");
  if (!button) return; // the widget is on another lesson: the card links there, nothing to do here
  const data = JSON.parse(card.querySelector("template.lesson-experiment__data").content.textContent);
  const outcome = card.querySelector(".lesson-experiment__outcome");
  const status = card.querySelector(".lesson-experiment__status");
  if (!widgets.controllerFor(data.widget)) return; // no live widget (it failed to build): keep the static card
  outcome.hidden = true; // predict first
  button.parentElement.hidden = false; // the button needs JavaScript: shown only now

  button.addEventListener("click", async () => {
    const controller = widgets.controllerFor(data.widget);
    if (!controller) {
      outcome.hidden = false;
      status.textContent = "The widget is not available on this page; the values below were computed when the page was built.";
      return;
    }
    controller.loadSettings(data.scenario, data.params);
    controller.notice("These settings were loaded by an experiment; its card shows what to notice.");
    if (!controller.root.hasAttribute("tabindex")) controller.root.tabIndex = -1; // focusable, not in tab order
    controller.root.scrollIntoView({ block: "start" });
    controller.root.focus({ preventScroll: true });
    button.disabled = true;
    outcome.hidden = false;
    card.dataset.state = "running";
    status.textContent = "Running the experiment in your browser…";
    const [live, baseline] = await Promise.all([widgets.run(data.widget, data.params), widgets.run(data.widget, data.baseline)]);
    button.disabled = false;
    if (!live.ok || !baseline.ok) {
      card.dataset.state = "error";
      status.textContent = `The experiment could not run (${(live.ok ? baseline : live).error}); ` +
        "the values below were computed when the page was built.";
      return;
    }
    const results = evaluateClaims(data.claims, live, baseline);
    card.querySelectorAll(".lesson-experiment__claim").forEach((item, i) => {
      const result = results[i];
      if (!result) return;
      item.dataset.holds = String(result.holds);
      item.querySelector(".lesson-experiment__mark").textContent = result.holds ? "✓" : "✗";
      item.querySelector(".lesson-experiment__values").textContent = result.shown;
      item.querySelector(".lesson-experiment__verdict").textContent = result.holds ? "(holds)" : "(fails)";
    });
    const holding = results.filter((r) => r.holds).length;
    card.dataset.state = "ran";
    status.textContent = `Computed live in your browser: ${holding} of ${results.length} ` +
      `claim${results.length === 1 ? "" : "s"} hold${results.length === 1 ? "s" : ""}.`;
  });
}

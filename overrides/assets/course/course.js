// Entry point for lesson, quiz and flashcards behaviour. No framework: small ES modules, bundled at
// build time into one classic script (hooks/offline/bundle.py) so they also run from file://.
// mkdocs-material's instant navigation swaps pages without reloading, so everything binds on its
// document$ observable, and each element is bound at most once.
import { followFolderLinksToIndex } from "./filelinks.js";
import { initFlashcards } from "./flashcards.js";
import { initNotes } from "./notes.js";
import { initOffline } from "./offline.js";
import { initDashboard, initFileTools, initLessonProgress, recordVisit, showStorageNotice } from "./progress-ui.js";
import { initCheck, initQuiz } from "./quiz.js";
import { initReview } from "./review.js";
import { showDataSaverSetting } from "./saver.js";
import { initVideo } from "./video.js";

const BINDINGS = [
  [".course-quiz", initQuiz],
  [".lesson-check[data-check]", initCheck],
  [".course-cards", initFlashcards],
  [".course-notes", initNotes],
  [".course-video", initVideo],
  [".course-dashboard", initDashboard],
  [".lesson-progress", initLessonProgress],
  [".course-review", initReview],
  [".course-progress-file", initFileTools],
];

function bindAll() {
  showDataSaverSetting();
  // mkdocs-material's search overlay is a dialog without a name; screen readers announce one.
  const search = document.querySelector('.md-search[role="dialog"]:not([aria-label])');
  if (search) search.setAttribute("aria-label", "Search");
  // Each code block's copy button sits in a <nav> without a name: not navigation, and many unnamed
  // navigation landmarks confuse landmark lists, so they lose the landmark role.
  for (const nav of document.querySelectorAll("nav.md-code__nav:not([role])")) nav.setAttribute("role", "none");
  labelScrollingTables();
  for (const [selector, init] of BINDINGS) {
    for (const element of document.querySelectorAll(selector)) {
      if (element.dataset.courseBound) continue;
      element.dataset.courseBound = "true";
      try {
        init(element);
      } catch (err) {
        // One broken widget must not stop the others; the static HTML still reads fine.
        console.warn("course:", selector, err);
      }
    }
  }
  recordVisit();
  showStorageNotice();
}

// The theme wraps each Markdown table in a box that scrolls sideways on narrow screens; keyboard users
// can scroll it only if it takes focus, and a named region says what it holds.
function labelScrollingTables() {
  const used = new Set();
  for (const wrap of document.querySelectorAll(".md-typeset__scrollwrap:not([tabindex])")) {
    const heads = [...wrap.querySelectorAll("thead th")].map((th) => th.textContent.trim()).filter(Boolean);
    let name = "Table" + (heads.length ? ": " + heads.join(", ") : "");
    for (let n = 2; used.has(name); n += 1) name = name.replace(/ \(\d+\)$/, "") + ` (${n})`;
    used.add(name);
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", name);
  }
}

if (!window.__scalingCourseBound) {
  window.__scalingCourseBound = true;
  followFolderLinksToIndex();
  initOffline();
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(bindAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bindAll);
  } else {
    bindAll();
  }
}

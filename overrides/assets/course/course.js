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

// Loaded in <head> of pages with widgets (overrides/main.html): the Python worker starts booting while
// the page body is still arriving. widgets.js adopts the worker and replays what it said meanwhile.
import { dataSaverOn } from "../course/saver.js";
import { liveUnavailable, runtime, spawnWorker } from "./boot.js";
import { holdSearchIndex } from "./search_hold.js";

const meta = document.querySelector('meta[name="course-widgets"]');
// not under data saver: nothing of the runtime downloads before the reader presses "Go live"
if (meta && meta.dataset.archive && !liveUnavailable() && !dataSaverOn() && !runtime.worker && !runtime.bootWorker && !runtime.fatal) {
  try {
    const worker = spawnWorker(meta.dataset.archive, meta.content.split(" ").filter(Boolean));
    runtime.early = [];
    runtime.bootWorker = worker;
    worker.onmessage = (e) => runtime.early.push(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      runtime.early.push({ type: "fatal", error: e.message || "the worker could not start" });
    };
    // the theme's search index waits until the widgets are ready (search_hold.js)
    holdSearchIndex(new Promise((settled) => {
      worker.addEventListener("message", (e) => { if (e.data && ["ready", "fatal"].includes(e.data.type)) settled(); });
      worker.addEventListener("error", settled);
    }));
  } catch {
    /* widgets.js starts (and reports) the worker itself */
  }
}

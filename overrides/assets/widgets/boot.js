// Starting the tab's Python worker, shared by the <head> script (head.js, which starts it before the
// page body is parsed) and widgets.js (which adopts that worker, or starts one itself later).
import { ASSETS } from "../course/assets.js";

// The one runtime object of a tab, kept across instant navigation; both bundles use it.
export const runtime = (window.__courseWidgets ||= {});

// Why live simulation cannot run here, or null when it can.
export function liveUnavailable() {
  if (location.protocol === "file:") return "file";
  if (!window.Worker) return "no-worker";
  return null;
}

export function spawnWorker(archive, widgets) {
  runtime.workerStarts = (runtime.workerStarts || 0) + 1;
  runtime.timings = { start: performance.now() };
  // named after the archive: the worker starts its downloads without waiting for the "init" message
  const worker = new Worker(new URL("widgets/worker.js", ASSETS), { type: "module", name: archive });
  worker.postMessage({ type: "init", archive, widgets });
  return worker;
}

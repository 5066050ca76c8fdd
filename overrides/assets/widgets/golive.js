// Under data saver (the browser's signal or the reader's setting) the widgets keep their build-time
// results until the reader presses "Go live", which states what it downloads.
import { formatBytes } from "../course/saver.js";

function runtimeBytes() {
  const meta = document.querySelector('meta[name="course-runtime-bytes"]');
  const bytes = meta ? Number(meta.content) : NaN;
  return Number.isFinite(bytes) && bytes > 0 ? bytes : null;
}

export function offerGoLive(root, goLive) {
  if (root.dataset.live) return;
  root.dataset.live = "saver";
  const bytes = runtimeBytes();
  root.querySelector(".cw-status").textContent = "Data saver is on: these results were computed when the " +
    "course was built. Nothing of the Python runtime has been downloaded.";
  const wrap = document.createElement("p");
  wrap.className = "cw-go-live";
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.goLive = "";
  button.textContent = bytes ? `Go live (downloads ${formatBytes(bytes)})` : "Go live (downloads the Python runtime)";
  button.addEventListener("click", goLive);
  wrap.append(button);
  root.querySelector(".cw-status").after(wrap);
}

export function withdrawGoLive(root) {
  if (root.dataset.live !== "saver") return;
  delete root.dataset.live;
  const wrap = root.querySelector(".cw-go-live");
  if (wrap) wrap.remove();
}

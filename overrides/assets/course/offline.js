// Offline after one visit: registers the service worker (sw.js at the site root, written by the build;
// hooks/offline/sw.js) once the page is ready, asks it to save the Python runtime once the widgets are
// live (not under data saver), shows in the footer whether the course is available offline, and offers
// a reload when a new version of the course has been saved.
import { ASSETS } from "./assets.js";
import { dataSaverOn, formatBytes } from "./saver.js";

const ROOT = new URL("../", ASSETS);
let view = null; // latest status from the service worker

function statusElement() {
  let el = document.querySelector(".course-offline");
  if (!el) {
    const footer = document.querySelector(".md-footer-meta__inner") || document.querySelector("footer") || document.body;
    el = document.createElement("p");
    el.className = "course-offline";
    el.setAttribute("role", "status");
    footer.append(el);
  }
  return el;
}

function describe(s) {
  if (s.error) return `Not yet available offline (${s.error}); saving is tried again on your next visit.`;
  if (s.core.done < s.core.total) return `Saving the course for offline use: ${s.core.done} of ${s.core.total} files…`;
  if (s.runtime.done >= s.runtime.total) return "Available offline, simulators included.";
  if (s.saving) return `Available offline. Saving the simulators' runtime: ${s.runtime.done} of ${s.runtime.total} files…`;
  return dataSaverOn()
    ? `Available offline; the live simulators are not saved under data saver (${formatBytes(s.runtimeBytes)}).`
    : "Available offline; the live simulators are saved once they have run here.";
}

function render() {
  if (!view) return;
  const el = statusElement();
  el.textContent = describe(view);
  el.dataset.offline = view.error ? "error" : view.core.done < view.core.total ? "saving"
    : view.runtime.done >= view.runtime.total ? "full" : "pages";
}

function offerReload(registration) {
  if (document.querySelector(".course-update")) return;
  const bar = document.createElement("div");
  bar.className = "course-update";
  bar.setAttribute("role", "status");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.courseReload = "";
  button.textContent = "Reload";
  bar.append("A new version of this course is ready. ", button);
  button.addEventListener("click", () => {
    button.disabled = true;
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    (registration.waiting || registration.installing)?.postMessage({ type: "activate-update" });
  });
  document.body.append(bar);
}

function watchForUpdates(registration) {
  const check = () => {
    // a waiting worker while another one controls this page: a new deployment, fully saved
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration);
  };
  check();
  registration.addEventListener("updatefound", () => {
    const incoming = registration.installing;
    if (incoming) incoming.addEventListener("statechange", check);
  });
}

// After the page has loaded and, on widget pages, Python is up (or failed): saving the course for
// offline use must never compete with what the reader is waiting for.
function pageSettled() {
  const loaded = document.readyState === "complete" ? Promise.resolve()
    : new Promise((resolve) => window.addEventListener("load", resolve, { once: true }));
  return loaded.then(() => {
    const runtime = window.__courseWidgets;
    if (!runtime || !runtime.worker || runtime.ready || runtime.fatal) return undefined;
    return new Promise((resolve) => {
      document.addEventListener("course-widgets:settled", resolve, { once: true });
      setTimeout(resolve, 60_000);
    });
  });
}

export function saveRuntimeForOffline() {
  if (dataSaverOn() || !navigator.serviceWorker || !navigator.serviceWorker.controller) return;
  if (view && view.runtime.done >= view.runtime.total) return;
  if (view) view.saving = true;
  render();
  navigator.serviceWorker.controller.postMessage({ type: "save-runtime" });
}

export function initOffline() {
  if (!("serviceWorker" in navigator) || location.protocol === "file:") return;
  if (!document.querySelector('meta[name="course-service-worker"]')) return; // e.g. `mkdocs serve`
  navigator.serviceWorker.startMessages();  navigator.serviceWorker.addEventListener("message", (event) => {
    const msg = event.data || {};
    if (msg.type !== "offline-status") return;
    const saving = view && view.saving && msg.runtime.done < msg.runtime.total && !msg.error;
    view = { ...msg, saving };
    render();
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    navigator.serviceWorker.controller?.postMessage({ type: "status" });
    // first visit: the worker has just taken over this page; the runtime can be saved now
    if (window.__courseWidgets && window.__courseWidgets.ready) saveRuntimeForOffline();
  });
  pageSettled()
    .then(() => navigator.serviceWorker.register(new URL("sw.js", ROOT), { scope: ROOT.pathname, updateViaCache: "none" }))
    .then((registration) => {
      watchForUpdates(registration);
      const active = navigator.serviceWorker.controller;
      if (active) active.postMessage({ type: "status" });
      if (window.__courseWidgets && window.__courseWidgets.ready) saveRuntimeForOffline();
      document.addEventListener("course-widgets:settled", () => {
        if (window.__courseWidgets && window.__courseWidgets.ready) saveRuntimeForOffline();
      });
    })
    .catch((err) => {
      view = { error: `this browser refused: ${err && err.message ? err.message : err}`, core: { done: 0, total: 1 }, runtime: { done: 0, total: 1 } };
      render();
    });
  // instant navigation swaps the footer: show the status again on each new page
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(render);
}

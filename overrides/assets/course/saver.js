// Data saver: the browser's "save data" signal or the reader's own setting (kept in this browser).
// Under data saver nothing of the Python runtime downloads until the reader asks for live simulation
// (the widgets' "Go live" button), and the runtime is not saved for offline use.
import { load, remove, save } from "./storage.js";

// "14 MB", "650 kB": download sizes as readers see them
export function formatBytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

export function readerDataSaver() {
  const saved = load("settings", "data-saver", (v) => v !== null && typeof v === "object" && typeof v.on === "boolean");
  return saved ? saved.on : false;
}

export function dataSaverOn() {
  return readerDataSaver() || Boolean(navigator.connection && navigator.connection.saveData);
}

// The setting, in the footer of every page (instant navigation replaces the footer: call again).
export function showDataSaverSetting() {
  const footer = document.querySelector(".md-footer-meta__inner");
  if (location.protocol === "file:" || !footer || footer.querySelector(".course-saver")) return;
  const label = document.createElement("label");
  label.className = "course-saver";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = readerDataSaver();
  box.addEventListener("change", () => {
    const ok = box.checked ? save("settings", "data-saver", { on: true }) : (remove("settings", "data-saver"), true);
    if (!ok) box.checked = false; // storage refused: the setting could not be kept
    document.dispatchEvent(new CustomEvent("course-saver:change", { detail: { on: dataSaverOn() } }));
  });
  label.append(box, " Data saver: download the live simulators only when I ask");
  footer.append(label);
}

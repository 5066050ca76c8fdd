// Reflection notes: saved in this browser as the reader types.
import { isPlainObject, load, save } from "./storage.js";

export function initNotes(textarea) {
  const id = textarea.dataset.notesId;
  const status = textarea.parentElement.querySelector(".course-notes__status");
  const saved = load("notes", id, (v) => isPlainObject(v) && typeof v.text === "string");
  if (saved) textarea.value = saved.text;
  let timer = 0;
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const ok = save("notes", id, { text: textarea.value, saved: new Date().toISOString() });
      if (status) {
        status.textContent = ok
          ? "Saved in this browser."
          : "Could not save: this browser's storage is full or blocked. Copy your notes somewhere safe.";
      }
    }, 400);
  });
}

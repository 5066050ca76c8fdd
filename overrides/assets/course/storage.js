// Browser storage shared by the quiz, flashcards and notes.
// Keys are versioned ("scaling-course:v1:<kind>:<lesson id>") so a future format can ignore old data.
// Storage may be missing, blocked, full or hold garbage: every access is guarded, and a bad entry
// reads as "nothing saved" instead of breaking the page.
const PREFIX = "scaling-course:v1:";

export function storageKey(kind, id) {
  return `${PREFIX}${kind}:${id}`;
}

// Returns the stored value if it parses and passes `isValid`, else null.
export function load(kind, id, isValid) {
  let raw = null;
  try {
    raw = window.localStorage.getItem(storageKey(kind, id));
  } catch {
    return null;
  }
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw);
    return isValid(value) ? value : null;
  } catch {
    return null;
  }
}

// Returns false when the browser refused (quota exceeded, storage disabled).
export function save(kind, id, value) {
  try {
    window.localStorage.setItem(storageKey(kind, id), JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function remove(kind, id) {
  try {
    window.localStorage.removeItem(storageKey(kind, id));
  } catch {
    /* nothing to clean up if storage is unavailable */
  }
}

export function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Browser storage shared by the quiz, flashcards, notes, visits and review.
// Keys are versioned ("scaling-course:v1:<kind>:<lesson id>") so a future format can ignore old data.
// Storage may be missing, blocked, full or hold garbage: every access is guarded, and a bad entry
// reads as "nothing saved" instead of breaking the page. When the browser refuses a write, the value
// is kept in memory for this page session (instant navigation keeps it from lesson to lesson) and
// listeners are told, so the reader can be warned that progress will not outlast the tab.
const PREFIX = "scaling-course:v1:";
const memory = new Map(); // key -> raw JSON the browser would not store (or null: removed)
const listeners = new Set();
let refused = false;

export function storageKey(kind, id) {
  return `${PREFIX}${kind}:${id}`;
}

function refuse() {
  if (!refused) {
    refused = true;
    for (const listener of listeners) listener();
  }
}

// True once the browser has refused to keep something (or storage is disabled).
export function storageRefused() {
  return refused;
}

// `listener()` runs once, when storage is first found unavailable.
export function onStorageRefused(listener) {
  listeners.add(listener);
}

// The stored JSON text for a key, or null. Values kept in memory this session come first.
function readRaw(key) {
  if (memory.has(key)) return memory.get(key);
  try {
    return window.localStorage.getItem(key);
  } catch {
    refuse();
    return null;
  }
}

// Returns the stored value if it parses and passes `isValid`, else null.
export function load(kind, id, isValid) {
  const raw = readRaw(storageKey(kind, id));
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw);
    return isValid(value) ? value : null;
  } catch {
    return null;
  }
}

function writeRaw(key, raw) {
  try {
    if (raw === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, raw);
    memory.delete(key);
    return true;
  } catch {
    memory.set(key, raw);
    refuse();
    return false;
  }
}

// Returns false when the browser refused (quota exceeded, storage disabled); the value still holds
// for this page session. A refused write leaves what was stored before untouched.
export function save(kind, id, value) {
  return writeRaw(storageKey(kind, id), JSON.stringify(value));
}

export function remove(kind, id) {
  return writeRaw(storageKey(kind, id), null);
}

// Several writes as one: `entries` is a list of [kind, id, value or null (remove)]. If the browser
// refuses any of them, the ones already written are put back as they were, so stored progress is
// never left half-changed; the new values then hold in memory for this session. Returns true when
// all were stored.
export function saveAll(entries) {
  const keys = entries.map(([kind, id]) => storageKey(kind, id));
  const before = keys.map(readStored);
  const raws = entries.map(([, , value]) => (value === null ? null : JSON.stringify(value)));
  for (let i = 0; i < keys.length; i += 1) {
    if (!writeRaw(keys[i], raws[i])) {
      for (let j = 0; j < i; j += 1) restore(keys[j], before[j]);
      for (let j = 0; j < keys.length; j += 1) memory.set(keys[j], raws[j]);
      return false;
    }
  }
  return true;
}

function readStored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function restore(key, raw) {
  try {
    window.localStorage.removeItem(key); // frees the new value's room before the old one goes back
    if (raw !== null) window.localStorage.setItem(key, raw);
  } catch {
    /* the browser refuses everything now; the memory copy below is what this session sees */
  }
}

export function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Probe once: a browser with storage disabled throws on access, one in some private modes on write.
try {
  const probe = `${PREFIX}probe`;
  window.localStorage.setItem(probe, "1");
  window.localStorage.removeItem(probe);
} catch {
  refused = true;
}

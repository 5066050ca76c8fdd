// Keyboard shortcuts for a kind of page. Instant navigation keeps the document alive, so each kind
// gets ONE document-level listener, registered once; pages register a handler for their root element.
// Keys typed into fields and links keep their meaning, and so do the extra targets a page names.

/**
 * @param {string} rootSelector the bound root of the page kind, e.g. ".course-cards[data-course-bound]"
 * @param {string} ignored selector of focused elements whose keys are left alone
 * @returns {WeakMap<Element, (event: KeyboardEvent) => boolean>} root -> handler; a handler returns
 *   true when it used the key (the key's default action is then prevented)
 */
export function pageKeys(rootSelector, ignored) {
  const handlers = new WeakMap();
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const root = document.querySelector(rootSelector);
    const handle = root && handlers.get(root);
    if (!handle) return;
    const target = event.target;
    if (target instanceof Element && target.closest(ignored)) return;
    if (handle(event)) event.preventDefault();
  });
  return handlers;
}

// Holding back the theme's search index while the tab's Python boots. mkdocs-material requests
// search/search_index.json (XMLHttpRequest) as the page loads, and its search worker then spends about a
// quarter second of CPU building the index: on a 2-core machine, time taken from compiling Pyodide (the
// lesson's widgets were ready ~150 ms later with it, in 5 of 5 paired first visits). The request is sent
// once `until` settles (the widgets are ready, or failed), at once when the reader opens the search, and
// at the latest after HOLD_MAX_MS.
const HOLD_MAX_MS = 15000;
const SEARCH_INDEX = /\/search\/search_index\.json$/;

export function holdSearchIndex(until) {
  const proto = XMLHttpRequest.prototype;
  const { open, send } = proto;
  const indexRequests = new WeakSet();
  const held = [];
  let released = false;
  // the theme focuses its search field however the search is opened (click, keyboard shortcut)
  const onFocus = (event) => {
    if (event.target instanceof Element && event.target.matches("[data-md-component=search-query]")) release();
  };
  const release = () => {
    if (released) return;
    released = true;
    proto.open = open;
    proto.send = send;
    document.removeEventListener("focusin", onFocus);
    for (const [request, args] of held.splice(0)) send.apply(request, args);
  };
  proto.open = function (method, url, ...rest) {
    if (new URL(String(url), document.baseURI).pathname.match(SEARCH_INDEX)) indexRequests.add(this);
    return open.call(this, method, url, ...rest);
  };
  proto.send = function (...args) {
    if (!released && indexRequests.has(this)) {
      held.push([this, args]);
      return undefined;
    }
    return send.apply(this, args);
  };
  Promise.resolve(until).then(release, release);
  setTimeout(release, HOLD_MAX_MS);
  document.addEventListener("focusin", onFocus);
}

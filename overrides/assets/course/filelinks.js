// A course opened from disk (file://): a link to a folder ("lessons/x/", as the hosted site's links are
// written) would show the folder's listing; point it at the folder's index.html as it is followed.
// Handles every link, also those added later (search results, navigation).
export function followFolderLinksToIndex() {
  if (location.protocol !== "file:") return;
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link) return;
    const url = new URL(link.href, location.href);
    if (url.protocol !== "file:" || !url.pathname.endsWith("/")) return;
    url.pathname += "index.html";
    link.href = url.href;
  }, true);
}

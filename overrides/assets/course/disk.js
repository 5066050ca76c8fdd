// Runs between mkdocs-material's configuration and its bundle (overrides/main.html). On a course opened
// from disk (file://) material's instant navigation cannot fetch pages and never announces the loaded
// page (its document$ completes empty), which would leave search and every course script unbound; so
// it is switched off for this page view, as material advises for builds read from disk.
const config = document.getElementById("__config");
if (location.protocol === "file:" && config) {
  try {
    const parsed = JSON.parse(config.textContent);
    parsed.features = (parsed.features || []).filter((feature) => feature !== "navigation.instant");
    config.textContent = JSON.stringify(parsed);
  } catch {
    /* leave material's configuration as it is */
  }
}

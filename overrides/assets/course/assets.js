// Where the site's assets/ folder is, for code that loads files at run time (the Python worker, vendored
// scripts, data files). The course scripts run as classic bundles in assets/bundles/ (hooks/offline/
// bundle.py: ES modules cannot run from file://), so assets/ is the parent folder of the running bundle.
// document.currentScript is only set while a bundle first runs, which is when this module is evaluated.
function bundleUrl() {
  const current = document.currentScript;
  if (current && current.src) return current.src;
  const any = document.querySelector('script[src*="assets/bundles/"]');
  return any ? any.src : new URL("assets/bundles/", document.baseURI).href;
}

export const ASSETS = new URL("../", bundleUrl());

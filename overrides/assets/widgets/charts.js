// Live charts (vega-embed, vendored, loaded only when a widget page opens) and the table view and
// downloads that follow each chart's data.
import { ASSETS } from "../course/assets.js";

const VENDOR = new URL("vendor/", ASSETS);
let vegaReady = null;

function loadScript(name) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL(name, VENDOR).href;
    script.async = false; // download in parallel, run in order: vega, vega-lite, vega-embed
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${name}`));
    document.head.appendChild(script);
  });
}

export function loadVega() {
  if (!vegaReady) {
    vegaReady = Promise.all(["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"].map(loadScript))
      .then(() => window.vegaEmbed);
    vegaReady.catch(() => { vegaReady = null; });
  }
  return vegaReady;
}

// A compiled Vega spec split into its structure and its inline datasets. When only the data changed
// (the usual slider move) the live view is updated in place, which is much cheaper than a new view.
function splitData(vgSpec) {
  const values = {};
  let inPlace = true;
  const data = (vgSpec.data || []).map((d) => {
    if (!Array.isArray(d.values)) return d;
    if (d.format && d.format.parse) inPlace = false; // changesets skip format parsing
    values[d.name] = d.values;
    const { values: _, ...rest } = d;
    return rest;
  });
  return { shape: JSON.stringify({ ...vgSpec, data }), values, inPlace };
}

const CONCATS = ["hconcat", "vconcat", "concat"];

// The spec sized for its container (the simulators give fixed pixel widths, drawn for no particular
// page): a single or layered view follows the container's width; the fixed-width views of a
// concatenation are scaled by `scale` (measured once per chart, see renderChart).
function fitted(spec, scale) {
  const key = CONCATS.find((k) => Array.isArray(spec[k]));
  if (key) {
    return { ...spec, [key]: spec[key].map((part) => (part && typeof part.width === "number"
      ? { ...part, width: Math.max(60, Math.round(part.width * scale)) } : part)) };
  }
  if (typeof spec.width === "number" || spec.width === "container") {
    return { ...spec, width: "container", autosize: { type: "fit-x", contains: "padding", resize: true } };
  }
  return spec;
}

// The spec as a small screen draws it, by the rules the build used for the narrow pictures
// (hooks/widgets/build.py narrow_spec; `config` is NARROW_CHART_CONFIG, from the widget's data):
// side-by-side views stacked, legends below the plot, long labels cut.
export function narrowSpec(spec, config) {
  const { hconcat, ...rest } = spec;
  const out = Array.isArray(hconcat) ? { ...rest, vconcat: hconcat } : { ...spec };
  const merged = { ...(spec.config || {}) };
  for (const [key, rules] of Object.entries(config)) merged[key] = { ...rules, ...(merged[key] || {}) };
  out.config = merged;
  return legendsBelow(out);
}

function legendsBelow(node) {
  if (Array.isArray(node)) return node.map(legendsBelow);
  if (!node || typeof node !== "object") return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, legendsBelow(v)]));
  if (out.legend && typeof out.legend === "object") out.legend = { ...out.legend, orient: "bottom" };
  return out;
}

function plotWidth(spec) {
  const key = CONCATS.find((k) => Array.isArray(spec[k]));
  if (!key) return 0;
  const widths = spec[key].filter((p) => p && typeof p.width === "number").map((p) => p.width);
  if (!widths.length) return 0;
  return key === "vconcat" ? Math.max(...widths) : widths.reduce((a, b) => a + b, 0);
}

// The live view is inside a role="img" box named by the chart's title and described by its summary, so
// what Vega adds for assistive technology (an aria description computed for every data point, which
// with `ast: true` below is interpreted, not compiled: a quarter of a data update) is never read; the
// marks are hidden from it instead (without their descriptions they would be images without a name).
function liveSpec(spec) {
  const config = spec.config || {};
  return { ...spec, config: { ...config, aria: false, mark: { ...(config.mark || {}), aria: false } } };
}

// The site's Content Security Policy allows neither eval nor inline styles: `ast: true` makes Vega run
// its expressions through vega-interpreter (bundled in vega-embed) instead of `new Function`, and
// vega-embed's and vega-tooltip's injected <style> elements are replaced by rules in widgets.css.
const EMBED_OPTIONS = {
  mode: "vega", actions: false, renderer: "svg", logLevel: 0,
  ast: true, defaultStyle: false, tooltip: { disableDefaultStyle: true },
};

async function embed(container, compiled) {
  const target = document.createElement("div");
  // laid out (for width "container") but invisible until drawn, so the previous chart never disappears
  target.className = "cw-live cw-live-pending";
  container.appendChild(target);
  try {
    return { target, result: await window.vegaEmbed(target, compiled, EMBED_OPTIONS) };
  } catch (err) {
    target.remove();
    throw err;
  }
}

// Shows a prepared (hidden) live chart in place of what the container showed before.
function reveal(container, target) {
  target.classList.remove("cw-live-pending");
  for (const child of [...container.children]) if (child !== target) child.remove();
  container.dataset.view = "live";
  reachableIfScrolling(container);
}

// A live chart wider than its box scrolls sideways; a region that scrolls must be reachable with the
// keyboard (so arrow keys can scroll it), one that does not must stay out of the tab order.
function reachableIfScrolling(container) {
  if (container.scrollWidth > container.clientWidth + 1) container.tabIndex = 0;
  else container.removeAttribute("tabindex");
}

// -> {view, shape, target, layout}: the handle to pass back as `previous` on the next update.
// hidden: build the live view but keep showing what is there (a pre-rendered picture of the same data);
// the next update with data of the same shape then only swaps the data and shows it.
// narrow: the small-screen config (see narrowSpec), or null for the wide layout.
export async function renderChart(container, chart, previous, { hidden = false, narrow = null } = {}) {
  await loadVega();
  const spec = liveSpec(narrow ? narrowSpec(chart.spec, narrow) : chart.spec);
  const scaleKey = narrow ? "scaleNarrow" : "scale"; // measured once per layout
  let scale = Number(container.dataset[scaleKey] || 1);
  let source = fitted(spec, scale);
  const sourceShape = withoutValues(source);
  let compiled = null;
  let parts = null;
  let values = null;
  if (previous && previous.layout === scaleKey && previous.dataIndex && previous.sourceShape === sourceShape) {
    // the same Vega-Lite spec but for its rows: the compiled one is the same but for the same rows
    // (compiling again is milliseconds per chart per change)
    const arrays = inlineValues(source);
    values = Object.fromEntries(previous.dataIndex.map(([name, i]) => [name, arrays[i]]));
  } else {
    compiled = window.vegaLite.compile(source).spec;
    parts = splitData(compiled);
    if (previous && parts.inPlace && previous.shape === parts.shape && previous.layout === scaleKey) {
      values = parts.values;
      Object.assign(previous, { sourceShape, dataIndex: dataIndex(source, parts) });
    }
  }
  if (values) {
    const { vega } = window;
    for (const [name, rows] of Object.entries(values)) {
      previous.view.change(name, vega.changeset().remove(vega.truthy).insert(rows));
    }
    await previous.view.runAsync();
    if (previous.hidden && !hidden) {
      reveal(container, previous.target);
      previous.hidden = false;
    } else if (!previous.hidden) reachableIfScrolling(container);
    return previous;
  }
  let { target, result } = await embed(container, compiled);
  const plots = plotWidth(spec);
  const available = container.clientWidth;
  const drawn = Number((target.querySelector("svg") || {}).getAttribute?.("width")) || 0;
  if (plots && available && drawn && !container.dataset[scaleKey] && Math.abs(drawn - available) > 4) {
    // first drawing of a concatenation: scale its views so the whole chart takes the container's width
    scale = Math.max(0.3, (available - (drawn - plots * scale)) / (plots * scale)) * scale;
    container.dataset[scaleKey] = String(scale);
    result.view.finalize();
    target.remove();
    source = fitted(spec, scale);
    compiled = window.vegaLite.compile(source).spec;
    parts = splitData(compiled);
    ({ target, result } = await embed(container, compiled));
  }
  if (previous) previous.view.finalize();
  const handle = { view: result.view, shape: parts.shape, target, layout: scaleKey,
    sourceShape: withoutValues(source), dataIndex: dataIndex(source, parts) };
  if (hidden) return { ...handle, hidden: true };
  reveal(container, target);
  return handle;
}

// The Vega-Lite spec as text without its inline rows: equal texts compile to equal Vega specs but
// for the rows, which Vega-Lite passes through as they are (the same arrays). Rows are arrays of
// objects under "values" (an axis's "values" are numbers or strings, and stay in the text).
const isRows = (key, value) => key === "values" && Array.isArray(value) &&
  (!value.length || (typeof value[0] === "object" && value[0] !== null));

function withoutValues(spec) {
  return JSON.stringify(spec, (key, value) => (isRows(key, value) ? 0 : value));
}

function inlineValues(node, out = []) {
  if (Array.isArray(node)) node.forEach((item) => inlineValues(item, out));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (isRows(key, value)) out.push(value);
      else inlineValues(value, out);
    }
  }
  return out;
}

// [[Vega dataset name, index of its rows among the Vega-Lite spec's inline arrays]], or null when a
// dataset's rows are not one of them as they are (then every change compiles).
function dataIndex(source, parts) {
  if (!parts.inPlace) return null;
  const arrays = inlineValues(source);
  const index = Object.entries(parts.values).map(([name, rows]) => [name, arrays.indexOf(rows)]);
  return index.every(([, i]) => i >= 0) ? index : null;
}

// Drops a live chart that will not be shown (e.g. a prepared one a newer drawing replaced).
export function discardChart(handle) {
  handle.view.finalize();
  handle.target.remove();
}

// Same text and hash as hooks/widgets/render.py data_digest: integral numbers as integers, others to
// 6 significant digits (Pyodide's and CPython's numpy may differ in the last bits), keys in order.
function canonical(value, out) {
  if (value === null || value === undefined) out.push("null");
  else if (typeof value === "boolean") out.push(value ? "true" : "false");
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) out.push("null");
    else if (Number.isInteger(value) && Math.abs(value) < 1e15) out.push(String(value));
    else {
      const [mantissa, exponent] = value.toExponential(5).split("e");
      out.push(mantissa + "e" + Number(exponent));
    }
  } else if (typeof value === "string") out.push(JSON.stringify(value));
  else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((v, i) => { if (i) out.push(","); canonical(v, out); });
    out.push("]");
  } else if (typeof value === "object") {
    out.push("{");
    Object.entries(value).forEach(([k, v], i) => { out.push((i ? "," : "") + JSON.stringify(k) + ":"); canonical(v, out); });
    out.push("}");
  } else out.push(JSON.stringify(String(value)));
}

export function chartDigest(chart) {
  const parts = [];
  canonical(chart, parts);
  const bytes = new TextEncoder().encode(parts.join(""));
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0") + "-" + bytes.length;
}

export function chartRows(spec) {
  const data = spec && spec.data;
  if (data && Array.isArray(data.values)) return data.values.filter((r) => r && typeof r === "object");
  const rows = [];
  for (const part of [...(spec.layer || []), ...(spec.hconcat || []), ...(spec.vconcat || [])]) {
    rows.push(...chartRows(part));
  }
  return rows;
}

function columnsOf(rows) {
  const cols = [];
  const seen = new Set();
  for (const row of rows) for (const key of Object.keys(row)) if (!seen.has(key)) { seen.add(key); cols.push(key); }
  return cols;
}

function cellText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : "";
  return String(value);
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

export function rowsCsv(rows) {
  const cols = columnsOf(rows);
  return [cols.map(csvCell).join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n";
}

const MAX_TABLE_ROWS = 200; // as hooks/widgets/render.py

// The chart's rows for the downloads, and for its data table: rebuilt at once while the table is open,
// else when it is opened (a closed table of 200 rows is a few thousand elements nobody sees).
export function updateData(figure, chart, redrawTable = true) {
  const rows = chartRows(chart.spec);
  figure.cwRows = rows;
  const details = figure.querySelector("details.cw-table");
  if (!redrawTable || !details) return;
  figure.cwTableStale = !details.open;
  if (details.open) {
    fillTable(figure, rows);
    return;
  }
  if (details.dataset.lazy) return;
  details.dataset.lazy = "1";
  details.addEventListener("toggle", () => {
    if (!details.open || !figure.cwTableStale) return;
    figure.cwTableStale = false;
    fillTable(figure, figure.cwRows);
  });
}


function fillTable(figure, rows) {
  const cols = columnsOf(rows);
  const table = figure.querySelector(".cw-table table");
  if (table) {
    const headRow = document.createElement("tr");
    for (const c of cols) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = c;
      headRow.appendChild(th);
    }
    table.tHead.replaceChildren(headRow);
    const body = document.createDocumentFragment();
    for (const row of rows.slice(0, MAX_TABLE_ROWS)) {
      const tr = document.createElement("tr");
      for (const c of cols) {
        const td = document.createElement("td");
        td.textContent = cellText(row[c]);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.tBodies[0].replaceChildren(body);
  }
}

// Save the chart's current rows as CSV or JSON (a blob: URL, so nothing leaves the page). Until a live
// result has arrived, `loadRows()` supplies the pre-rendered data.
export function bindDownloads(figure, loadRows) {
  const box = figure.querySelector(".cw-downloads");
  if (!box || box.dataset.bound) return;
  box.dataset.bound = "1";
  box.hidden = false;
  box.addEventListener("click", async (event) => {
    const button = event.target.closest("button.cw-download");
    if (!button) return;
    let rows = figure.cwRows;
    if (!rows) {
      try {
        rows = await loadRows();
      } catch (err) {
        box.dataset.error = "the data could not be loaded";
        return;
      }
    }
    const csv = button.dataset.format === "csv";
    const blob = new Blob([csv ? rowsCsv(rows) : JSON.stringify(rows, null, 1)],
      { type: csv ? "text/csv" : "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });
}

// Live charts (vega-embed, vendored, loaded only when a widget page opens) and the table view and
// downloads that follow each chart's data.
const VENDOR = new URL("../vendor/", import.meta.url);
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

// -> {view, shape}: the handle to pass back as `previous` on the next update
export async function renderChart(container, chart, previous) {
  const vegaEmbed = await loadVega();
  const compiled = window.vegaLite.compile(chart.spec).spec;
  const parts = splitData(compiled);
  if (previous && parts.inPlace && previous.shape === parts.shape) {
    const { vega } = window;
    for (const [name, rows] of Object.entries(parts.values)) {
      previous.view.change(name, vega.changeset().remove(vega.truthy).insert(rows));
    }
    await previous.view.runAsync();
    return previous;
  }
  const target = document.createElement("div");
  // laid out (for width "container") but invisible until drawn, so the previous chart never disappears
  target.className = "cw-live cw-live-pending";
  container.appendChild(target);
  let result;
  try {
    result = await vegaEmbed(target, compiled, { mode: "vega", actions: false, renderer: "svg", logLevel: 0 });
  } catch (err) {
    target.remove();
    throw err;
  }
  target.classList.remove("cw-live-pending");
  for (const child of [...container.children]) if (child !== target) child.remove();
  container.dataset.view = "live";
  if (previous) previous.view.finalize();
  return { view: result.view, shape: parts.shape };
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

const MAX_TABLE_ROWS = 400;

export function updateData(figure, chart) {
  const rows = chartRows(chart.spec);
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
  figure.cwRows = rows;
}

// Save the chart's current rows as CSV or JSON (a blob: URL, so nothing leaves the page).
export function bindDownloads(figure, rows) {
  figure.cwRows = rows;
  const box = figure.querySelector(".cw-downloads");
  if (!box || box.dataset.bound) return;
  box.dataset.bound = "1";
  box.hidden = false;
  box.addEventListener("click", (event) => {
    const button = event.target.closest("button.cw-download");
    if (!button) return;
    const csv = button.dataset.format === "csv";
    const blob = new Blob([csv ? rowsCsv(figure.cwRows) : JSON.stringify(figure.cwRows, null, 1)],
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

// Widgets go live: one Pyodide worker per tab (kept across instant navigation), schema-driven
// controls, coalesced runs, live Vega charts, and the widget state in the URL fragment.
// The HTML already shows real results computed at build time; everything here is an enhancement.
import { decodeState, encodeState, parseFragment, formatFragment, coerce } from "./state.js";
import { bindDownloads, chartDigest, discardChart, loadVega, renderChart, updateData } from "./charts.js";
import { ASSETS } from "../course/assets.js";
import { liveUnavailable, runtime, spawnWorker } from "./boot.js";
import { dataSaverOn } from "../course/saver.js";
import { offerGoLive, withdrawGoLive } from "./golive.js";
import { initExperiment } from "./experiments.js";

// One object per tab. The <head> script (head.js) may have created it already, and the worker with it;
// this module adopts that worker.
Object.assign(runtime, {
  workerStarts: 0,
  runsSent: 0, // runs posted to the worker, and of them replaced unrun (tests and benchmarks)
  runsSuperseded: 0,
  worker: null,
  ready: false,
  nextId: 1,
  pending: new Map(), // request id -> controller
  controllers: new Set(),
  timings: {},
  fatal: null,
  loaded: new Set(), // widget types whose module the worker has imported
}, { ...runtime });

// ---- the worker --------------------------------------------------------------------------------

function pageWidgetTypes() {
  return [...new Set([...document.querySelectorAll(".course-widget[data-widget]")].map((r) => r.dataset.widget))];
}

function wire(worker) {
  worker.onmessage = (event) => onWorkerMessage(worker, event.data || {});
  worker.onerror = (event) => {
    event.preventDefault(); // reported in the widget instead of the console
    failWorker(worker, "the live simulation stopped: " + (event.message || "the worker could not start"));
  };
  runtime.worker = worker;
}

function adoptBootWorker() {
  const worker = runtime.bootWorker;
  if (!worker) return;
  delete runtime.bootWorker;
  const early = runtime.early || [];
  delete runtime.early;
  wire(worker);
  for (const msg of early) onWorkerMessage(worker, msg);
}

function startWorker(archive) {
  if (runtime.worker) return runtime.worker;
  runtime.ready = false;
  runtime.fatal = null;
  runtime.loaded = new Set();
  const worker = spawnWorker(archive, pageWidgetTypes());
  wire(worker);
  return worker;
}

function failWorker(worker, message) {
  if (runtime.worker !== worker) return;
  worker.terminate();
  runtime.worker = null;
  runtime.ready = false;
  runtime.fatal = message;
  for (const waiting of runtime.pending.values()) if (waiting.dropped) waiting.dropped(message); // runtime.run callers
  runtime.pending.clear();
  for (const c of runtime.controllers) c.fail(message);
}

function onWorkerMessage(worker, msg) {
  if (runtime.worker !== worker) return;
  if (msg.type === "ready") {
    runtime.ready = true;
    runtime.timings = { ...runtime.timings, ...msg.timings, ready: performance.now() };
    runtime.loaded = new Set(msg.timings.loaded || []);
    readerActive(); // the checks of the pre-rendered views follow once the reader leaves the page alone
    for (const c of runtime.controllers) {
      if (c.failedByRuntime) c.recover(); // another widget restarted the runtime: everyone is back
      else c.runtimeReady();
    }
    // the live charts' code (~850 kB) is parsed once Python is up, not while it boots
    setTimeout(() => loadVega().catch(() => {}), 0);
    document.dispatchEvent(new CustomEvent("course-widgets:settled")); // e.g. offline saving may start
  } else if (msg.type === "preloaded") {
    for (const type of msg.widgets) runtime.loaded.add(type);
    for (const c of runtime.controllers) c.runtimeReady();
  } else if (msg.type === "fatal") {
    failWorker(worker, "the Python runtime could not load (" + msg.error + ")");
    document.dispatchEvent(new CustomEvent("course-widgets:settled"));
  } else if (msg.type === "snapshot") {
    runtime.snapshot = msg; // made for the next visit (or not); for tests and benchmarks
  } else if (msg.type === "result") {
    if (msg.payload && msg.payload.superseded) runtime.runsSuperseded = (runtime.runsSuperseded || 0) + 1;
    const controller = runtime.pending.get(msg.id);
    runtime.pending.delete(msg.id);
    if (controller) controller.receive(msg.id, msg.payload);
  }
}

// key: the asking widget, so the worker drops its older run if that has not started yet;
// background: a check that may wait behind every reader's change (see worker.js)
function request(controller, params, background = false) {
  const worker = startWorker(controller.data.archive);
  const id = runtime.nextId++;
  runtime.runsSent = (runtime.runsSent || 0) + 1;
  runtime.pending.set(id, controller);
  // sent_at (epoch ms): the worker reports how long the message waited for it (worker.inbox_ms)
  worker.postMessage({ type: "run", id, widget: controller.type, params, key: controller.key, background,
    sent_at: performance.timeOrigin + performance.now() });
  return id;
}

// For experiment cards (experiments.js), benchmarks and the console: run a widget in the tab's worker,
// resolve with the payload, or with {ok: false, error} if the runtime fails meanwhile.
runtime.run = (type, params, archive) => new Promise((resolve) => {
  const known = [...runtime.controllers].find((c) => c.root.isConnected);
  request({ type, data: { archive: archive || (known && known.data.archive) }, receive: (id, payload) => resolve(payload),
    dropped: (error) => resolve({ ok: false, error }) }, params || {});
});

// ---- one widget ----------------------------------------------------------------------------------

const BUSY_AFTER_MS = 150; // the charts' target: a run still going after it shows progress
// Work the reader did not ask for (checking the pre-rendered view, preparing hidden live charts) waits
// until no widget of the page has been changed or drawn for this long: a Python run or a chart build
// cannot be interrupted, and a reader moving controls must never queue behind one.
const QUIET_MS = 1000;

function readerActive() {
  runtime.activeUntil = performance.now() + QUIET_MS;
}

function whenQuiet(fn) {
  const wait = (runtime.activeUntil || 0) - performance.now();
  if (wait > 0) setTimeout(() => whenQuiet(fn), wait);
  else if (readerRunInFlight()) setTimeout(() => whenQuiet(fn), QUIET_MS / 4); // its drawing restarts the quiet
  else fn();
}

const readerRunInFlight = () => [...runtime.controllers].some((c) => c.inFlight !== null && !c.inFlightBackground);
// Quiet time before the result sentence is announced: long enough for a held arrow key or a slider
// drag to finish, short enough to follow the reader's change.
const ANNOUNCE_DELAY_MS = 700;

class Controller {
  constructor(root) {
    this.root = root;
    this.type = root.dataset.widget;
    this.data = JSON.parse(root.querySelector("template.cw-data").content.textContent);
    this.schema = new Map(this.data.schema.params.map((p) => [p.name, p]));
    this.scenarios = new Map(this.data.scenarios.scenarios.map((s) => [s.name, s]));
    this.form = root.querySelector(".cw-form");
    this.key = runtime.nextKey = (runtime.nextKey || 0) + 1; // names this widget's runs to the worker
    this.inFlight = null; // request id of the newest run sent; older replies are stale
    this.queued = null; // newest params waiting for the reader's run in flight
    this.views = new Map(); // chart name -> live chart handle (see charts.js)
    this.offscreen = new Map(); // chart name -> newest chart not drawn yet: its figure is far from view
    this.nearView = null; // chart names whose figure is in or near the viewport (null: not known yet)
    this.draining = new Set(); // queues of idle-time chart work being worked through (drainWhenIdle)
    // chart name -> the chart now on screen; at first the pre-rendered pictures, known by a digest of
    // their data, so a result that matches them (the usual first run) needs no drawing at all
    this.shown = new Map(this.data.rendered.charts.map((c) => [c.name, { digest: c.digest }]));
    this.scenario = this.data.initial.scenario;
    this.values = { ...this.data.initial.params };
    this.lastGood = null;
    this.changedAt = null;
  }

  // Charts far from the viewport (more than a screen above or below) are drawn once the page is quiet
  // (see whenQuiet), or at once when they come near it: a change redraws the charts the reader can see.
  // Their rows (downloads, table) follow at once.
  watchVisibility() {
    if (typeof IntersectionObserver === "undefined") return;
    this.nearView = new Set();
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const name = entry.target.dataset.chart;
        if (!entry.isIntersecting) {
          this.nearView.delete(name);
          continue;
        }
        this.nearView.add(name);
        const chart = this.offscreen.get(name);
        if (chart) {
          this.offscreen.delete(name);
          this.drawChart(entry.target, chart).catch((err) => this.message("The chart could not be drawn: " + (err && err.message ? err.message : err)));
        }
      }
    }, { rootMargin: "100% 0px" });
    for (const figure of this.root.querySelectorAll("[data-chart]")) observer.observe(figure);
  }

  start() {
    this.watchVisibility();
    // until a live result arrives, downloads fetch the pre-rendered data file
    let staticRows = null;
    const loadStatic = () => (staticRows ||= fetch(new URL("widgets/" + this.data.rendered.data, ASSETS))
      .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
      .catch((err) => { staticRows = null; throw err; }));
    for (const chart of this.data.rendered.charts) {
      const figure = this.root.querySelector(`[data-chart="${CSS.escape(chart.name)}"]`);
      if (figure) bindDownloads(figure, () => loadStatic().then((all) => all[chart.name] || []));
    }
    this.applyFragment();
    this.bindControls();
    if (runtime.fatal && !runtime.worker) {
      // the runtime already failed on this tab (e.g. while the page loaded): say so, retry on interaction
      this.fail(runtime.fatal);
      return;
    }
    this.setState("loading");
    this.status("Loading the live simulation…");
    if (this.fromLink) this.run();
    this.runtimeReady(); // after an instant navigation Python may be up already
  }

  // The static view already shows this state's results (computed at build time by the same code), so
  // once Python is up with this widget's module imported the widget is ready; the run sent at start
  // still checks the static view in the background and redraws if the browser's numbers differ.
  runtimeReady() {
    const drawnLive = [...this.views.values()].some((v) => !v.hidden); // prepared views are not shown
    if (this.root.dataset.state !== "loading" || this.fromLink || drawnLive) return; // not the static view
    if (!runtime.ready || !runtime.loaded.has(this.type) || !this.root.isConnected) return;
    if (this.scenario !== this.data.initial.scenario || Object.keys(this.overrides()).length) return;
    this.markReady();
    this.checkWhenQuiet();
  }

  // The static view is already right: the run that checks it (and gives the idle-time chart preparation
  // its data) is sent once the page is quiet, and not at all if the reader has changed something by then.
  checkWhenQuiet() {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    whenQuiet(() => {
      if (this.sentParams || !this.root.isConnected || runtime.fatal) return;
      this.run(true);
    });
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  status(text) {
    const el = this.root.querySelector(".cw-status");
    if (el.textContent !== text) el.textContent = text; // an unchanged status is not announced again
  }

  // The result in one sentence (computed in Python with the result), written to the polite live region
  // once the results have settled: a slider storm is announced once, not at every step.
  announce(sentence) {
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      if (this.inFlight !== null || this.queued) return; // the reader moved on: the newer result announces
      const el = this.root.querySelector(".cw-live-summary");
      if (el && sentence && el.textContent !== sentence) el.textContent = sentence;
    }, ANNOUNCE_DELAY_MS);
  }

  message(text) {
    const el = this.root.querySelector(".cw-message");
    el.textContent = text || "";
    el.hidden = !text;
  }

  notice(text) {
    const el = this.root.querySelector(".cw-notice");
    el.textContent = text || "";
    el.hidden = !text;
  }

  // -- state and fragment --
  overrides() {
    const base = this.scenarios.get(this.scenario).params;
    const out = {};
    for (const [name, value] of Object.entries(this.values)) if (base[name] !== value) out[name] = value;
    return out;
  }

  applyFragment() {
    const entry = parseFragment(location.hash).get(this.type);
    if (!entry) return;
    const restored = decodeState(entry, this.schema, this.scenarios, this.data.v);
    if (restored.error) {
      this.notice(`The shared settings in this link could not be used (${restored.error}); ` +
        "showing the default scenario.");
      this.fromLink = false;
      return;
    }
    this.scenario = restored.scenario;
    this.values = { ...this.scenarios.get(restored.scenario).params, ...restored.overrides };
    this.fromLink = true;
    this.syncControls();
    this.markChangedGroups(true);
  }

  writeFragment() {
    const entries = parseFragment(location.hash);
    const isDefault = this.scenario === this.data.initial.scenario && !Object.keys(this.overrides()).length;
    if (isDefault) entries.delete(this.type);
    else entries.set(this.type, encodeState(this.data.v, this.scenario, this.overrides()));
    const hash = formatFragment(entries, location.hash);
    if (hash !== location.hash) history.replaceState(history.state, "", hash || location.pathname + location.search);
  }

  // An experiment card's settings (experiments.js): a scenario of this widget's menu when it has it,
  // else the default scenario with every value set; runs like any change (fragment, live results).
  loadSettings(scenario, params) {
    this.scenario = this.scenarios.has(scenario) ? scenario : this.data.initial.scenario;
    this.values = { ...this.scenarios.get(this.scenario).params, ...params };
    this.notice("");
    this.syncControls();
    this.markChangedGroups(true);
    this.changed();
  }

  // -- controls --
  bindControls() {
    this.root.querySelectorAll("fieldset.cw-controls, [data-role]").forEach((el) => { el.disabled = false; });
    this.form.addEventListener("submit", (e) => e.preventDefault());
    this.form.addEventListener("input", (e) => this.onInput(e.target, false));
    this.form.addEventListener("change", (e) => this.onInput(e.target, true));
    this.root.querySelector('[data-role="reset"]').addEventListener("click", () => {
      this.scenario = this.data.initial.scenario;
      this.values = { ...this.scenarios.get(this.scenario).params };
      this.notice("");
      this.syncControls();
      this.changed();
    });
    this.root.querySelector('[data-role="share"]').addEventListener("click", () => this.share());
    this.bindDock();
  }

  // Small screens: the parameters fold behind the dock's "Controls" button (the CSS keeps the dock in
  // view while the charts scroll); Escape folds them and returns to the button.
  bindDock() {
    const dock = this.root.querySelector(".cw-dock");
    const toggle = dock && dock.querySelector(".cw-dock-toggle");
    if (!toggle) return;
    const open = (on) => {
      toggle.setAttribute("aria-expanded", String(on));
      dock.dataset.open = on ? "true" : "false";
    };
    toggle.addEventListener("click", () => open(toggle.getAttribute("aria-expanded") !== "true"));
    dock.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") return;
      if (event.target.closest("select")) return; // Escape closes an open menu first
      open(false);
      toggle.focus();
    });
  }

  // The URL already carries the state (writeFragment); copy it, or show it when the clipboard is closed.
  async share() {
    this.writeFragment();
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
      this.status("Link copied: it opens this widget with these settings.");
    } catch (err) {
      this.status("Copy this link to share these settings: " + url);
    }
    this.shareNoted = true; // kept until the next change: a run finishing now must not replace it
  }

  // Groups whose parameters differ from the scenario say how many; a shared link opens them.
  markChangedGroups(open) {
    const base = this.scenarios.get(this.scenario).params;
    for (const details of this.root.querySelectorAll("details.cw-group")) {
      let changed = 0;
      for (const control of details.querySelectorAll(".cw-control[data-param]")) {
        const name = control.dataset.param;
        if (name in base && base[name] !== this.values[name]) changed += 1;
      }
      const badge = details.querySelector(".cw-changed");
      badge.hidden = !changed;
      badge.textContent = changed ? `${changed} changed` : "";
      if (open && changed) details.open = true;
    }
  }


  onInput(el, committed) {
    if (el.dataset.role === "scenario") {
      if (!committed) return;
      this.scenario = el.value;
      this.values = { ...this.scenarios.get(this.scenario).params };
      this.syncControls();
      this.changed();
      return;
    }
    const name = el.dataset.rangeFor || el.name;
    const param = this.schema.get(name);
    if (!param) return;
    let raw;
    if (el.type === "checkbox") raw = el.checked;
    else if (el.dataset.rangeFor) raw = el.dataset.log ? 10 ** Number(el.value) : Number(el.value);
    else raw = el.value;
    if (el.type === "number" && !committed && el.value === "") return; // mid-typing
    const checked = coerce(param, raw, Boolean(el.dataset.rangeFor));
    const control = this.root.querySelector(`.cw-control[data-param="${CSS.escape(name)}"]`);
    if (checked.error) {
      const details = control.closest("details");
      if (details) details.open = true;
      control.querySelector("[name]").setAttribute("aria-invalid", "true");
      this.message(`${param.label}: ${checked.error}`);
      return;
    }
    control.querySelector("[name]").removeAttribute("aria-invalid");
    this.values[name] = checked.value;
    this.syncControl(param, el);
    this.changed();
  }

  syncControls() {
    const picker = this.root.querySelector('[data-role="scenario"]');
    picker.value = this.scenario;
    this.root.querySelector(".cw-scenario-description").textContent =
      this.scenarios.get(this.scenario).description || "";
    for (const param of this.schema.values()) this.syncControl(param, null);
  }

  syncControl(param, source) {
    const value = this.values[param.name];
    const control = this.root.querySelector(`.cw-control[data-param="${CSS.escape(param.name)}"]`);
    if (!control) return;
    const input = control.querySelector("[name]");
    if (input !== source) {
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = String(value);
    }
    const slider = control.querySelector("[data-range-for]");
    if (slider && slider !== source) slider.value = String(slider.dataset.log ? Math.log10(value) : value);
  }

  // -- runs --
  changed() {
    this.failedByRuntime = false;
    this.changedAt = performance.now();
    this.shareNoted = false;
    clearTimeout(this.announceTimer); // the sentence waiting to be read is about the old settings
    readerActive();
    this.message("");
    if (!runtime.worker) {
      // a failed runtime restarts on the next interaction
      this.setState("loading");
      this.status("Restarting the live simulation…");
    }
    this.run(); // first: the worker starts while the page does the rest
    this.writeFragment(); // (history.replaceState takes milliseconds)
    this.markChangedGroups(false);
  }

  // Latest wins: while the reader's own run is in flight, only the newest settings wait for it (a slider
  // storm computes two positions at most). A background check in flight does not hold a change back:
  // the change is sent at once and the worker drops the check if it has not started.
  run(background = false) {
    const params = { ...this.values };
    if (this.inFlight !== null && runtime.worker) {
      if (sameData(params, this.sentParams)) {
        this.queued = null; // e.g. a slider's "input" then "change" at one position: the run in flight answers
        return;
      }
      if (!this.inFlightBackground) {
        this.queued = params;
        return;
      }
    }
    this.queued = null;
    this.sentParams = params;
    this.inFlightBackground = background;
    this.inFlight = request(this, params, background);
    if (!background) this.busySoon();
  }

  // A run that takes longer than a moment (training a model, a cold start) says so and dims the results
  // it will replace, so a slow setting never looks like a dead control; the other controls stay live.
  busySoon() {
    clearTimeout(this.busyTimer);
    this.busyTimer = setTimeout(() => {
      if (this.inFlight === null || this.root.dataset.state !== "ready") return;
      this.root.dataset.busy = "true";
      this.root.setAttribute("aria-busy", "true");
      this.shareNoted = false;
      this.status("Computing the results for the new settings…");
    }, BUSY_AFTER_MS);
  }

  notBusy() {
    clearTimeout(this.busyTimer);
    if (!this.root.dataset.busy) return;
    delete this.root.dataset.busy;
    this.root.removeAttribute("aria-busy");
    if (this.root.dataset.state === "ready") this.markReady();
  }

  receive(id, payload) {
    if (id !== this.inFlight) return; // stale: a newer run of this widget was sent since
    this.inFlight = null;
    const background = this.inFlightBackground;
    if (this.queued) {
      this.run(); // newer settings are waiting: this result is already stale
      return;
    }
    this.notBusy();
    if (!payload.ok) {
      if (this.fromLink && !this.lastGood) {
        // the shared state is stale for this version of the widget: fall back to the default
        this.fromLink = false;
        this.notice(`The shared settings in this link no longer apply (${payload.error}); ` +
          "showing the default scenario.");
        this.scenario = this.data.initial.scenario;
        this.values = { ...this.scenarios.get(this.scenario).params };
        this.syncControls();
        this.writeFragment();
        this.run();
        return;
      }
      this.message(payload.error + (this.lastGood || this.root.dataset.state === "static"
        ? " The chart shows the last valid settings." : ""));
      if (this.root.dataset.state !== "ready") this.markReady();
      return;
    }
    this.fromLink = false;
    const since = (t) => (this.changedAt === null ? null : t - this.changedAt);
    const received = performance.now();
    const posted = payload.worker && payload.worker.posted_at;
    // from the worker's postMessage to this handler: the page's main thread was busy meanwhile
    const deliveryMs = posted ? performance.timeOrigin + received - posted : null;
    this.show(payload).then((metricsAt) => {
      this.lastGood = payload;
      this.markReady();
      if (!background) readerActive(); // drawn: the quiet starts now
      // timings for the benchmark: change -> result back from the worker -> metrics and charts drawn
      // (*_at: performance.now() of each step, for callers that time from their own start)
      const chartsAt = performance.now();
      this.root.dispatchEvent(new CustomEvent("course-widget:update", {
        bubbles: true,
        detail: { ms: since(chartsAt), result_ms: since(received), metrics_ms: since(metricsAt),
          metrics_at: metricsAt, charts_at: chartsAt, compute_ms: payload.compute_ms, worker: payload.worker,
          delivery_ms: deliveryMs, received_at: received },
      }));
    }, (err) => {
      this.message("The chart could not be drawn: " + (err && err.message ? err.message : err));
      this.markReady();
    });
  }

  markReady() {
    this.setState("ready");
    if (!this.shareNoted) this.status("Live: the results follow the controls.");
  }

  async show(payload) {
    for (const [name, m] of Object.entries(payload.metrics)) {
      const key = CSS.escape(name);
      for (const el of this.root.querySelectorAll(`[data-metric="${key}"], [data-compact-metric="${key}"]`)) {
        el.textContent = m.text;
        el.dataset.value = m.value === null ? "" : JSON.stringify(m.value);
      }
    }
    const metricsAt = performance.now();
    this.announce(payload.summary);
    await Promise.all(payload.charts.map((chart) => this.showChart(chart)));
    return metricsAt;
  }

  // The small-screen chart config while its media query matches, else null (the wide layout).
  narrowConfig() {
    const narrow = this.data.narrow;
    return narrow && matchMedia(narrow.media).matches ? narrow.config : null;
  }

  async showChart(chart) {
    const figure = this.root.querySelector(`[data-chart="${CSS.escape(chart.name)}"]`);
    if (!figure) return;
    const line = figure.querySelector(".cw-chart-summary");
    if (line && line.textContent !== chart.summary) line.textContent = chart.summary || "";
    const shown = this.shown.get(chart.name);
    if (shown && shown.digest ? shown.digest === chartDigest(chart) : sameData(shown, chart)) {
      updateData(figure, chart, false); // unchanged: nothing to draw; downloads take this run's data
      this.shown.set(chart.name, chart);
      this.offscreen.delete(chart.name); // (a newer one waiting to be drawn is no longer new)
      if (shown.digest) this.prepareChart(figure, chart); // still the pre-rendered picture
      return;
    }
    updateData(figure, chart);
    if (this.nearView && !this.nearView.has(chart.name)) {
      this.offscreen.set(chart.name, chart);
      this.drawOffscreenWhenIdle();
      return;
    }
    this.offscreen.delete(chart.name);
    await this.drawChart(figure, chart);
  }

  drawOffscreenWhenIdle() {
    this.drainWhenIdle(this.offscreen, (name, chart) => {
      const figure = this.root.querySelector(`[data-chart="${CSS.escape(name)}"]`);
      return figure ? this.drawChart(figure, chart) : null;
    });
  }

  // Runs job(name, value) for each entry of `queue` (a Map; entries added meanwhile included), one per
  // idle slot once the page is quiet: a chart build is a long task, never between a reader's moves.
  drainWhenIdle(queue, job) {
    if (this.draining.has(queue)) return;
    this.draining.add(queue);
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 50));
    const next = () => {
      if ((runtime.activeUntil || 0) > performance.now()) {
        whenQuiet(() => idle(next));
        return;
      }
      const [name, value] = queue.entries().next().value || [];
      if (!name || !this.root.isConnected) {
        this.draining.delete(queue);
        return;
      }
      queue.delete(name);
      Promise.resolve(job(name, value)).catch(() => {}).finally(() => idle(next));
    };
    idle(next);
  }

  async drawChart(figure, chart) {
    const old = this.views.get(chart.name);
    const drawn = await renderChart(figure.querySelector(".cw-chart-view"), chart, old, { narrow: this.narrowConfig() });
    const meanwhile = this.views.get(chart.name); // a chart prepared while this one was drawn
    if (meanwhile && meanwhile !== old && meanwhile !== drawn) discardChart(meanwhile);
    this.views.set(chart.name, drawn);
    this.shown.set(chart.name, chart);
  }

  // Building a live chart (vega view, scales, marks) costs far more than giving it new data. In idle
  // time after the first result, each chart still shown as its pre-rendered picture gets its live
  // view built hidden behind the picture, one chart per idle slot, so that the reader's first change
  // of each chart only swaps the data in (see renderChart).
  prepareChart(figure, chart) {
    if (this.views.has(chart.name)) return;
    (this.toPrepare ||= new Map()).set(chart.name, [figure, chart]);
    this.drainWhenIdle(this.toPrepare, (name, [fig, spec]) => {
      if (this.views.has(name)) return null;
      return renderChart(fig.querySelector(".cw-chart-view"), spec, null, { hidden: true, narrow: this.narrowConfig() })
        .then((handle) => {
          if (this.views.has(name) || !this.root.isConnected) discardChart(handle); // drawn for real meanwhile
          else this.views.set(name, handle);
        });
    });
  }

  recover() {
    if (!this.root.isConnected) return;
    this.failedByRuntime = false;
    this.message("");
    this.setState("loading");
    this.status("Loading the live simulation…");
    this.run();
  }

  fail(message) {
    this.failedByRuntime = true;
    this.inFlight = null;
    this.queued = null;
    this.notBusy();
    this.setState("error");
    this.status("Live controls are unavailable; the results shown were computed when the page was built.");
    this.message(message.charAt(0).toUpperCase() + message.slice(1) + ". Change a control to try again.");
  }
}

// Equal up to float noise: numpy in Pyodide (wasm libm) and in CPython can differ in the last bits,
// which must not force a redraw of a chart that looks the same.
function sameData(a, b) {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") {
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => sameData(a[k], b[k]));
}

// ---- binding on every page (also after instant navigation) ----------------------------------------

// Where live simulation cannot run, the widgets keep their build-time results and say why and how
// to get it (the exact command for a course opened from disk).
function explainStatic(root, reason) {
  if (root.dataset.live) return;
  root.dataset.live = reason;
  const status = root.querySelector(".cw-status");
  if (reason !== "file") {
    status.textContent = "These results were computed when the course was built. Live simulation needs a " +
      "browser with Web Workers.";
    return;
  }
  const siteRoot = new URL("../", ASSETS);
  let folder = decodeURIComponent(siteRoot.pathname);
  if (/^\/[A-Za-z]:\//.test(folder)) folder = folder.slice(1); // file:///C:/... on Windows
  folder = folder.replace(/\/$/, "") || "/";
  const page = location.href.startsWith(siteRoot.href) ? location.href.slice(siteRoot.href.length).split("#")[0] : "";
  const command = document.createElement("code");
  command.className = "cw-command";
  command.textContent = `python3 -m http.server 8000 --directory "${folder}"`;
  const address = document.createElement("code");
  address.textContent = `http://localhost:8000/${page}`;
  status.replaceChildren(
    "These results were computed when the course was built. This page is opened from disk, where browsers " +
      "do not run the Python worker, so live simulation needs the course folder served over HTTP. In a terminal, run ",
    command, " and open ", address, ".");
}

function bindAll() {
  for (const c of runtime.controllers) if (!c.root.isConnected) runtime.controllers.delete(c);
  const roots = document.querySelectorAll('.course-widget[data-widget][data-state="static"]');
  if (!roots.length) return;
  const unavailable = liveUnavailable();
  if (unavailable) {
    for (const root of roots) explainStatic(root, unavailable);
    return;
  }
  if (!runtime.worker && !runtime.goLive && dataSaverOn()) {
    for (const root of roots) offerGoLive(root, goLive);
    return;
  }
  for (const root of roots) withdrawGoLive(root);
  const controllers = [];
  for (const root of roots) {
    try {
      controllers.push(new Controller(root));
    } catch (err) {
      root.dataset.state = "error";
      const el = root.querySelector(".cw-message");
      if (el) { el.hidden = false; el.textContent = "This widget could not start: " + err.message; }
    }
  }
  // boot first, then bind: the worker starts before any other work on the page
  if (controllers.length && runtime.worker) {
    runtime.worker.postMessage({ type: "preload", widgets: pageWidgetTypes() });
  } else if (controllers.length && !runtime.fatal) {
    startWorker(controllers[0].data.archive);
  }
  for (const c of controllers) {
    runtime.controllers.add(c);
    c.start();
  }
  bindExperiments();
}

const experimentHost = {
  controllerFor: (type) => [...runtime.controllers].find((c) => c.type === type && c.root.isConnected) || null,
  run: (type, params) => runtime.run(type, params),
};

function bindExperiments() {
  for (const card of document.querySelectorAll(".lesson-experiment[data-experiment]:not([data-bound])")) {
    card.dataset.bound = "true";
    try {
      initExperiment(card, experimentHost);
    } catch (err) {
      console.warn("experiment card:", err); // the card keeps the values computed at build time
    }
  }
}

// Data saver: the reader pressed "Go live" (for this tab), or turned data saver off.
function goLive() {
  runtime.goLive = true;
  bindAll();
}
document.addEventListener("course-saver:change", () => bindAll());

// Boot as early as possible: widget pages also load this module with `async` right after the first
// widget's markup, so the worker starts while the rest of the page is still arriving.
function startEarly() {
  adoptBootWorker();
  if (liveUnavailable() || dataSaverOn()) return;
  const first = document.querySelector('.course-widget[data-widget][data-state="static"][data-archive]');
  if (first && !runtime.fatal) startWorker(first.dataset.archive);
}

function bindWhenParsed() {
  bindAll();
  // mkdocs-material's instant navigation swaps the page content and emits on document$; the module
  // (and the worker) live on
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(() => bindAll());
  }
}

startEarly();
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bindWhenParsed, { once: true });
else bindWhenParsed();
export { ASSETS };

// Widget state in the URL fragment: "#w1.<type>=<base64url JSON {s: scenario, p: overrides}>",
// several widgets joined with "&". The leading "w1" is the format version: a link made for another
// version is refused with a notice instead of being misread.

const ENTRY = /^w(\d+)\.([a-z0-9_]+)=(.*)$/;

export function parseFragment(hash) {
  const entries = new Map();
  for (const part of String(hash || "").replace(/^#/, "").split("&")) {
    const m = ENTRY.exec(part);
    if (m) entries.set(m[2], { version: Number(m[1]), text: m[3] });
  }
  return entries;
}

export function formatFragment(entries) {
  const parts = [];
  for (const [type, entry] of entries) parts.push(`w${entry.version}.${type}=${entry.text}`);
  return parts.length ? "#" + parts.join("&") : "";
}

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

export function encodeState(version, scenario, overrides) {
  return { version, text: toBase64Url(JSON.stringify({ s: scenario, p: overrides })) };
}

// -> {scenario, overrides} or {error: "short reason"}
export function decodeState(entry, schema, scenarios, version) {
  if (entry.version !== version) return { error: `made for widget state version ${entry.version}` };
  let doc;
  try {
    doc = JSON.parse(fromBase64Url(entry.text));
  } catch (err) {
    return { error: "the settings are not readable" };
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return { error: "the settings are not readable" };
  const scenario = doc.s;
  if (!scenarios.has(scenario)) return { error: `no scenario named ${JSON.stringify(String(scenario))}` };
  const overrides = {};
  const given = doc.p && typeof doc.p === "object" && !Array.isArray(doc.p) ? doc.p : null;
  if (doc.p !== undefined && !given) return { error: "the settings are not readable" };
  for (const [name, raw] of Object.entries(given || {})) {
    const param = schema.get(name);
    if (!param) return { error: `unknown parameter ${name}` };
    const checked = coerce(param, raw, false);
    if (checked.error) return { error: `${name}: ${checked.error}` };
    overrides[name] = checked.value;
  }
  return { scenario, overrides };
}

function allowed(param) {
  if (param.kind === "bool") return "true or false";
  if (param.kind === "choice") return "one of " + param.choices.join(", ");
  const lo = param.min ?? "-inf";
  const hi = param.max ?? "inf";
  return `${param.kind === "int" ? "an integer" : "a number"} from ${lo} to ${hi}` + (param.unit ? ` ${param.unit}` : "");
}

function roundSignificant(x, digits) {
  if (x === 0) return 0;
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * scale) / scale;
}

// Mirrors widgets_py.core.Param.coerce so most mistakes are caught before a round trip to Python.
// fromSlider: slider positions may be off-grid (log sliders), so they are rounded instead of refused.
export function coerce(param, raw, fromSlider) {
  if (param.kind === "bool") {
    if (typeof raw === "boolean") return { value: raw };
    return { error: `${JSON.stringify(raw)} is not allowed (allowed: true or false)` };
  }
  if (param.kind === "choice") {
    if (param.choices.includes(raw)) return { value: raw };
    return { error: `${JSON.stringify(raw)} is not allowed (allowed: ${allowed(param)})` };
  }
  let x = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(x)) return { error: `${JSON.stringify(raw)} is not a number (allowed: ${allowed(param)})` };
  if (fromSlider) {
    x = param.kind === "int" ? Math.round(x) : param.log ? roundSignificant(x, 3) : x;
    if (param.min != null) x = Math.max(param.min, x);
    if (param.max != null) x = Math.min(param.max, x);
  }
  if (param.kind === "int" && !Number.isInteger(x)) return { error: `${raw} is not an integer (allowed: ${allowed(param)})` };
  if ((param.min != null && x < param.min) || (param.max != null && x > param.max)) {
    return { error: `${x} is out of range (allowed: ${allowed(param)})` };
  }
  return { value: x };
}

// Money, times and names as an agent reads them, in the agent's own locale and time zone (Intl).

const digitsCache = new Map();

function minorDigits(currency) {
  if (!digitsCache.has(currency)) {
    const options = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions();
    digitsCache.set(currency, options.maximumFractionDigits);
  }
  return digitsCache.get(currency);
}

// Exact: integer minor units become a decimal string, which Intl formats without a float.
export function moneyOfMinor(minorUnits, currency) {
  const digits = minorDigits(currency);
  const negative = minorUnits < 0;
  const text = String(Math.abs(minorUnits)).padStart(digits + 1, "0");
  const decimal = digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
    `${negative ? "-" : ""}${decimal}`,
  );
}

export function money(m) {
  return m ? moneyOfMinor(m.minorUnits, m.currency) : "";
}

// The lines' subtotals added up exactly (in minor units); one currency per order.
export function linesTotal(lines) {
  if (!lines.length) return "";
  const total = lines.reduce((sum, line) => sum + line.subtotal.minorUnits, 0);
  return moneyOfMinor(total, lines[0].subtotal.currency);
}

// dateStyle and timeStyle do not combine with timeZoneName: the fields one by one.
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});

export function when(iso) {
  return iso ? dateTime.format(new Date(iso)) : "";
}

const HOUR = 3600 * 1000;

// How urgent a deadline is: "overdue", "soon" (within the hour) or "" (later, or none).
export function urgency(dueAt, now = Date.now()) {
  if (!dueAt) return "";
  const left = new Date(dueAt) - now;
  if (left <= 0) return "overdue";
  return left <= HOUR ? "soon" : "";
}

// "2 d 3 h", "3 h 12 min", "12 min 5 s"; with "overdue by" once it passed.
export function countdown(dueAt, now = Date.now()) {
  const ms = new Date(dueAt) - now;
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  let text;
  if (d) text = `${d} d ${h} h`;
  else if (h) text = `${h} h ${m} min`;
  else text = `${m} min ${s % 60} s`;
  return ms <= 0 ? `overdue by ${text}` : `in ${text}`;
}

// APPROVE_OR_REJECT -> "approve or reject"
export function words(code) {
  return code ? code.replaceAll("_", " ").toLowerCase() : "";
}

export const ACTORS = { BUYER: "buyer", SELLER_AGENT: "agent", PLATFORM: "platform" };

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// The seller's console: one page, no build step, talking only to the service's own GraphQL API.
// Lists, details and decisions over HTTP; tab counts and request events over graphql-transport-ws,
// so a decision taken anywhere (another agent, the buyer, the platform, the deadline worker) shows
// here at once without reloading.

import { ApiError, LiveFeed, authHeaders, gql, gqlPartial } from "./graphql.js";
import { ACTORS, countdown, el, linesTotal, money, urgency, when, words } from "./format.js";
import { LIVE_COUNTS, LIVE_EVENTS, SECTIONS, VIEWER } from "./sections.js";
import { openBulk, openDecision } from "./decide.js";

const $ = (selector) => document.querySelector(selector);

const TAB_LABELS = {
  TO_PROCEED: "To proceed",
  IN_PROCESS: "In process",
  COMPLETED: "Completed",
  CLOSED: "Closed",
  ALL: "All",
};
const KIND_LABELS = {
  CANCELLATION: "Cancellation",
  REFUND_ONLY: "Refund only",
  RETURN_AND_REFUND: "Return and refund",
  REPLACEMENT: "Replacement",
};

const state = {
  identity: "",
  shop: "",
  viewer: null,
  section: "cancellations",
  tab: "TO_PROCEED",
  filter: {},
  sort: "DEADLINE_SOONEST",
  first: 20,
  cursors: [null], // the `after` of each page seen, for Previous (keyset paging)
  counts: {},
  liveCounts: null,
  rows: new Map(), // id -> node of the current page
  picked: new Set(),
  selected: null,
  catalogues: {},
  live: null,
  listSeq: 0,
  detailSeq: 0,
};

const section = () => SECTIONS[state.section];
const canDecide = () =>
  Boolean(state.viewer && state.viewer.kind === "SELLER_AGENT" && state.viewer.permissions.includes("adjustments"));

// ---- messages and identity ---------------------------------------------------------------------

export function showMessage(text, kind = "error") {
  const box = $("#message");
  box.textContent = text || "";
  box.className = text ? kind : "";
}

// One message for every way an identity fails: no token, a bad or expired one, another shop.
function identityMessage(error) {
  if (error.code === "UNAUTHENTICATED") {
    return `This identity is not accepted: ${error.message}. Choose another identity or paste a fresh token.`;
  }
  if (error.code === "FORBIDDEN") {
    return `This identity may not open shop ${state.shop}: ${error.message}. Choose an identity of that shop.`;
  }
  return null;
}

function stop(message) {
  if (state.live) state.live.close();
  state.live = null;
  setBadge("offline", "no identity");
  state.viewer = null;
  $("#console").hidden = true;
  $("#viewer").textContent = "";
  showMessage(message);
}

// Any call may find the identity gone (expired mid-shift): then the page stops with the message.
async function call(query, variables) {
  try {
    return await gql(state.identity, query, variables);
  } catch (error) {
    const text = error instanceof ApiError ? identityMessage(error) : null;
    if (text) stop(text);
    throw error;
  }
}

function setBadge(status, reason) {
  const badge = $("#live");
  badge.textContent = status === "offline" && reason ? `offline: ${reason}` : status === "connecting" ? "connecting…" : status;
  badge.className = `live state-${status}`;
}

// ---- tabs, filters, paging ---------------------------------------------------------------------

// Updated in place while the section stays, so a focused tab keeps the focus as counts change.
function renderTabs() {
  const names = section().tabs;
  const present = [...$("#tabs").children];
  if (present.length === names.length && present.every((b, i) => b.dataset.tab === names[i])) {
    for (const button of present) {
      const tab = button.dataset.tab;
      const selected = tab === state.tab;
      const count = state.counts[tab];
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      button.querySelector(".count").textContent = count ?? "…";
    }
    return;
  }
  const tabs = names.map((tab) => {
    const selected = tab === state.tab;
    const count = state.counts[tab];
    return el(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${tab}`,
        "aria-selected": String(selected),
        "aria-controls": "rows",
        tabindex: selected ? "0" : "-1",
        dataset: { tab },
        onclick: () => chooseTab(tab),
      },
      TAB_LABELS[tab],
      el("span", { class: "count", text: count ?? "…" }),
      el("span", { class: "visually-hidden", text: " requests" }),
    );
  });
  $("#tabs").replaceChildren(...tabs);
}

function chooseTab(tab, focus = false) {
  state.tab = tab;
  state.cursors = [null];
  renderTabs();
  if (focus) $(`#tab-${tab}`).focus();
  loadList();
}

function tabKeys(event) {
  const tabs = section().tabs;
  const at = tabs.indexOf(state.tab);
  const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  chooseTab(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
}

function readFilters() {
  const f = {};
  const value = (id) => $(id).value.trim();
  const day = (id) => (value(id) ? new Date(`${value(id)}T00:00:00`).toISOString() : null);
  const allowed = section().filters;
  const all = {
    kind: value("#f-kind") || null,
    orderId: value("#f-order") || null,
    buyerId: value("#f-buyer") || null,
    createdFrom: day("#f-from"),
    createdTo: day("#f-to"),
    deadlineBefore: day("#f-due"),
  };
  for (const name of allowed) if (all[name]) f[name] = all[name];
  state.filter = f;
  state.sort = f.deadlineBefore ? "DEADLINE_SOONEST" : $("#f-sort").value;
  $("#f-sort").value = state.sort;
  state.first = Number($("#f-first").value);
  state.cursors = [null];
}

function setCounts(counts) {
  state.counts = Object.fromEntries(counts.map(({ tab, count }) => [tab, count]));
  renderTabs();
}

// ---- the list ----------------------------------------------------------------------------------

// Live events come in bursts (a bulk decision, the deadline worker's batch): one reload at a
// time, and one more after it when events arrived meanwhile.
let listLoading = null;
let listAgain = false;

function reloadList() {
  if (listLoading) {
    listAgain = true;
    return;
  }
  listLoading = loadList().finally(() => {
    listLoading = null;
    if (listAgain) {
      listAgain = false;
      reloadList();
    }
  });
}

async function loadList() {
  const seq = ++state.listSeq;
  const after = state.cursors[state.cursors.length - 1];
  const filter = Object.keys(state.filter).length ? state.filter : null;
  let data;
  try {
    data = await call(section().list, {
      shopId: state.shop,
      tab: state.tab,
      filter,
      sort: state.sort,
      first: state.first,
      after,
    });
  } catch (error) {
    if (seq === state.listSeq && state.viewer) showMessage(error.message);
    return;
  }
  if (seq !== state.listSeq) return; // a newer load started meanwhile
  const { page } = data;
  setCounts(page.tabCounts);
  renderRows(page.edges.map((e) => e.node));
  $("#prev").disabled = state.cursors.length === 1;
  $("#next").disabled = !page.pageInfo.hasNextPage;
  $("#next").dataset.cursor = page.pageInfo.endCursor || "";
  $("#page-no").textContent = `Page ${state.cursors.length}`;
}

function decidable(node) {
  return canDecide() && Boolean(node.nextAction) && ["ACCEPT_OR_REJECT", "APPROVE_OR_REJECT"].includes(node.nextAction.action);
}

function dueCell(node) {
  const next = node.nextAction;
  if (!next) return el("td", { "data-label": "Due", class: "due" }, el("span", { class: "muted", text: "nothing due" }));
  const who = `${ACTORS[next.actorKind]}: ${words(next.action)}`;
  if (!next.dueAt) return el("td", { "data-label": "Due", class: "due" }, el("span", { class: "muted", text: who }));
  return el(
    "td",
    { "data-label": "Due", class: "due" },
    el("span", { class: "marker", dataset: { due: next.dueAt } }),
    el("span", { class: "countdown", dataset: { due: next.dueAt } }),
    el("time", { datetime: next.dueAt, class: "at", text: when(next.dueAt) }),
    el("span", { class: "muted who", text: who }),
  );
}

function renderRows(nodes) {
  state.rows = new Map(nodes.map((n) => [n.id, n]));
  for (const id of [...state.picked]) if (!state.rows.has(id) || !decidable(state.rows.get(id))) state.picked.delete(id);
  const rows = nodes.map((node) => {
    const kind = KIND_LABELS[node.kind || "CANCELLATION"];
    const pick = decidable(node)
      ? el("input", {
          type: "checkbox",
          class: "pick-row",
          "aria-label": `select ${node.id}`,
          checked: state.picked.has(node.id),
          onclick: (event) => event.stopPropagation(),
          onchange: (event) => pickRow(node.id, event.target.checked),
        })
      : null;
    const row = el(
      "tr",
      {
        tabindex: "0",
        dataset: { id: node.id },
        class: node.id === state.selected ? "selected" : "",
        "aria-current": node.id === state.selected ? "true" : null,
        "aria-label": `${kind} ${node.id} from ${node.buyerId}`,
        onclick: () => select(node.id),
        onkeydown: (event) => {
          if (event.target !== row) return;
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            select(node.id, true);
          }
        },
      },
      el("td", { class: "pick" }, pick),
      el(
        "td",
        { "data-label": "Request" },
        el("strong", { class: "kind", text: kind }),
        el("span", { class: "id", text: node.id }),
        el("span", { class: "status", text: words(node.status) }),
      ),
      el("td", { "data-label": "Buyer", class: "buyer", text: node.buyerId }),
      el(
        "td",
        { "data-label": "Items", class: "items" },
        el("ul", {}, node.lines.map((line) => el("li", { text: `${line.title} × ${line.quantity}` }))),
      ),
      el("td", { "data-label": "Amount", class: "amount", text: linesTotal(node.lines) }),
      el("td", { "data-label": "Reason", class: "reason", text: node.reason.displayText }),
      dueCell(node),
    );
    return row;
  });
  $("#rows").replaceChildren(...rows);
  $("#empty").hidden = nodes.length > 0;
  renderBulk();
  tickCountdowns();
}

function tickCountdowns() {
  const now = Date.now();
  for (const cell of document.querySelectorAll(".countdown[data-due]")) {
    cell.textContent = countdown(cell.dataset.due, now);
  }
  for (const marker of document.querySelectorAll(".marker[data-due]")) {
    const level = urgency(marker.dataset.due, now);
    marker.textContent = { overdue: "Overdue", soon: "Due within the hour", "": "" }[level];
    marker.className = `marker ${level}`;
  }
}

// ---- bulk --------------------------------------------------------------------------------------

function pickRow(id, on) {
  if (on) state.picked.add(id);
  else state.picked.delete(id);
  renderBulk();
}

function renderBulk() {
  const show = canDecide();
  $("#bulk").hidden = !show;
  $("#pick-all").hidden = !show;
  const n = state.picked.size;
  $("#bulk-count").textContent = `${n} selected`;
  $("#bulk-accept").disabled = n === 0;
  $("#bulk-reject").disabled = n === 0;
  const decidables = [...state.rows.values()].filter(decidable);
  $("#pick-all").checked = decidables.length > 0 && decidables.every((r) => state.picked.has(r.id));
}

function pickAll(on) {
  for (const node of state.rows.values()) if (decidable(node)) pickRow(node.id, on);
  for (const box of document.querySelectorAll(".pick-row")) box.checked = on;
}

// One document with an alias per row (at most 20 a document, under the alias limit), so every row
// gets its own result: a request decided meanwhile fails alone.
async function runBulk(build) {
  const picked = [...state.picked].map((id) => state.rows.get(id)).filter(Boolean);
  const results = [];
  for (let start = 0; start < picked.length; start += 20) {
    const chunk = picked.slice(start, start + 20);
    const calls = chunk.map((node, i) => ({ node, ...build(node), alias: `r${i}` }));
    const params = calls.map((c) => `$${c.alias}: ${c.inputType}!`).join(", ");
    const fields = calls.map((c) => `${c.alias}: ${c.mutation}(input: $${c.alias}) { ${section().result} }`).join("\n");
    const variables = Object.fromEntries(calls.map((c) => [c.alias, { ...c.input, idempotencyKey: newKey() }]));
    try {
      const data = await call(`mutation Bulk(${params}) { ${fields} }`, variables);
      for (const c of calls) results.push({ id: c.node.id, result: data[c.alias] });
    } catch (error) {
      for (const c of calls) results.push({ id: c.node.id, result: { __typename: "Error", code: error.code, message: error.message } });
    }
  }
  renderBulkResults(results);
  state.picked.clear();
  loadList();
  if (state.selected) loadDetail();
}

function renderBulkResults(results) {
  $("#bulk-results").replaceChildren(
    ...results.map(({ id, result }) => {
      const ok = !result.code;
      return el(
        "li",
        { class: ok ? "ok" : "failed", dataset: { id, result: ok ? "ok" : "failed" } },
        el("span", { class: "id", text: id }),
        ok ? ` done: now ${words(result.status)}` : ` not done: ${result.code}: ${result.message}`,
      );
    }),
  );
}

export function newKey() {
  return globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `k-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// ---- the detail --------------------------------------------------------------------------------

function select(id, focusDetail = false) {
  state.selected = id;
  for (const row of document.querySelectorAll("#rows tr")) {
    const on = row.dataset.id === id;
    row.classList.toggle("selected", on);
    if (on) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  }
  loadDetail().then(() => {
    if (focusDetail) $("#detail").focus();
    // One column: the detail is under the list, out of sight without this.
    else if (matchMedia("(max-width: 820px)").matches) $("#detail").scrollIntoView({ block: "start" });
  });
}

async function loadDetail() {
  const seq = ++state.detailSeq;
  if (!state.selected) return renderDetail(null);
  let answer;
  try {
    answer = await gqlPartial(state.identity, section().detail, { id: state.selected });
  } catch (error) {
    return showMessage(error.message);
  }
  if (seq !== state.detailSeq) return;
  const { data, errors } = answer;
  if (!data || !data.request) {
    const error = new ApiError(errors.length ? errors : [{ message: "not found" }]);
    const text = identityMessage(error);
    if (text) return stop(text);
    return showMessage(error.message);
  }
  // A quote the request no longer has (a replacement, a closed request) is not an error here.
  const quoteError = errors.find((e) => e.path && e.path[0] === "quote");
  renderDetail(data.request, data.quote, quoteError, data.ticket);
}

function facts(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs.filter(([, value]) => value).flatMap(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]),
  );
}

function linesTable(lines) {
  return el(
    "table",
    { class: "lines", "aria-label": "lines" },
    el("thead", {}, el("tr", {}, ["Item", "SKU", "Qty", "Unit price", "Subtotal"].map((h) => el("th", { scope: "col", text: h })))),
    el(
      "tbody",
      {},
      lines.map((l) =>
        el(
          "tr",
          { dataset: { line: l.lineId } },
          el("td", { text: l.title }),
          el("td", { text: l.sku }),
          el("td", { class: "num", text: String(l.quantity) }),
          el("td", { class: "num", text: money(l.unitPrice) }),
          el("td", { class: "num", text: money(l.subtotal) }),
        ),
      ),
    ),
  );
}

function refundSection(request, quote, quoteError) {
  const paid = request.refund;
  const breakdown = paid || quote;
  const title = paid ? "Refund paid" : "Refund if approved now";
  if (!breakdown) {
    return el("section", { class: "refund", "aria-label": "refund" }, el("h3", { text: "Refund" }),
      el("p", { class: "muted", text: quoteError ? quoteError.message : "No refund." }));
  }
  const titles = new Map(request.lines.map((l) => [l.lineId, l.title]));
  return el(
    "section",
    { class: "refund", "aria-label": "refund" },
    el("h3", { text: title }),
    el(
      "table",
      { class: "breakdown" },
      el(
        "tbody",
        {},
        (breakdown.lines || []).map((l) =>
          el("tr", {}, el("th", { scope: "row", text: `${titles.get(l.lineId) || l.lineId} × ${l.quantity}` }), el("td", { class: "num", text: money(l.amount) })),
        ),
        el("tr", {}, el("th", { scope: "row", text: "Items" }), el("td", { class: "num", text: money(breakdown.items) })),
        el("tr", {}, el("th", { scope: "row", text: "Shipping" }), el("td", { class: "num", text: money(breakdown.shipping) })),
        el("tr", { class: "total" }, el("th", { scope: "row", text: "Total" }), el("td", { class: "num", text: money(breakdown.total) })),
      ),
    ),
  );
}

function timelineSection(records) {
  return el(
    "section",
    { class: "timeline-section", "aria-label": "timeline" },
    el("h3", { text: "Timeline" }),
    el(
      "ol",
      { class: "timeline" },
      records.map((r) =>
        el(
          "li",
          { dataset: { action: r.action } },
          el("time", { datetime: r.at, text: when(r.at) }),
          el("strong", { class: "action", text: words(r.action) }),
          el("span", { class: "actor", text: `by ${ACTORS[r.actorKind]} ${r.actorId}` }),
          el("span", { class: "move", text: `${words(r.fromStatus) || "new"} → ${words(r.toStatus)}` }),
          r.reason ? el("span", { class: "why", text: r.reason.displayText }) : null,
          r.comment ? el("q", { class: "comment", text: r.comment }) : null,
        ),
      ),
    ),
  );
}

// Evidence (the buyer's photos and videos): the API has no field for it yet, so the detail query
// asks for none and this renders nothing. When the API adds one, select it in sections.js and it
// shows here.
function evidenceSection(evidence) {
  if (!Array.isArray(evidence) || evidence.length === 0) return null;
  return el(
    "section",
    { class: "evidence", "aria-label": "evidence" },
    el("h3", { text: "Evidence" }),
    el("ul", {}, evidence.map((item) => el("li", {}, el("a", { href: item.url, text: item.caption || item.url })))),
  );
}

function ticketSection(ticket) {
  if (!ticket) return null;
  return el(
    "section",
    { class: "ticket", "aria-label": "ticket" },
    el("h3", { text: `Ticket ${ticket.id}` }),
    facts([
      ["Subject", ticket.subject],
      ["Status", words(ticket.status)],
      ["Assignee", ticket.assignee || "nobody"],
      ["Tags", ticket.tags.join(", ")],
      ["Opened", when(ticket.openedAt)],
    ]),
    ticket.notes.length
      ? el("ul", { class: "notes", "aria-label": "notes" }, ticket.notes.map((n) => el("li", { text: `${when(n.at)} · ${n.authorId}: ${n.text}` })))
      : null,
    el(
      "ol",
      { class: "ticket-timeline" },
      ticket.timeline.map((t) =>
        el("li", { text: `${when(t.at)} · ${words(t.action)} by ${t.ruleName ? `rule ${t.ruleName}` : `${ACTORS[t.actorKind]} ${t.actorId}`}${t.detail ? `: ${t.detail}` : ""}` }),
      ),
    ),
  );
}

function decisionSummary(request) {
  const d = request.decision;
  if (!d) return null;
  const parts = [words(d.type)];
  if (d.partialAmount) parts.push(money(d.partialAmount));
  if (d.buyerKeepsItem) parts.push("buyer keeps the item");
  if (d.reason) parts.push(d.reason.displayText);
  parts.push(d.lines.map((l) => `${l.title} × ${l.quantity}`).join(", "));
  if (d.comment) parts.push(`“${d.comment}”`);
  return parts.join(" · ");
}

function shipment(s) {
  return s ? `${s.carrier} ${s.trackingNumber}, shipped ${when(s.shippedAt)}${s.receivedAt ? `, received ${when(s.receivedAt)}` : ""}` : null;
}

function renderDetail(request, quote, quoteError, ticket) {
  const aside = $("#detail");
  if (!request) {
    aside.replaceChildren(el("p", { class: "muted", text: "Choose a request to see it here." }));
    return;
  }
  const kind = KIND_LABELS[request.kind || "CANCELLATION"];
  const next = request.nextAction;
  const decisions = canDecide() ? section().decisions(request) : [];
  const actions = decisions.length
    ? el(
        "div",
        { class: "actions", role: "group", "aria-label": "decisions" },
        decisions.map((d) =>
          el("button", {
            type: "button",
            class: d.style,
            dataset: { action: d.key },
            text: d.label,
            onclick: () => openDecision(d, section().result, request, catalogueFor, state.identity, decided),
          }),
        ),
      )
    : null;
  const readOnly =
    !canDecide() && next && next.actorKind === "SELLER_AGENT"
      ? el("p", { class: "note read-only", text: "You may read this request; deciding needs the adjustments permission." })
      : null;
  const parts = [
    el("h2", {}, `${kind} `, el("span", { class: "id", text: request.id })),
    el("p", { class: "status-line" }, el("span", { class: "status-badge", text: words(request.status) })),
    actions,
    readOnly,
    facts([
      ["Order", request.orderId],
      ["Buyer", request.buyerId],
      ["Requested", when(request.requestedAt)],
      ["Reason", request.reason.displayText + (request.note ? ` — “${request.note}”` : "")],
      ["Next", next ? `${ACTORS[next.actorKind]}: ${words(next.action)}${next.dueAt ? ` by ${when(next.dueAt)} (${countdown(next.dueAt)})` : ""}` : null],
      ["Decision", decisionSummary(request)],
      ["Rejection", request.rejection ? `${request.rejection.reason.displayText}${request.rejection.comment ? ` — “${request.rejection.comment}”` : ""}` : null],
      ["Appeal", request.appeal ? `${request.appeal.reason.displayText}${request.appeal.comment ? ` — “${request.appeal.comment}”` : ""}` : null],
      ["Return", shipment(request.returnShipment)],
      ["Replacement", shipment(request.replacementShipment)],
      ["Resolved", when(request.resolvedAt)],
    ]),
    el("h3", { text: "Lines" }),
    linesTable(request.lines),
    refundSection(request, quote, quoteError),
    timelineSection(request.timeline),
    evidenceSection(request.evidence),
    ticketSection(ticket),
  ];
  aside.replaceChildren(...parts.filter(Boolean));
}

async function catalogueFor(name) {
  if (!state.catalogues[state.section]) state.catalogues[state.section] = await call(section().catalogues);
  return state.catalogues[state.section][name];
}

function decided(label, result) {
  showMessage(`${label}: ${result.id} is now ${words(result.status)}.`, "info");
  loadDetail();
  loadList();
}

// ---- the live feed -----------------------------------------------------------------------------

function subscribeLive(live) {
  live.subscribe(LIVE_COUNTS, { shopId: state.shop }, ({ data, errors }) => {
    const update = data && data.tabCounts;
    if (!update) return showMessage(errors[0].message);
    if (update.__typename !== "TabCountsUpdate") return showMessage(`${update.code}: ${update.message}`);
    state.liveCounts = update;
    // The feed's counts are the shop's; under a filter the list's own counts stand.
    if (!Object.keys(state.filter).length) setCounts(update[section().counts]);
  });
  state.eventsId = subscribeEvents(live);
}

function subscribeEvents(live) {
  return live.subscribe(
    LIVE_EVENTS,
    { shopId: state.shop, kinds: section().kinds },
    ({ data, errors }) => {
      const event = data && data.requestEvents;
      if (!event) return showMessage(errors[0].message);
      if (event.__typename !== "RequestEvent") return showMessage(`${event.code}: ${event.message}`);
      reloadList();
      if (event.requestId === state.selected) loadDetail();
    },
    // Subscribed (again, after a reconnect): reload, so nothing missed while offline is lost.
    () => {
      loadList();
      loadDetail();
    },
  );
}

function chooseSection(name) {
  state.section = name;
  state.tab = section().tabs[0];
  state.cursors = [null];
  state.selected = null;
  state.picked.clear();
  for (const b of document.querySelectorAll(".sections button")) b.setAttribute("aria-pressed", String(b.dataset.section === name));
  document.body.dataset.section = name;
  readFilters();
  $("#bulk-results").replaceChildren();
  renderTabs();
  renderDetail(null);
  if (state.live) {
    state.live.unsubscribe(state.eventsId);
    state.eventsId = subscribeEvents(state.live);
  }
  if (state.liveCounts) setCounts(state.liveCounts[section().counts]);
  history.replaceState(null, "", `?${new URLSearchParams({ shop: state.shop, section: name })}`);
  loadList();
}

// ---- opening with an identity ------------------------------------------------------------------

let openSeq = 0;

async function open() {
  const seq = ++openSeq; // a second Open (or pick) while this one waits wins
  if (state.live) state.live.close();
  state.live = null;
  state.identity = $("#identity").value.trim();
  state.shop = $("#shop").value.trim();
  state.catalogues = {};
  state.liveCounts = null;
  showMessage("");
  if (!state.identity) return stop("Choose an identity or paste a token to open the console.");
  let viewer;
  try {
    ({ viewer } = await gql(state.identity, VIEWER));
  } catch (error) {
    if (seq !== openSeq) return;
    return stop(identityMessage(error) || error.message);
  }
  if (seq !== openSeq) return;
  if (viewer.kind === "BUYER") return stop("This identity is a buyer's: the console is for a shop's agents. Choose an agent.");
  if (viewer.kind === "SELLER_AGENT") {
    if (!state.shop) state.shop = viewer.shopId;
    if (viewer.shopId !== state.shop) {
      return stop(`This identity is an agent of ${viewer.shopId}, not of ${state.shop}: choose an identity of ${state.shop}, or open ${viewer.shopId}.`);
    }
  } else if (!state.shop) {
    return stop("Name the shop to open.");
  }
  state.viewer = viewer;
  $("#shop").value = state.shop;
  localStorage.setItem("console.identity", state.identity);
  $("#viewer").textContent = `${ACTORS[viewer.kind]} ${viewer.id} · ${state.shop}${canDecide() ? " · may decide" : " · read only"}`;
  $("#console").hidden = false;
  state.selected = null;
  state.picked.clear();
  chooseSection(state.section);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  // Only the current feed moves the badge: a replaced one's late close says nothing.
  let live = null;
  live = new LiveFeed(
    url,
    authHeaders(state.identity),
    (status, reason) => state.live === live && setBadge(status, reason),
    (text) => showMessage(`live feed: ${text}`),
  );
  state.live = live;
  subscribeLive(live);
}

async function loadIdentities() {
  // Development only: the service lists its demo identities; in production the address is absent.
  let listed;
  try {
    const response = await fetch("/dashboard/identities");
    if (!response.ok) return;
    listed = (await response.json()).identities;
  } catch {
    return;
  }
  const picker = $("#picker");
  for (const who of listed) picker.append(new Option(who.label, who.authorization));
  picker.dataset.shops = JSON.stringify(listed.map((w) => w.shopId));
  $("#picker-label").hidden = false;
  picker.onchange = () => {
    if (!picker.value) return;
    const who = listed[picker.selectedIndex - 1];
    $("#identity").value = picker.value;
    if (who.shopId && !$("#shop").value.trim()) $("#shop").value = who.shopId;
    open();
  };
}

function init() {
  const params = new URLSearchParams(location.search);
  $("#shop").value = params.get("shop") || "";
  state.section = SECTIONS[params.get("section")] ? params.get("section") : "cancellations";
  document.body.dataset.section = state.section;
  // The identity stays in this browser (never in the address, where it would leak into logs).
  $("#identity").value = localStorage.getItem("console.identity") || "";
  $("#connect").onsubmit = (event) => {
    event.preventDefault();
    open();
  };
  // Open on a laptop; on a narrow screen folded, so the rows come first.
  $("#filter-box").open = !matchMedia("(max-width: 820px)").matches;
  $("#tabs").addEventListener("keydown", tabKeys);
  for (const b of document.querySelectorAll(".sections button")) b.onclick = () => chooseSection(b.dataset.section);
  $("#filters").onsubmit = (event) => {
    event.preventDefault();
    readFilters();
    if (state.liveCounts && !Object.keys(state.filter).length) setCounts(state.liveCounts[section().counts]);
    loadList();
  };
  $("#f-clear").onclick = () => {
    $("#filters").reset();
    $("#filters").requestSubmit();
  };
  $("#prev").onclick = () => {
    state.cursors.pop();
    loadList();
  };
  $("#next").onclick = () => {
    state.cursors.push($("#next").dataset.cursor);
    loadList();
  };
  $("#pick-all").onchange = (event) => pickAll(event.target.checked);
  $("#bulk-accept").onclick = () =>
    openBulk("accept", [...state.picked].map((id) => state.rows.get(id)), section(), catalogueFor, (build) => runBulk(build));
  $("#bulk-reject").onclick = () =>
    openBulk("reject", [...state.picked].map((id) => state.rows.get(id)), section(), catalogueFor, (build) => runBulk(build));
  setInterval(tickCountdowns, 1000);
  renderDetail(null);
  loadIdentities();
  if ($("#identity").value) open();
}

init();

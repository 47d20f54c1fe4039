// The live dashboard: one page, no build step, talking only to the service's own GraphQL API.
// Queries and mutations over HTTP; tab counts and request events over graphql-transport-ws, so a
// decision taken anywhere (another agent, the buyer, the platform, the deadline worker) shows here
// at once without reloading.

const $ = (selector) => document.querySelector(selector);

// What differs between the request sections of the Seller Center.
const SECTIONS = {
  cancellations: {
    label: "Cancellations",
    tabs: ["TO_PROCEED", "COMPLETED", "CLOSED", "ALL"],
    list: `query List($shopId: ID!, $tab: CancellationTab!) {
      page: cancellations(shopId: $shopId, tab: $tab, sort: DEADLINE_SOONEST, first: 50) {
        nodes { id orderId status tab requestedAt nextAction { actorKind action dueAt } }
      }
    }`,
    counts: `query Counts($shopId: ID!) { counts: cancellationTabCounts(shopId: $shopId) { tab count } }`,
    detail: `query Detail($id: ID!) {
      request: cancellation(id: $id) {
        id orderId status tab note reason { code text }
        nextAction { actorKind action dueAt }
        timeline { at actorKind actorId fromStatus toStatus reason { code text } comment }
      }
      reasons: cancellationRejectReasons { code text }
    }`,
    kind: "CANCELLATION",
    actions: (request) =>
      request.status === "PENDING"
        ? [
            { label: "Accept", mutation: ACCEPT_CANCELLATION, input: { cancellationId: request.id } },
            { label: "Reject", mutation: REJECT_CANCELLATION, input: { cancellationId: request.id }, needsReason: true },
          ]
        : [],
  },
};

const RESULT = `... on UserError { code message field }`;
const ACCEPT_CANCELLATION = `mutation Act($input: DecideCancellationInput!) {
  result: acceptCancellation(input: $input) { __typename ${RESULT} }
}`;
const REJECT_CANCELLATION = `mutation Act($input: RejectCancellationInput!) {
  result: rejectCancellation(input: $input) { __typename ${RESULT} }
}`;

const state = {
  identity: "",
  shop: "",
  section: "cancellations",
  tab: "TO_PROCEED",
  counts: {},
  selected: null,
  live: null,
};

// ---- HTTP --------------------------------------------------------------------------------

function authHeaders(identity) {
  if (!identity) return {};
  // A signed token goes as a bearer token; the development identity as X-Actor.
  return identity.split(".").length === 3
    ? { Authorization: `Bearer ${identity}` }
    : { "X-Actor": identity };
}

async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders(state.identity) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const { message, extensions } = body.errors[0];
    throw new Error(extensions && extensions.code ? `${extensions.code}: ${message}` : message);
  }
  return body.data;
}

// ---- graphql-transport-ws ------------------------------------------------------------------

class LiveFeed {
  constructor(url, payload, onStatus) {
    this.url = url;
    this.payload = payload;
    this.onStatus = onStatus;
    this.subscriptions = new Map(); // id -> {query, variables, onNext}
    this.nextId = 1;
    this.retry = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.ws = new WebSocket(this.url, "graphql-transport-ws");
    this.ws.onopen = () => this.send({ type: "connection_init", payload: this.payload });
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = (event) => {
      this.onStatus(false, event.reason);
      if (this.closed) return;
      // Back off, then subscribe again: the handlers reload what may have been missed.
      const wait = Math.min(500 * 2 ** this.retry++, 10000);
      setTimeout(() => this.connect(), wait);
    };
  }

  send(message) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  receive(message) {
    if (message.type === "connection_ack") {
      this.retry = 0;
      this.onStatus(true);
      for (const [id, sub] of this.subscriptions) this.start(id, sub);
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    } else if (message.type === "next") {
      const sub = this.subscriptions.get(message.id);
      if (sub) sub.onNext(message.payload);
    } else if (message.type === "error") {
      showMessage(`live feed: ${message.payload.map((e) => e.message).join("; ")}`);
    }
  }

  start(id, sub) {
    this.send({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables } });
    if (sub.onStart) sub.onStart();
  }

  subscribe(query, variables, onNext, onStart) {
    const id = String(this.nextId++);
    const sub = { query, variables, onNext, onStart };
    this.subscriptions.set(id, sub);
    if (this.ws.readyState === WebSocket.OPEN) this.start(id, sub);
  }

  close() {
    this.closed = true;
    this.ws.close(1000, "dashboard closed");
  }
}

// ---- rendering -----------------------------------------------------------------------------

function showMessage(text) {
  $("#message").textContent = text || "";
}

function renderTabs() {
  const section = SECTIONS[state.section];
  const nav = $("#tabs");
  nav.replaceChildren(
    ...section.tabs.map((tab) => {
      const button = document.createElement("button");
      button.dataset.tab = tab;
      button.setAttribute("aria-selected", String(tab === state.tab));
      button.append(tab.replace("_", " ").toLowerCase());
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = state.counts[tab] ?? "…";
      button.append(count);
      button.onclick = () => {
        state.tab = tab;
        renderTabs();
        loadList();
      };
      return button;
    }),
  );
}

function countdown(dueAt) {
  if (!dueAt) return "";
  const ms = new Date(dueAt) - Date.now();
  if (ms <= 0) return "overdue";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h ${String(m).padStart(2, "0")}m ${String(s % 60).padStart(2, "0")}s`;
}

function tickCountdowns() {
  for (const cell of document.querySelectorAll(".countdown[data-due]")) {
    const text = countdown(cell.dataset.due);
    cell.textContent = text;
    cell.classList.toggle("overdue", text === "overdue");
  }
}

function renderRows(nodes) {
  $("#rows").replaceChildren(
    ...nodes.map((node) => {
      const row = document.createElement("tr");
      row.dataset.id = node.id;
      row.classList.toggle("selected", node.id === state.selected);
      const due = node.nextAction ? node.nextAction.dueAt : null;
      for (const text of [node.id, node.orderId, node.status, new Date(node.requestedAt).toLocaleString()]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const deadline = document.createElement("td");
      deadline.className = "countdown";
      if (due) deadline.dataset.due = due;
      row.append(deadline);
      row.onclick = () => {
        state.selected = node.id;
        loadDetail();
        for (const r of document.querySelectorAll("#rows tr")) r.classList.toggle("selected", r === row);
      };
      return row;
    }),
  );
  tickCountdowns();
}

function renderDetail(request, reasons) {
  const aside = $("#detail");
  if (!request) {
    aside.replaceChildren();
    return;
  }
  const title = document.createElement("h2");
  title.textContent = `${request.id} · ${request.status}`;
  const facts = document.createElement("p");
  facts.textContent = `Order ${request.orderId} · ${request.reason.text}${request.note ? ` · “${request.note}”` : ""}`;
  const actions = document.createElement("div");
  actions.className = "actions";
  let reasonSelect = null;
  for (const action of SECTIONS[state.section].actions(request)) {
    if (action.needsReason && !reasonSelect) {
      reasonSelect = document.createElement("select");
      reasonSelect.id = "reject-reason";
      for (const reason of reasons) reasonSelect.append(new Option(reason.text, reason.code));
      actions.append(reasonSelect);
    }
    const button = document.createElement("button");
    button.textContent = action.label;
    button.dataset.action = action.label.toLowerCase();
    button.onclick = () => act(action, reasonSelect);
    actions.append(button);
  }
  const timeline = document.createElement("ol");
  timeline.className = "timeline";
  for (const record of request.timeline) {
    const item = document.createElement("li");
    const why = record.reason ? ` (${record.reason.text})` : "";
    item.textContent = `${new Date(record.at).toLocaleString()} · ${record.actorKind} ${record.actorId}: ${record.fromStatus ?? "—"} → ${record.toStatus}${why}${record.comment ? ` “${record.comment}”` : ""}`;
    timeline.append(item);
  }
  aside.replaceChildren(title, facts, actions, timeline);
}

// ---- loading and acting ----------------------------------------------------------------------

async function loadCounts() {
  const { counts } = await gql(SECTIONS[state.section].counts, { shopId: state.shop });
  setCounts(counts);
}

function setCounts(counts) {
  state.counts = Object.fromEntries(counts.map(({ tab, count }) => [tab, count]));
  renderTabs();
}

async function loadList() {
  const { page } = await gql(SECTIONS[state.section].list, { shopId: state.shop, tab: state.tab });
  renderRows(page.nodes);
}

async function loadDetail() {
  if (!state.selected) return renderDetail(null);
  const { request, reasons } = await gql(SECTIONS[state.section].detail, { id: state.selected });
  renderDetail(request, reasons);
}

async function act(action, reasonSelect) {
  const input = { ...action.input };
  if (action.needsReason) input.reason = reasonSelect.value;
  try {
    const { result } = await gql(action.mutation, { input });
    if (result.code) showMessage(`${result.code}: ${result.message}`);
    else showMessage("");
  } catch (error) {
    showMessage(error.message);
  }
  // The live feed brings the change to every page, this one included.
}

async function refresh() {
  try {
    await Promise.all([loadCounts(), loadList(), loadDetail()]);
    showMessage("");
  } catch (error) {
    showMessage(error.message);
  }
}

// ---- start -----------------------------------------------------------------------------------

function connectionPayload(identity) {
  return identity.split(".").length === 3 ? { Authorization: `Bearer ${identity}` } : { "X-Actor": identity };
}

function open() {
  state.identity = $("#identity").value.trim();
  state.shop = $("#shop").value.trim();
  state.section = $("#section").value;
  state.tab = SECTIONS[state.section].tabs[0];
  state.selected = null;
  const params = new URLSearchParams({ shop: state.shop, section: state.section });
  history.replaceState(null, "", `?${params}`);
  localStorage.setItem("dashboard.identity", state.identity);
  if (state.live) state.live.close();
  renderTabs();
  renderDetail(null);
  refresh();
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  state.live = new LiveFeed(url, connectionPayload(state.identity), (online, reason) => {
    const badge = $("#live");
    badge.textContent = online ? "live" : reason ? `offline: ${reason}` : "offline";
    badge.className = `live ${online ? "online" : "offline"}`;
  });
  subscribeLive(state.live);
}

function subscribeLive(live) {
  const section = SECTIONS[state.section];
  live.subscribe(LIVE_COUNTS, { shopId: state.shop }, (payload) => {
    if (payload.data) setCounts(payload.data.tabCounts.counts);
  });
  live.subscribe(
    LIVE_EVENTS,
    { shopId: state.shop, kinds: [section.kind] },
    () => {
      loadList();
      loadDetail();
    },
    // Subscribed (again): reload, so nothing that happened while offline is missed.
    () => refresh(),
  );
}

const LIVE_COUNTS = `subscription Counts($shopId: ID!) { tabCounts(shopId: $shopId) { counts { tab count } } }`;
const LIVE_EVENTS = `subscription Events($shopId: ID!, $kinds: [RequestKind!]) {
  requestEvents(shopId: $shopId, kinds: $kinds) { cursor }
}`;

function init() {
  const params = new URLSearchParams(location.search);
  for (const [name, section] of Object.entries(SECTIONS)) $("#section").append(new Option(section.label, name));
  $("#shop").value = params.get("shop") || "";
  $("#section").value = params.get("section") || "cancellations";
  // The identity stays in this browser (never in the address, where it would leak into logs).
  $("#identity").value = localStorage.getItem("dashboard.identity") || "";
  $("#connect").onsubmit = (event) => {
    event.preventDefault();
    open();
  };
  setInterval(tickCountdowns, 1000);
  if ($("#shop").value && $("#identity").value) open();
}

init();

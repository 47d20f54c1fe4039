// The live dashboard: one page, no build step, talking only to the service's own GraphQL API.
// Queries and mutations over HTTP; tab counts and request events over graphql-transport-ws, so a
// decision taken anywhere (another agent, the buyer, the platform, the deadline worker) shows here
// at once without reloading.

const $ = (selector) => document.querySelector(selector);

const RESULT = `__typename ... on UserError { code message field }`;
const NEXT = `nextAction { actorKind action dueAt }`;
const TIMELINE = `timeline { at actorKind actorId fromStatus toStatus reason { code displayText } comment }`;

// What differs between the two request sections of the Seller Center.
const SECTIONS = {
  cancellations: {
    label: "Cancellations",
    tabs: ["TO_PROCEED", "COMPLETED", "CLOSED", "ALL"],
    kinds: ["CANCELLATION"],
    counts: "cancellations", // the field of TabCountsUpdate
    list: `query List($shopId: ID!, $tab: CancellationTab!) {
      page: cancellations(shopId: $shopId, tab: $tab, sort: DEADLINE_SOONEST, first: 50) {
        nodes { id orderId status requestedAt ${NEXT} }
      }
    }`,
    detail: `query Detail($id: ID!) {
      request: cancellation(id: $id) {
        id orderId status note reason { code displayText } ${NEXT} ${TIMELINE}
      }
      rejectReasons: cancellationRejectReasons { code displayText }
    }`,
    actions: (request) =>
      request.status === "PENDING"
        ? [
            {
              label: "Accept",
              mutation: "acceptCancellation",
              input: "DecideCancellationInput",
              args: { cancellationId: request.id },
            },
            {
              label: "Reject",
              mutation: "rejectCancellation",
              input: "RejectCancellationInput",
              args: { cancellationId: request.id },
              reasons: "rejectReasons",
            },
          ]
        : [],
  },
  afterSales: {
    label: "Returns/Refunds",
    tabs: ["TO_PROCEED", "IN_PROCESS", "COMPLETED", "CLOSED", "ALL"],
    kinds: ["REFUND_ONLY", "RETURN_AND_REFUND", "REPLACEMENT"],
    counts: "afterSales",
    list: `query List($shopId: ID!, $tab: AfterSaleTab!) {
      page: afterSales(shopId: $shopId, tab: $tab, sort: DEADLINE_SOONEST, first: 50) {
        nodes { id orderId kind status requestedAt ${NEXT} }
      }
    }`,
    detail: `query Detail($id: ID!) {
      request: afterSale(id: $id) {
        id orderId kind status note reason { code displayText } ${NEXT} ${TIMELINE}
      }
      refundReject: afterSaleReasons(catalogue: REFUND_REJECT) { code displayText }
      replacementReject: afterSaleReasons(catalogue: REPLACEMENT_REJECT) { code displayText }
      replacementApprove: afterSaleReasons(catalogue: REPLACEMENT_APPROVE) { code displayText }
    }`,
    actions: (request) => {
      const id = { requestId: request.id };
      const replacement = request.kind === "REPLACEMENT";
      if (request.status === "PENDING_SELLER") {
        const decision = {
          REFUND_ONLY: "APPROVE_REFUND",
          RETURN_AND_REFUND: "APPROVE_RETURN",
          REPLACEMENT: "APPROVE_REPLACEMENT",
        }[request.kind];
        return [
          {
            label: "Approve",
            mutation: "approveAfterSale",
            input: "ApproveAfterSaleInput",
            args: { ...id, decision },
            reasons: replacement ? "replacementApprove" : null,
          },
          {
            label: "Reject",
            mutation: "rejectAfterSale",
            input: "ReasonedStepInput",
            args: id,
            reasons: replacement ? "replacementReject" : "refundReject",
          },
        ];
      }
      if (request.status === "RETURN_IN_TRANSIT") {
        return [
          { label: "Confirm receipt", mutation: "confirmReturnReceived", input: "AfterSaleStepInput", args: id },
        ];
      }
      return [];
    },
  },
};

const LIVE_COUNTS = `subscription Counts($shopId: ID) {
  tabCounts(shopId: $shopId) {
    __typename
    ... on TabCountsUpdate { cancellations { tab count } afterSales { tab count } }
    ... on UserError { code message }
  }
}`;
const LIVE_EVENTS = `subscription Events($shopId: ID, $kinds: [RequestKind!]) {
  requestEvents(shopId: $shopId, kinds: $kinds) {
    __typename
    ... on RequestEvent { cursor requestId }
    ... on UserError { code message }
  }
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

// What the identity box holds: a token, `Bearer <token>`, or the header JSON the run command
// prints ({"Authorization": "Bearer ..."}). Returns the headers to send (none when empty).
function authHeaders(identity) {
  const text = identity.trim();
  if (!text) return {};
  if (text.startsWith("{")) {
    try {
      const value = JSON.parse(text).Authorization;
      if (value) return { Authorization: value };
    } catch (error) {
      // not JSON after all: taken as a token below
    }
  }
  return { Authorization: text.toLowerCase().startsWith("bearer ") ? text : `Bearer ${text}` };
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
    this.subscriptions = new Map(); // id -> {query, variables, onNext, onStart}
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
  $("#tabs").replaceChildren(
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
      const status = node.kind ? `${node.kind.replaceAll("_", " ").toLowerCase()} · ${node.status}` : node.status;
      for (const text of [node.id, node.orderId, status, new Date(node.requestedAt).toLocaleString()]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const deadline = document.createElement("td");
      deadline.className = "countdown";
      if (node.nextAction && node.nextAction.dueAt) deadline.dataset.due = node.nextAction.dueAt;
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

function renderDetail(request, catalogues) {
  const aside = $("#detail");
  if (!request) {
    aside.replaceChildren();
    return;
  }
  const title = document.createElement("h2");
  title.textContent = `${request.id} · ${request.status}`;
  const facts = document.createElement("p");
  const note = request.note ? ` · “${request.note}”` : "";
  facts.textContent = `Order ${request.orderId} · ${request.reason.displayText}${note}`;
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const action of SECTIONS[state.section].actions(request)) {
    let reasonSelect = null;
    if (action.reasons) {
      reasonSelect = document.createElement("select");
      reasonSelect.dataset.reasonsFor = action.label.toLowerCase();
      for (const reason of catalogues[action.reasons]) {
        reasonSelect.append(new Option(reason.displayText, reason.code));
      }
      actions.append(reasonSelect);
    }
    const button = document.createElement("button");
    button.textContent = action.label;
    button.dataset.action = action.label.toLowerCase().replaceAll(" ", "-");
    button.onclick = () => act(action, reasonSelect);
    actions.append(button);
  }
  const timeline = document.createElement("ol");
  timeline.className = "timeline";
  for (const record of request.timeline) {
    const item = document.createElement("li");
    const why = record.reason ? ` (${record.reason.displayText})` : "";
    const comment = record.comment ? ` “${record.comment}”` : "";
    const move = `${record.fromStatus ?? "—"} → ${record.toStatus}`;
    item.textContent = `${new Date(record.at).toLocaleString()} · ${record.actorKind} ${record.actorId}: ${move}${why}${comment}`;
    timeline.append(item);
  }
  aside.replaceChildren(title, facts, actions, timeline);
}

// ---- loading and acting ----------------------------------------------------------------------

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
  const { request, ...catalogues } = await gql(SECTIONS[state.section].detail, { id: state.selected });
  renderDetail(request, catalogues);
}

async function act(action, reasonSelect) {
  const input = { ...action.args };
  if (reasonSelect) input.reason = reasonSelect.value;
  const mutation = `mutation Act($input: ${action.input}!) { result: ${action.mutation}(input: $input) { ${RESULT} } }`;
  try {
    const { result } = await gql(mutation, { input });
    showMessage(result.code ? `${result.code}: ${result.message}` : "");
  } catch (error) {
    showMessage(error.message);
  }
  // No reload here: the live feed brings the change to every page, this one included.
}

async function refresh() {
  try {
    await Promise.all([loadList(), loadDetail()]);
    showMessage("");
  } catch (error) {
    showMessage(error.message);
  }
}

// ---- start -----------------------------------------------------------------------------------

function subscribeLive(live) {
  const section = SECTIONS[state.section];
  // The counts come once at subscribe, then whenever one changes.
  live.subscribe(LIVE_COUNTS, { shopId: state.shop }, ({ data, errors }) => {
    const update = data && data.tabCounts;
    if (update && update.__typename === "TabCountsUpdate") setCounts(update[section.counts]);
    else showMessage(update ? `${update.code}: ${update.message}` : errors[0].message);
  });
  live.subscribe(
    LIVE_EVENTS,
    { shopId: state.shop, kinds: section.kinds },
    ({ data, errors }) => {
      const event = data && data.requestEvents;
      if (!event) return showMessage(errors[0].message);
      if (event.__typename !== "RequestEvent") return showMessage(`${event.code}: ${event.message}`);
      loadList();
      if (event.requestId === state.selected) loadDetail();
    },
    // Subscribed (again, after a reconnect): reload, so nothing missed while offline is lost.
    () => refresh(),
  );
}

function open() {
  state.identity = $("#identity").value.trim();
  state.shop = $("#shop").value.trim();
  state.section = $("#section").value;
  state.tab = SECTIONS[state.section].tabs[0];
  state.counts = {};
  state.selected = null;
  history.replaceState(null, "", `?${new URLSearchParams({ shop: state.shop, section: state.section })}`);
  localStorage.setItem("dashboard.identity", state.identity);
  if (state.live) state.live.close();
  renderTabs();
  renderDetail(null);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  state.live = new LiveFeed(url, authHeaders(state.identity), (online, reason) => {
    const badge = $("#live");
    badge.textContent = online ? "live" : reason ? `offline: ${reason}` : "offline";
    badge.className = `live ${online ? "online" : "offline"}`;
  });
  subscribeLive(state.live);
}

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

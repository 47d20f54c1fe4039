// The service's own API: queries and mutations over HTTP, subscriptions over graphql-transport-ws.

// What the token box holds: a token, `Bearer <token>`, or the header JSON the run command prints
// ({"Authorization": "Bearer ..."}). Returns the headers to send (none when empty).
export function authHeaders(identity) {
  const text = identity.trim();
  if (!text) return {};
  if (text.startsWith("{")) {
    try {
      const value = JSON.parse(text).Authorization;
      if (value) return { Authorization: value };
    } catch {
      // not JSON after all: taken as a token below
    }
  }
  return { Authorization: text.toLowerCase().startsWith("bearer ") ? text : `Bearer ${text}` };
}

// An answer with errors: the first error's code and message, and every error.
export class ApiError extends Error {
  constructor(errors) {
    const first = errors[0];
    super(first.message);
    this.code = (first.extensions && first.extensions.code) || "ERROR";
    this.errors = errors;
  }
}

// POST one document. Throws ApiError when the answer has errors (HTTP 4xx answers carry them too).
export async function gql(identity, query, variables = {}) {
  const { data, errors } = await gqlPartial(identity, query, variables);
  if (errors && errors.length) throw new ApiError(errors);
  return data;
}

// POST one document; the data and the errors as they came (for a page some of whose fields may fail).
export async function gqlPartial(identity, query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders(identity) },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `the service answered HTTP ${response.status}` }]);
  }
  return { data: body.data || null, errors: body.errors || [] };
}

// One graphql-transport-ws connection, reconnecting with backoff while it is wanted. Closing codes
// 44xx (no or bad token, init timeout) are final: the same token would be refused again.
export class LiveFeed {
  constructor(url, payload, onStatus, onError) {
    this.url = url;
    this.payload = payload;
    this.onStatus = onStatus; // (state: "connecting" | "live" | "offline", reason)
    this.onError = onError;
    this.subscriptions = new Map(); // id -> {query, variables, onNext, onStart}
    this.nextId = 1;
    this.retry = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.onStatus("connecting");
    this.acked = false;
    this.ws = new WebSocket(this.url, "graphql-transport-ws");
    this.ws.onopen = () => this.send({ type: "connection_init", payload: this.payload });
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = (event) => {
      if (this.closed) return; // replaced or closed on purpose: says nothing any more
      const final = event.code >= 4400 && event.code < 4500;
      this.onStatus("offline", event.reason || (final ? "refused" : "disconnected"));
      if (final) return;
      const wait = Math.min(500 * 2 ** this.retry++, 10000);
      setTimeout(() => !this.closed && this.connect(), wait);
    };
  }

  send(message) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  receive(message) {
    if (message.type === "connection_ack") {
      this.retry = 0;
      this.acked = true;
      this.onStatus("live");
      for (const [id, sub] of this.subscriptions) this.start(id, sub);
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    } else if (message.type === "next") {
      const sub = this.subscriptions.get(message.id);
      if (sub) sub.onNext(message.payload);
    } else if (message.type === "error") {
      this.onError(message.payload.map((e) => e.message).join("; "));
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
    if (this.acked) this.start(id, sub);
    return id;
  }

  unsubscribe(id) {
    if (this.subscriptions.delete(id)) this.send({ id, type: "complete" });
  }

  close() {
    this.closed = true;
    this.ws.close(1000, "console closed");
  }
}

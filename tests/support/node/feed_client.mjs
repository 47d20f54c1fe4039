// A subscriber written with the `graphql-ws` client from npm, as a browser console would use it.
// Reads FEED_URL, FEED_AUTHORIZATION ("Bearer <token>"), FEED_QUERY, FEED_VARIABLES (JSON) and FEED_COUNT from the
// environment; prints "ready" once subscribed (acknowledged), then one JSON line per `next`
// payload; exits 0 after FEED_COUNT of them, 1 on an error or a close.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const want = Number(process.env.FEED_COUNT);
let seen = 0;
const client = createClient({
  url: process.env.FEED_URL,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: process.env.FEED_AUTHORIZATION },
  retryAttempts: 0,
  on: { connected: () => console.log("ready") },
});
client.subscribe(
  { query: process.env.FEED_QUERY, variables: JSON.parse(process.env.FEED_VARIABLES || "{}") },
  {
    next: (payload) => {
      console.log(JSON.stringify(payload));
      if (++seen >= want) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (err) => {
      console.error("error", JSON.stringify(err, Object.getOwnPropertyNames(err)));
      process.exit(1);
    },
    complete: () => process.exit(seen >= want ? 0 : 1),
  },
);
setTimeout(() => {
  console.error(`timed out after ${seen} of ${want} events`);
  process.exit(2);
}, 60000);

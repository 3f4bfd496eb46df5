// A consumer in a process of its own, as an app that stores lastId and is then restarted:
// `node consumer.js URL TABLE AFTER COUNT` subscribes (AFTER: an id, or "none") and prints one { seq } line per event,
// { subscribed: true } once subscribe() has resolved (a replay comes before it), and after COUNT events stops taking
// more, prints { lastId } and exits at once, leaving the client as a crash would.
import { LogLevel } from "@microsoft/signalr";
import { ZgresClient } from "../../src/index.js";

const [url, table, after, count] = process.argv.slice(2);
const client = new ZgresClient(url, { logger: LogLevel.None });
await client.start();
let handled = 0;
const subscribing = client.subscribe(table, { after: after === "none" ? null : Number(after) }, async (event) => {
  print({ seq: event.data.seq });
  if (++handled < Number(count)) return;
  // A replay can reach the handler before subscribe() has resolved.
  const subscription = await subscribing;
  subscription.unsubscribe();
  // lastId counts an event once its handler has returned: read it on the next turn of the event loop.
  setImmediate(() => {
    print({ lastId: subscription.lastId });
    process.exit(0);
  });
});
await subscribing;
print({ subscribed: true });

function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

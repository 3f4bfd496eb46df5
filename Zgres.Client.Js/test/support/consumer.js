// A consumer in a process of its own, as an app that stores lastId and is then restarted:
// `node consumer.js URL TABLE AFTER COUNT` subscribes (AFTER: an id, or "none"), prints { subscribed: true }, then one
// { seq } line per event, and after COUNT events stops taking more, prints { lastId } and exits at once, leaving the
// client as a crash would.
import { LogLevel } from "@microsoft/signalr";
import { ZgresClient } from "../../src/index.js";

const [url, table, after, count] = process.argv.slice(2);
const client = new ZgresClient(url, { logger: LogLevel.None });
await client.start();
let handled = 0;
const subscription = await client.subscribe(table, { after: after === "none" ? null : Number(after) }, (event) => {
  print({ seq: event.data.seq });
  if (++handled < Number(count)) return;
  subscription.unsubscribe();
  // lastId counts an event once its handler has returned: read it on the next turn of the event loop.
  setImmediate(() => {
    print({ lastId: subscription.lastId });
    process.exit(0);
  });
});
print({ subscribed: true });

function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

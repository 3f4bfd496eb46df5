// A Node.js program of the new npm project: prints "subscribed", then the first change of the table it is given, and
// exits; exits 1 if none comes within a minute.
import { ZgresClient } from "@zgres/client";

const [url, table, column] = process.argv.slice(2);
const timer = setTimeout(() => {
  console.error("no change came within a minute");
  process.exit(1);
}, 60_000);
const client = new ZgresClient(url);
await client.start();
const first = new Promise((resolve) => {
  client.subscribe(table, (event) => resolve(event)).then(() => console.log("subscribed"));
});
const event = await first;
console.log(`received ${event.operation} ${event.data[column]}`);
clearTimeout(timer);
await client.stop();

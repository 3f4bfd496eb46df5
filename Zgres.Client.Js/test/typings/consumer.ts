// A consumer of the package's types, compiled with tsc in the tests (test/typings.test.js): typed rows in
// subscriptions, streams and live views, and a live view handed to React's useSyncExternalStore as it is.
import { ZgresClient, SubscriptionRefusedError, TransactionWaitError, type ChangeEvent, type LiveQuery, type LiveQueryChange } from "@zgres/client";

// React's signature, declared here so that the check needs no React.
declare function useSyncExternalStore<Snapshot>(subscribe: (onStoreChange: () => void) => () => void, getSnapshot: () => Snapshot): Snapshot;

interface Order {
  id: number;
  status: "open" | "held" | "closed";
  total: number;
  tags: string[];
}

const client = new ZgresClient("http://localhost:5080", { accessTokenFactory: async () => "token" });
await client.start();

const view: LiveQuery<Order> = client.liveQuery<Order>("orders", { filter: [{ column: "status", op: "in", value: ["open", "held"] }] });
const rows: readonly Order[] = useSyncExternalStore(view.subscribe, view.getSnapshot);
const total: number = rows.reduce((sum, order) => sum + order.total, 0);
view.onChange(({ kind, added, updated, removed, events }: LiveQueryChange<Order>) => {
  for (const [key, order] of added) console.log(kind, key, order.status.toUpperCase(), order.tags.join());
  const leaving: Order | undefined = removed.get("1");
  console.log(updated.size, leaving?.total, events.map((event) => event.txid ?? event.id));
});
try {
  await view.ready;
} catch (error) {
  if (error instanceof SubscriptionRefusedError) console.log(error.table, error.message);
}
// Write, then wait until the write is in the view (an optimistic UI's confirmation).
declare function insertOrder(order: Omit<Order, "id">): Promise<{ txid: string }>;
const { txid } = await insertOrder({ status: "open", total: 12, tags: [] });
try {
  await client.waitForTransaction(txid, { timeout: 5_000, signal: AbortSignal.timeout(10_000) });
} catch (error) {
  if (error instanceof TransactionWaitError) console.log(error.txid, error.message);
}
await client.waitForTransaction(42n);
// @ts-expect-error the timeout is a number of milliseconds
await client.waitForTransaction(txid, { timeout: "5s" });
const first: Order | undefined = view.rows.get("1");
console.log(total, first?.id, view.isReady, view.key.join());
// @ts-expect-error the view's rows are read-only
view.rows.set("1", first!);
// @ts-expect-error a column the row type does not have
console.log(rows[0].nope);
// Leaving the view for a plain subscription of the same rows that misses no change after them.
const continueAfter: number | null = view.continueAfter;
await view.close();
const plain = await client.subscribe<Order>("orders", { after: continueAfter }, (event) => console.log(event.data.status));
await plain.unsubscribe();
const next: number | null = plain.continueAfter;
console.log(next);

const subscription = await client.subscribe<Order>("orders", { snapshot: true }, (event: ChangeEvent<Order>) => {
  console.log(event.operation, event.data.total.toFixed(2), event.old?.status, event.inFilter);
});
for await (const event of client.stream<Order>("orders", { inputId: 7, signal: AbortSignal.timeout(1000) })) {
  const status: Order["status"] = event.data.status;
  console.log(status);
}
// Rows left untyped are JSON values.
await client.subscribe("orders", (event) => console.log(event.data["total"]));
await subscription.unsubscribe();
await client.stop();

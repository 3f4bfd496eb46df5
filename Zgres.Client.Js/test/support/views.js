// What the live-view tests share: an orders table, its writers, and a view compared with a SELECT.

const STATUSES = ["open", "held", "closed", "void"];
const WAIT_LIMIT_MS = 90_000;

/** A new database holding an `orders` table, filled by `fill` (SQL) when given. */
export async function ordersDatabase(cluster, fill) {
  const database = await cluster.createDatabase();
  await database.sql("CREATE TABLE orders (id bigserial PRIMARY KEY, input_id int, status text, total int)", ...(fill ? [fill] : []));
  return database;
}

/** The rows of `orders` WHERE `where`, as "id status total" lines in id order. */
export async function selectRows(database, where, table = "orders") {
  const text = await database.sql(`SELECT id || ' ' || status || ' ' || total FROM ${table} WHERE ${where} ORDER BY id`);
  return text === "" ? [] : text.split("\n");
}

/** A view's rows in the same form. */
export const viewRows = (view) => view.getSnapshot().map((row) => `${row.id} ${row.status} ${row.total}`);

/** Resolves once `condition(view.rows)` holds (checked after each change); fails after a generous deadline. */
export function untilView(view, condition, description) {
  if (condition(view.rows)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      remove();
      reject(new Error(`Gave up waiting for ${description}; the view holds ${view.rows.size} rows (ready: ${view.isReady}).`));
    }, WAIT_LIMIT_MS);
    const remove = view.subscribe(() => {
      if (!condition(view.rows)) return;
      clearTimeout(timer);
      remove();
      resolve();
    });
  });
}

/** Random inserts (input `writer`), updates that move rows in and out of filters on status, and deletes of rows with
 *  ids below `ids`, each its own transaction, in batches of 50 until `writing.stopped`. */
export async function writeOrders(database, writer, writing, { ids = 3000 } = {}) {
  const below = (n) => Math.floor(Math.random() * n);
  while (!writing.stopped) {
    const statements = Array.from({ length: 50 }, () => {
      const kind = below(10);
      const id = 1 + below(ids);
      const status = STATUSES[below(4)];
      if (kind < 4) return `INSERT INTO orders (input_id, status, total) VALUES (${writer}, '${status}', ${below(1000)})`;
      if (kind < 9) return `UPDATE orders SET status = '${status}', total = total + 1 WHERE id = ${id}`;
      return `DELETE FROM orders WHERE id = ${id}`;
    });
    await database.sql(...statements);
  }
}

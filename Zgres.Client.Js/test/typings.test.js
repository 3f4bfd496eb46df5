// The package's TypeScript declarations, checked by the compiler itself: a sample consumer (test/typings/consumer.ts)
// that types its rows in subscriptions, streams and live views, hands a view to React's useSyncExternalStore, and
// expects errors where the types must refuse (read-only rows, a column the row type lacks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const tsc = fileURLToPath(new URL("../node_modules/.bin/tsc", import.meta.url));
const project = fileURLToPath(new URL("./typings/", import.meta.url));

test("the type declarations compile a typed consumer with tsc --noEmit, refusing what they must", async () => {
  const { stdout, stderr } = await run(tsc, ["--noEmit", "-p", project]).catch((failure) => {
    assert.fail(`tsc found errors:\n${failure.stdout}${failure.stderr}`);
  });
  assert.equal(`${stdout}${stderr}`.trim(), "");
});

// What `npm pack` puts in the tarball users install: the modules, their types, the browser shim the demo page uses,
// the README and the license; never the tests or the bench.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const packageFolder = fileURLToPath(new URL("../", import.meta.url));

test("npm pack makes zgres-client-<version>.tgz with src, types, README and LICENSE and no tests", async () => {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts=false"], { cwd: packageFolder });
  const [packed] = JSON.parse(stdout);
  const { version, exports } = (await import("../package.json", { with: { type: "json" } })).default;
  assert.equal(packed.filename, `zgres-client-${version}.tgz`);
  const files = packed.files.map((file) => file.path).sort();
  for (const expected of ["LICENSE", "README.md", "package.json", "src/index.js", "src/index.d.ts", "src/browser/signalr-global.js"]) {
    assert.ok(files.includes(expected), `${expected} is missing from ${files.join(", ")}`);
  }
  assert.deepEqual(files.filter((file) => !file.startsWith("src/") && !["LICENSE", "README.md", "package.json"].includes(file)), []);
  for (const [entry, target] of Object.entries(exports)) {
    const path = typeof target === "string" ? target : target.default;
    assert.ok(files.includes(path.replace(/^\.\//, "")), `export ${entry} points at ${path}, which is not packed`);
  }
});

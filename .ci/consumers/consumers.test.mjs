// Zgres as a new user gets it: every package is packed into a local folder (never pushed anywhere), then used from fresh
// projects in a temporary folder outside the repository, with only the packed files: a `dotnet new web` app hosting
// Zgres.AspNetCore with a `dotnet new console` app on Zgres.Client, the `zgres` tool, and an npm project on the
// @zgres/client tarball. Run by .ci/run (node --test); each test is counted in its final line. Only the package
// restores reach out (the registries this machine is set up with); the dotnet templates are the SDK's own.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PostgresCluster } from "../../Zgres.Client.Js/test/support/postgres.js";
import { freePort } from "../../Zgres.Client.Js/test/support/ports.js";

const exec = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
const repository = join(here, "..", "..");
const version = readFileSync(join(repository, "Directory.Build.props"), "utf8").match(/<VersionPrefix>([^<]+)</)[1];
const minutes = (n) => n * 60_000;

// /tmp, not the repository: nothing of the repository (Directory.Build.props, its NuGet and npm settings) applies.
// Readable by all, since the postgres user runs the embedded database under it.
const work = mkdtempSync("/tmp/zgres-consumers-");
chmodSync(work, 0o755);
const feed = join(work, "feed");
// A fresh global packages folder: a package of this version restored by an earlier run must not stand in for this build.
const dotnetEnvironment = { ...process.env, NUGET_PACKAGES: join(work, "nuget-packages"), DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" };
const children = new Set();

after(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** Runs a program to its end; rejects with what it printed when it fails. */
async function run(program, args, { cwd = work, env = dotnetEnvironment, timeout = minutes(10) } = {}) {
  try {
    const { stdout, stderr } = await exec(program, args, { cwd, env, timeout, maxBuffer: 64 << 20 });
    return stdout + stderr;
  } catch (failure) {
    throw new Error(`${program} ${args.join(" ")} failed (${failure.code ?? failure.signal}):\n${failure.stdout ?? ""}${failure.stderr ?? ""}`);
  }
}

/** Starts a program in the background, keeping what it prints. */
function start(program, args, { cwd = work, env = dotnetEnvironment } = {}) {
  const child = spawn(program, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  const waiters = [];
  const append = (chunk) => {
    output += chunk;
    for (const waiter of [...waiters]) if (waiter.pattern.test(output)) waiter.resolve();
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  return {
    child,
    exited,
    get output() { return output; },
    /** Resolves once the output matches; rejects when the program exits first or the time is up. */
    waitFor(pattern, timeout = minutes(2)) {
      if (pattern.test(output)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${program}: no ${pattern} within ${timeout} ms:\n${output}`)), timeout);
        waiters.push({ pattern, resolve: () => { clearTimeout(timer); resolve(); } });
        exited.then(({ code, signal }) => {
          clearTimeout(timer);
          if (!pattern.test(output)) reject(new Error(`${program} exited (${code ?? signal}) before ${pattern}:\n${output}`));
        });
      });
    },
  };
}

async function waitForReady(address, timeout = minutes(2)) {
  const deadline = Date.now() + timeout;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL("/healthz/ready", address));
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${address}healthz/ready did not answer 200 within ${timeout} ms: ${last}`);
}

/** A new project from the SDK's own template, restoring from the local folder besides the usual registry. */
async function newDotnetProject(template, name) {
  await run("dotnet", ["new", template, "-o", name, "--no-restore", "--no-update-check"]);
  return join(work, name);
}

test("dotnet pack and npm pack put every package of this version into a local folder", { timeout: minutes(15) }, async () => {
  mkdirSync(feed);
  for (const project of ["migrations/Zgres.Migrations.csproj", "Zgres.Client", "Zgres.AspNetCore", "Zgres.Tool"]) {
    await run("dotnet", ["pack", join(repository, project), "-o", feed], { cwd: repository });
  }
  await run("npm", ["pack", "--pack-destination", feed], { cwd: join(repository, "Zgres.Client.Js"), env: process.env });
  // The local folder is the only extra source of the projects below; nothing is pushed anywhere.
  writeFileSync(join(work, "nuget.config"), `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="zgres-local" value="${feed}" />
  </packageSources>
</configuration>
`);
  const packed = readdirSync(feed).sort();
  for (const file of ["Zgres.AspNetCore", "Zgres.Client", "Zgres.Migrations", "Zgres.Tool"].flatMap((id) => [`${id}.${version}.nupkg`, `${id}.${version}.snupkg`])) {
    assert.ok(packed.includes(file), `${file} is missing from ${packed.join(", ")}`);
  }
  assert.ok(packed.includes(`zgres-client-${version}.tgz`), `zgres-client-${version}.tgz is missing from ${packed.join(", ")}`);
});

test("a new web app hosts Zgres.AspNetCore on its own database and table, and a new console app on Zgres.Client receives an inserted row", { timeout: minutes(20) }, async () => {
  const cluster = await PostgresCluster.start();
  let host;
  try {
    const database = await cluster.createDatabase();
    await database.sql("CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int, item text)");

    const webApp = await newDotnetProject("web", "ShopHost");
    await run("dotnet", ["add", "package", "Zgres.AspNetCore", "--version", version], { cwd: webApp });
    copyFileSync(join(here, "WebApp.Program.cs"), join(webApp, "Program.cs"));
    await run("dotnet", ["build", "-o", "out"], { cwd: webApp });

    const listener = await newDotnetProject("console", "ShopListener");
    await run("dotnet", ["add", "package", "Zgres.Client", "--version", version], { cwd: listener });
    copyFileSync(join(here, "Listener.Program.cs"), join(listener, "Program.cs"));
    await run("dotnet", ["build", "-o", "out"], { cwd: listener });

    const address = `http://127.0.0.1:${await freePort()}/`;
    host = start("dotnet", [join(webApp, "out", "ShopHost.dll")], {
      cwd: webApp,
      env: {
        ...dotnetEnvironment,
        Urls: address,
        ConnectionStrings__Postgres: database.connectionString,
        Zgres__Tables__0__Name: "public.orders",
        Zgres__Tables__0__InputColumn: "customer_id",
      },
    });
    await waitForReady(address);
    assert.equal(await (await fetch(new URL("/hello", address))).text(), "the host app's own endpoint");
    // The demo page is Zgres:DemoPage's to turn on: a host app serves none by default.
    assert.equal((await fetch(address)).status, 404);

    const consumer = start("dotnet", [join(listener, "out", "ShopListener.dll"), address, "public.orders", "item"], { cwd: listener });
    await consumer.waitFor(/subscribed/);
    await database.sql("INSERT INTO public.orders (customer_id, item) VALUES (42, 'teapot')");
    const { code } = await consumer.exited;
    assert.equal(code, 0, consumer.output);
    assert.match(consumer.output, /received Insert teapot/);
  } finally {
    if (host) {
      host.child.kill("SIGTERM");
      await host.exited;
    }
    await cluster.stop();
  }
});

test("a new npm project installs the @zgres/client tarball and type-checks a TypeScript sample with tsc --noEmit", { timeout: minutes(10) }, async () => {
  const project = join(work, "npm-consumer");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "npm-consumer", private: true, type: "module" }, null, 2));
  const typescript = JSON.parse(readFileSync(join(repository, "Zgres.Client.Js", "package.json"), "utf8")).devDependencies.typescript;
  await run("npm", ["install", "--no-audit", "--no-fund", join(feed, `zgres-client-${version}.tgz`), `typescript@${typescript}`], { cwd: project, env: process.env });
  for (const file of ["sample.ts", "tsconfig.json", "receive.mjs"]) copyFileSync(join(here, file), join(project, file));

  const installed = join(project, "node_modules", "@zgres", "client");
  assert.ok(existsSync(join(installed, "LICENSE")) && existsSync(join(installed, "src", "index.d.ts")));
  assert.ok(!existsSync(join(installed, "test")), "the tarball carries the package's tests");
  await run(join(project, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", project], { cwd: project, env: process.env });
  // The browser shim the demo page maps @microsoft/signalr to is exported too.
  const { stdout } = await exec("node", ["--input-type=module", "-e", "console.log(import.meta.resolve('@zgres/client/browser/signalr-global.js'))"], { cwd: project });
  assert.ok(existsSync(fileURLToPath(stdout.trim())), stdout);
});

test("the zgres tool installs from the local folder, starts with its own database, answers /healthz/ready, delivers a row to a Node client of the npm project, and leaves nothing behind on SIGTERM", { timeout: minutes(15) }, async () => {
  const tools = join(work, "tools");
  await run("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, "Zgres.Tool", "--version", version]);
  const zgres = join(tools, "zgres");
  assert.equal((await run(zgres, ["--version"])).trim(), version);
  assert.match(await run(zgres, ["--help"]), /zgres migrate \[VERSION\]/);

  const databases = join(work, "zgres-embedded");
  const address = `http://127.0.0.1:${await freePort()}/`;
  const server = start(zgres, ["--urls", address, `--Zgres:Embedded:RootDirectory=${databases}`]);
  try {
    await server.waitFor(/Zgres is live/);
    assert.match(server.output, new RegExp(`Zgres is live \\(version ${version.replaceAll(".", "\\.")}\\)`));
    await waitForReady(address);
    assert.match(await (await fetch(address)).text(), /<html/i);

    const project = join(work, "npm-consumer");
    const consumer = start("node", ["receive.mjs", address, "public.inputs", "value"], { cwd: project, env: process.env });
    await consumer.waitFor(/subscribed/);
    const insert = await fetch(new URL("/api/demo/inputs", address), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputId: 7, value: "from the tool" }),
    });
    assert.ok(insert.ok, `${insert.status} ${await insert.text()}`);
    const { code } = await consumer.exited;
    assert.equal(code, 0, consumer.output);
    assert.match(consumer.output, /received INSERT from the tool/);
  } finally {
    server.child.kill("SIGTERM");
  }
  const { code, signal } = await server.exited;
  assert.equal(code, 0, `zgres exited with ${code ?? signal}:\n${server.output}`);
  assert.deepEqual(readdirSync(databases).filter((name) => name.startsWith("run-")), [], "the embedded database's folder was left");
  const left = readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(work);
    } catch {
      return false;
    }
  });
  assert.deepEqual(left, [], "processes of the tool's run are still there");
});

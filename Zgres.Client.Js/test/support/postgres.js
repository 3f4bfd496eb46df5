// A throwaway PostgreSQL cluster for one test file, from the machine's own server programs: a fresh data folder under
// /tmp, a free loopback port, trust authentication on loopback only. As root it runs as the postgres user, since
// PostgreSQL refuses root and /root is closed to that user. Each test gets a database of its own, so the servers of
// different tests (their listeners, their retention) never see each other's events.
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";

const run = promisify(execFile);
const ROOT = "/tmp/zgres-js-tests";
const runningAsRoot = process.getuid?.() === 0;

export class PostgresCluster {
  #bin;
  #runDirectory;
  #databases = 0;

  constructor(bin, runDirectory, port) {
    this.#bin = bin;
    this.#runDirectory = runDirectory;
    this.port = port;
  }

  get #dataDirectory() {
    return join(this.#runDirectory, "data");
  }

  static async start() {
    const bin = locateServerPrograms();
    mkdirSync(ROOT, { recursive: true });
    chmodSync(ROOT, 0o755);
    await removeAbandoned(bin);
    const runDirectory = join(ROOT, `run-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
    mkdirSync(runDirectory);
    writeFileSync(join(runDirectory, "owner.pid"), String(process.pid));
    if (runningAsRoot) await run("chown", ["-R", "postgres:", runDirectory]);
    const cluster = new PostgresCluster(bin, runDirectory, await freePort());
    try {
      await asPostgres(join(bin, "initdb"), ["-D", cluster.#dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
      await cluster.#pgCtl(["start", "-l", join(runDirectory, "postgres.log"), "-t", "60",
        "-o", `-c listen_addresses=127.0.0.1 -c port=${cluster.port} -c unix_socket_directories='' -c fsync=off -c max_connections=200`]);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** A new, empty database: its connection string and a way to run SQL in it. */
  async createDatabase() {
    const name = `test_${process.pid}_${++this.#databases}`;
    await this.psql("postgres", [`CREATE DATABASE ${name}`]);
    return new TestDatabase(this, name);
  }

  /**
   * Runs each statement with psql as its own transaction and returns what the last one printed (unaligned, tuples
   * only). `applicationName` names the session in pg_stat_activity.
   */
  async psql(database, statements, { applicationName = "zgres-js-tests" } = {}) {
    const args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", database];
    for (const statement of statements) args.push("-c", statement);
    const { stdout } = await run(join(this.#bin, "psql"), args, { env: { ...process.env, PGAPPNAME: applicationName }, maxBuffer: 64 << 20 });
    return stdout.trim();
  }

  /** A psql session that runs what is written to it, as it comes (for a transaction kept open between steps). */
  session(database) {
    const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", database];
    const child = spawn(join(this.#bin, "psql"), args, { stdio: ["pipe", "ignore", "inherit"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    return {
      send: (statement) => child.stdin.write(`${statement};\n`),
      /** Ends the session; resolves with psql's exit code. */
      end: () => {
        child.stdin.end();
        return exited;
      },
    };
  }

  async stop() {
    if (existsSync(join(this.#dataDirectory, "postmaster.pid"))) await this.#pgCtl(["stop", "-m", "fast", "-t", "60"]);
    rmSync(this.#runDirectory, { recursive: true, force: true });
  }

  #pgCtl(args) {
    return asPostgres(join(this.#bin, "pg_ctl"), [args[0], "-D", this.#dataDirectory, "-w", ...args.slice(1)]);
  }
}

export class TestDatabase {
  #cluster;

  constructor(cluster, name) {
    this.#cluster = cluster;
    this.name = name;
    this.connectionString = `Host=127.0.0.1;Port=${cluster.port};Username=postgres;Database=${name}`;
  }

  /** Each statement is its own transaction (psql's autocommit); returns the last one's output. */
  sql(...statements) {
    return this.#cluster.psql(this.name, statements);
  }

  /** A session of its own that runs each statement sent to it as it comes: `send(sql)`, then `end()`. */
  session() {
    return this.#cluster.session(this.name);
  }

  /** The same, in a session named `applicationName` (to spare it from pg_terminate_backend). */
  sqlAs(applicationName, ...statements) {
    return this.#cluster.psql(this.name, statements, { applicationName });
  }
}

function asPostgres(program, args) {
  return runningAsRoot ? run("runuser", ["-u", "postgres", "--", program, ...args]) : run(program, args);
}

/** The newest /usr/lib/postgresql/N/bin, else the folder on PATH that holds pg_ctl. */
function locateServerPrograms() {
  const versioned = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)).map((version) => `/usr/lib/postgresql/${version}/bin`)
    : [];
  const onPath = (process.env.PATH ?? "").split(":").filter(Boolean);
  const bin = [...versioned, ...onPath].find((folder) => ["initdb", "pg_ctl", "postgres", "psql"].every((p) => existsSync(join(folder, p))));
  if (!bin) throw new Error("The tests need PostgreSQL's server programs (initdb, pg_ctl, postgres, psql): apt-get install postgresql");
  return bin;
}

/** Stops and removes clusters of test processes that were killed before they could clean up. */
async function removeAbandoned(bin) {
  for (const entry of readdirSync(ROOT).filter((name) => name.startsWith("run-"))) {
    const runDirectory = join(ROOT, entry);
    const ownerFile = join(runDirectory, "owner.pid");
    // No owner file yet: another test process is creating this one right now.
    if (!existsSync(ownerFile) || isAlive(Number(readFileSync(ownerFile, "utf8")))) continue;
    const data = join(runDirectory, "data");
    if (existsSync(join(data, "postmaster.pid"))) {
      await asPostgres(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => {});
    }
    rmSync(runDirectory, { recursive: true, force: true });
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM"; // alive, but another user's
  }
}

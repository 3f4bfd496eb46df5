// The real Zgres server, built by `dotnet build`, run as its own process as an operator runs it: stopped with SIGTERM
// or killed outright, and started again on the same port.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.js";

const builtServer = process.env.ZGRES_SERVER_DLL
  ?? fileURLToPath(new URL("../../../Zgres.Server/bin/Debug/net10.0/Zgres.Server.dll", import.meta.url));

export class ServerProcess {
  #child;
  #output = [];

  constructor(child, port) {
    this.#child = child;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  get output() {
    return this.#output.join("");
  }

  /**
   * Starts the server watching `tables` of `database` and waits until it says it is live. `settings` are further
   * configuration keys in environment form (Zgres__Retention__MaxEvents, ...).
   */
  static async start(database, tables, { port, settings = {} } = {}) {
    if (!existsSync(builtServer)) {
      throw new Error(`No built server at ${builtServer}: run 'dotnet build Zgres.Server' first (or set ZGRES_SERVER_DLL).`);
    }
    port ??= await freePort();
    const environment = {
      ...process.env,
      Urls: `http://127.0.0.1:${port}`,
      ConnectionStrings__Postgres: database.connectionString,
      Logging__Console__FormatterName: "simple",
      ...settings,
    };
    tables.forEach((table, index) => { environment[`Zgres__Tables__${index}__Name`] = table; });
    const child = spawn("dotnet", [builtServer], { env: environment, stdio: ["ignore", "pipe", "pipe"] });
    const server = new ServerProcess(child, port);
    const live = new Promise((resolve, reject) => {
      const read = (chunk) => {
        server.#output.push(chunk.toString());
        if (chunk.toString().includes("Zgres is live")) resolve();
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.once("exit", (code) => reject(new Error(`The server exited (${code}) before it was live:\n${server.output}`)));
    });
    await live;
    return server;
  }

  /** SIGTERM, as systemd or Ctrl+C would stop it; resolves when it has exited. */
  stop() {
    return this.#end("SIGTERM");
  }

  /** SIGKILL: no chance to close its connections cleanly. */
  kill() {
    return this.#end("SIGKILL");
  }

  #end(signal) {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.kill(signal);
    return exited;
  }
}

// For pages without a bundler. @microsoft/signalr's browser build (dist/browser/signalr.min.js, a classic script)
// defines the global `signalR`; an import map that points "@microsoft/signalr" at this file hands the package's
// modules the names they import from it:
//   <script src="/lib/signalr/signalr.min.js"></script>
//   <script type="importmap">{ "imports": { "@microsoft/signalr": "/lib/zgres-client/browser/signalr-global.js",
//                                           "@zgres/client": "/lib/zgres-client/index.js" } }</script>
if (!globalThis.signalR) {
  throw new Error("@zgres/client: load @microsoft/signalr's browser build (signalr.min.js) before this module.");
}

export const { HubConnectionBuilder, HubConnectionState, LogLevel } = globalThis.signalR;

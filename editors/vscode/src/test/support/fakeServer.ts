/**
 * A fake `lfcode serve` for the activation test: speaks LSP on stdio, acts out model loading
 * (work-done progress, then `lfcode/status`), and appends every message it receives to the file
 * named by $LFCODE_FAKE_LOG as JSON lines.
 */

import { appendFileSync } from "node:fs";
import {
  type MessageReader,
  ProgressType,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from "vscode-jsonrpc/node";

const logFile = process.env.LFCODE_FAKE_LOG ?? "/dev/null";
const log = (method: string, params: unknown): void => appendFileSync(logFile, JSON.stringify({ method, params }) + "\n");
const progress = new ProgressType<{ kind: string; title?: string }>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// `exit` is logged as soon as it is read, not when the connection's queue gets to it: the client
// closes the pipe right after sending it, and a closed connection drops what is still queued.
const stdin = new StreamMessageReader(process.stdin);
const reader: MessageReader = {
  onError: stdin.onError,
  onClose: stdin.onClose,
  onPartialMessage: stdin.onPartialMessage,
  listen: (callback) =>
    stdin.listen((message) => {
      if ((message as { method?: string }).method === "exit") {
        log("exit", null);
      }
      callback(message);
    }),
  dispose: () => stdin.dispose(),
};
const connection = createMessageConnection(reader, new StreamMessageWriter(process.stdout));

connection.onRequest("initialize", (params: unknown) => {
  // The command line the client built: the real `lfcode serve` exits with code 2 on an
  // argument it does not know, so the activation test checks them.
  log("argv", process.argv.slice(2));
  log("initialize", params);
  return {
    capabilities: {
      textDocumentSync: 1,
      inlineCompletionProvider: {},
      codeActionProvider: true,
      executeCommandProvider: {
        commands:
          process.env.LFCODE_FAKE_COMMANDS === "none" ? [] : ["lfcode.explain", "lfcode.generateTests", "lfcode.review"],
      },
    },
    serverInfo: { name: "fake-lfcode", version: "0" },
  };
});

connection.onNotification("initialized", async () => {
  log("initialized", {});
  await connection.sendRequest("window/workDoneProgress/create", { token: "load" });
  await connection.sendProgress(progress, "load", { kind: "begin", title: "Loading model…" });
  await sleep(150);
  await connection.sendProgress(progress, "load", { kind: "end" });
  await sleep(150);
  await connection.sendNotification("lfcode/status", { state: "error", message: "model file not found" });
  await sleep(150);
  await connection.sendNotification("lfcode/status", { state: "ready" });
  log("script-done", {});
});

connection.onRequest("textDocument/inlineCompletion", (params: unknown) => {
  log("textDocument/inlineCompletion", params);
  return { items: [{ insertText: "return a + b" }] };
});
connection.onRequest("workspace/executeCommand", (params: unknown) => {
  log("workspace/executeCommand", params);
  return { ok: true };
});
connection.onNotification("workspace/didChangeConfiguration", (params: unknown) => log("workspace/didChangeConfiguration", params));
connection.onRequest("shutdown", () => {
  log("shutdown", null);
  return null;
});
connection.onNotification("exit", () => process.exit(0));
connection.onNotification((method: string, params: unknown) => log(method, params));
connection.listen();

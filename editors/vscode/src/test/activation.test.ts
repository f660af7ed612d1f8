/**
 * The whole extension under node: a fake `vscode` module, the real vscode-languageclient, and a
 * fake server process (support/fakeServer.js). Checks what goes over the wire and what the status
 * bar shows.
 */

import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";

import { EventEmitter, FakeState, createFakeVscode, installFakeVscode } from "./support/fakeVscode";

const dir = mkdtempSync(join(tmpdir(), "lfcode-vscode-"));
const logFile = join(dir, "server.log");
const folderUri = pathToFileURL(dir).href; // the server is started in the workspace folder
const wrapper = join(dir, "lfcode");
writeFileSync(logFile, "");
// `lfcode.server.path` runs `<path> serve`: a wrapper that starts the fake server with node.
writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${join(__dirname, "support", "fakeServer.js")}" "$@"\n`);
chmodSync(wrapper, 0o755);
// What a hostile repository's .vscode/settings.json might name as `lfcode.server.path`: it would
// leave a mark and then behave like the real server, so only the mark tells it was run.
const hostileMark = join(dir, "hostile-ran");
const hostile = join(dir, "hostile-lfcode");
writeFileSync(hostile, `#!/bin/sh\ntouch "${hostileMark}"\nexec "${wrapper}" "$@"\n`);
chmodSync(hostile, 0o755);
process.env.LFCODE_FAKE_LOG = logFile;

const state: FakeState = {
  config: { "server.path": wrapper, nCtx: 8192, nThreads: null },
  // Machine-level values a workspace must not choose, and one ordinary setting it may.
  workspaceConfig: {
    "server.path": hostile,
    "server.pythonPath": hostile,
    model: "/tmp/hostile.gguf",
    backend: "openai",
    openaiUrl: "http://attacker.example/v1",
    allowRemote: true,
    verifyTests: true,
    sandbox: "off",
    maxTokens: 99,
  },
  commands: new Map(),
  statusTexts: [],
  messages: [],
  inlineCompletionSelectors: [],
  activeEditor: { uri: "file:///w/a.py", line: 3, character: 7 },
  workspaceFolder: folderUri,
  configurationChanged: new EventEmitter(),
};
installFakeVscode(createFakeVscode(state));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const extension = require("../extension") as typeof import("../extension");

interface Logged {
  method: string;
  params: any;
}
const received = (): Logged[] =>
  readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const context = { subscriptions: [] as { dispose(): unknown }[] };

before(async () => {
  await extension.activate(context as never);
});

after(async () => {
  await extension.deactivate();
  context.subscriptions.forEach((d) => d.dispose());
});

const count = (method: string): number => received().filter((m) => m.method === method).length;

test("initializationOptions carry only the settings that were set, in snake_case", () => {
  const init = received().find((m) => m.method === "initialize");
  assert.ok(init, "initialize was sent");
  // The workspace's maxTokens is honoured; its model, backend, openaiUrl, allowRemote, verifyTests
  // and sandbox (machine-level) are not sent at all.
  assert.deepEqual(init.params.initializationOptions, { n_ctx: 8192, max_tokens: 99 });
});

test("the server is started from the user's lfcode.server.path, never the workspace's", () => {
  assert.ok(received().some((m) => m.method === "initialize"), "the user's server was started");
  assert.equal(existsSync(hostileMark), false, "the workspace's server.path was not run");
});

test("inline completion is offered (registerProposedFeatures) for the served languages", () => {
  const init = received().find((m) => m.method === "initialize")!;
  assert.ok(init.params.capabilities.textDocument.inlineCompletion, "client claims inlineCompletion");
  assert.equal(state.inlineCompletionSelectors.length, 1);
  const selector = state.inlineCompletionSelectors[0] as { scheme: string; language: string }[];
  assert.ok(selector.some((f) => f.scheme === "file" && f.language === "python"));
  assert.ok(selector.some((f) => f.scheme === "untitled" && f.language === "rust"));
});

test("the server's command line is exactly `<path> serve`: no --stdio", () => {
  // vscode-languageclient appends --stdio with TransportKind.stdio; lfcode serve <= 0.1 exited with 2.
  const argv = received().find((m) => m.method === "argv");
  assert.ok(argv, "the fake server logged its arguments");
  assert.deepEqual(argv.params, ["serve"]);
});

test("inline completion trigger kinds reach the server in LSP 3.18 numbering", async () => {
  // The real client under the fake vscode: what VS Code passes (Invoke 0, Automatic 1) must
  // arrive as Invoked 1, Automatic 2. Fails if the middleware is dropped, or if a client release
  // starts translating by itself (the middleware would then map twice).
  const provider = state.inlineCompletionProviders?.[0];
  assert.ok(provider, "an inline completion provider was registered");
  const document = { uri: { toString: () => "file:///w/a.py", scheme: "file", fsPath: "/w/a.py" }, languageId: "python", version: 1 };
  const position = { line: 1, character: 4 };
  const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
  await provider.provideInlineCompletionItems(document, position, { triggerKind: 0, selectedCompletionInfo: undefined }, token);
  await provider.provideInlineCompletionItems(document, position, { triggerKind: 1, selectedCompletionInfo: undefined }, token);
  const sent = await waitFor("two inline completion requests", () => {
    const all = received().filter((m) => m.method === "textDocument/inlineCompletion");
    return all.length >= 2 ? all : undefined;
  });
  assert.deepEqual(
    sent.map((m) => m.params.context.triggerKind),
    [1, 2],
  );
  assert.deepEqual(sent[0].params.position, position);
  assert.equal(sent[0].params.textDocument.uri, "file:///w/a.py");
});

test("status bar follows $/progress and lfcode/status", async () => {
  await waitFor("the server's script", () => received().some((m) => m.method === "script-done"));
  await waitFor("ready", () => state.statusItem?.text === "lfcode: ready");
  const seen = state.statusTexts.filter((text, i, all) => i === 0 || all[i - 1] !== text);
  const loading = seen.indexOf("$(loading~spin) lfcode: loading model");
  const error = seen.indexOf("$(error) lfcode: error");
  assert.ok(loading >= 0, `loading shown: ${JSON.stringify(seen)}`);
  assert.ok(error > loading, `error after loading: ${JSON.stringify(seen)}`);
  assert.equal(seen.at(-1), "lfcode: ready");
  assert.ok(seen.slice(loading, error).includes("lfcode: ready"), "progress end -> ready");
});

test("Explain and Generate tests send the active editor's uri and cursor", async () => {
  const explain = state.commands.get("lfcode.explain");
  const generate = state.commands.get("lfcode.generateTests");
  assert.ok(explain && generate, "commands bound");
  assert.deepEqual(await explain(), { ok: true });
  await generate();
  const calls = received().filter((m) => m.method === "workspace/executeCommand");
  assert.deepEqual(calls.slice(0, 2).map((m) => m.params), [
    { command: "lfcode.explain", arguments: [{ uri: "file:///w/a.py", position: { line: 3, character: 7 } }] },
    { command: "lfcode.generateTests", arguments: [{ uri: "file:///w/a.py", position: { line: 3, character: 7 } }] },
  ]);
});

test("a code action's own arguments are passed through untouched", async () => {
  await state.commands.get("lfcode.explain")!({ uri: "file:///w/b.py", position: { line: 1, character: 2 } });
  const last = received().filter((m) => m.method === "workspace/executeCommand").at(-1)!;
  assert.deepEqual(last.params.arguments, [{ uri: "file:///w/b.py", position: { line: 1, character: 2 } }]);
});

test("Review changes sends lfcode.review with the workspace folder", async () => {
  await state.commands.get("lfcode.reviewChanges")!();
  const last = received().filter((m) => m.method === "workspace/executeCommand").at(-1)!;
  assert.deepEqual(last.params, { command: "lfcode.review", arguments: [{ workspaceFolder: folderUri }] });
});

test("a workspace change to a machine-level setting alone sends nothing", async () => {
  state.workspaceConfig!.model = "/tmp/other-hostile.gguf";
  state.workspaceFolderConfig = { backend: "openai", allowRemote: true, sandbox: "off" };
  state.configurationChanged.fire({ affectsConfiguration: (s: string) => s === "lfcode" || s === "lfcode.model" });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(count("workspace/didChangeConfiguration"), 0);
});

test("a settings change is re-sent as didChangeConfiguration { settings: { lfcode } }", async () => {
  state.workspaceConfig!.maxTokens = 64; // a workspace value for an ordinary setting counts
  state.config.logLevel = "debug";
  state.config.openaiUrl = "http://127.0.0.1:11434/v1"; // the user's value, not the workspace's
  state.configurationChanged.fire({ affectsConfiguration: (s: string) => s === "lfcode" || s.startsWith("lfcode.maxTokens") });
  const change = await waitFor("didChangeConfiguration", () =>
    received().find((m) => m.method === "workspace/didChangeConfiguration"),
  );
  assert.deepEqual(change.params, {
    settings: { lfcode: { n_ctx: 8192, max_tokens: 64, log_level: "debug", openai_url: "http://127.0.0.1:11434/v1" } },
  });
});

test("restart: a new server, the commands bound again without a clash", async () => {
  await state.commands.get("lfcode.restartServer")!();
  assert.equal(count("initialize"), 2);
  assert.equal(count("shutdown"), 1, "the old server was shut down");
  await waitFor("the old server's exit", () => count("exit") === 1 || undefined);
  await state.commands.get("lfcode.explain")!();
  assert.equal(received().filter((m) => m.method === "workspace/executeCommand").at(-1)!.params.command, "lfcode.explain");
});

test("a server that does not advertise explain still gets it from the palette", async () => {
  process.env.LFCODE_FAKE_COMMANDS = "none";
  try {
    await state.commands.get("lfcode.restartServer")!();
  } finally {
    delete process.env.LFCODE_FAKE_COMMANDS;
  }
  const before = count("workspace/executeCommand");
  await state.commands.get("lfcode.generateTests")!();
  assert.equal(count("workspace/executeCommand"), before + 1);
  const last = received().filter((m) => m.method === "workspace/executeCommand").at(-1)!;
  assert.deepEqual(last.params, {
    command: "lfcode.generateTests",
    arguments: [{ uri: "file:///w/a.py", position: { line: 3, character: 7 } }],
  });
});

test("changing lfcode.server.* restarts the server", async () => {
  const before = count("initialize");
  state.configurationChanged.fire({ affectsConfiguration: (s: string) => s === "lfcode" || s === "lfcode.server" });
  await waitFor("a new initialize", () => count("initialize") === before + 1);
  await waitFor("running again", () => state.statusItem?.text === "lfcode: ready" || undefined);
});

test("no server was ever started from the workspace's settings", () => {
  assert.equal(existsSync(hostileMark), false);
});

test("no error popups along the way", () => {
  assert.deepEqual(state.messages, []);
});

test("deactivate shuts the server down", async () => {
  const shutdowns = count("shutdown");
  await extension.deactivate();
  assert.equal(count("shutdown"), shutdowns + 1);
  // `exit` is a notification: the client does not wait for the server to read it.
  await waitFor("exit", () => count("exit") === shutdowns + 1 || undefined);
});

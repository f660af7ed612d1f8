/**
 * Finding the server without the editor's PATH: the whole extension under node with the fake
 * `vscode`. First the Python extension's selected interpreter (which has lfcode), then nothing at
 * all (one notification whose button opens the setting), in an untrusted workspace, where the
 * Python extension's choice (maybe the repository's own .venv) is not even asked for.
 */

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";

import { EventEmitter, FakeState, Uri, createFakeVscode, installFakeVscode } from "./support/fakeVscode";

const dir = mkdtempSync(join(tmpdir(), "lfcode-discovery-"));
const logFile = join(dir, "server.log");
writeFileSync(logFile, "");
// A Python with lfcode: `-c ...` (the import probe) succeeds, `-m lfcode serve` runs the fake server.
const python = join(dir, "python");
writeFileSync(
  python,
  `#!/bin/sh\nif [ "$1" = "-c" ]; then exit 0; fi\nexec "${process.execPath}" "${join(__dirname, "support", "fakeServer.js")}" "$@"\n`,
);
chmodSync(python, 0o755);
const emptyBin = join(dir, "empty-bin");
mkdirSync(emptyBin);
process.env.LFCODE_FAKE_LOG = logFile;
process.env.PATH = emptyBin; // no lfcode on PATH
process.env.HOME = dir; // and none in ~/.local/bin

const pythonCalls: string[] = [];
const pythonExtension = {
  isActive: false,
  exports: undefined,
  async activate() {
    pythonCalls.push("activate");
    return {
      environments: {
        getActiveEnvironmentPath: () => (pythonCalls.push("active"), { id: "venv", path: join(dir, "venv") }),
        resolveEnvironment: async () => ({ executable: { uri: Uri.file(python) } }),
      },
    };
  },
};

const state: FakeState = {
  config: {},
  commands: new Map(),
  statusTexts: [],
  messages: [],
  inlineCompletionSelectors: [],
  workspaceFolder: pathToFileURL(dir).href,
  configurationChanged: new EventEmitter(),
  extensions: { "ms-python.python": pythonExtension },
};
installFakeVscode(createFakeVscode(state));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const extension = require("../extension") as typeof import("../extension");

const received = (): { method: string; params: any }[] =>
  readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

let context = { subscriptions: [] as { dispose(): unknown }[] };
async function stop(): Promise<void> {
  await extension.deactivate();
  context.subscriptions.forEach((d) => d.dispose());
  context = { subscriptions: [] };
}
after(stop);

test("no setting: the Python extension's interpreter runs `-m lfcode serve`", async () => {
  await extension.activate(context as never);
  assert.deepEqual(received().find((m) => m.method === "argv")?.params, ["-m", "lfcode", "serve"]);
  assert.deepEqual(pythonCalls, ["activate", "active"]);
  assert.deepEqual(state.messages, []);
  await stop();
});

test("nothing found: one notification, whose button opens lfcode.server.path", async () => {
  state.untrusted = true; // the Python extension must not be asked
  pythonCalls.length = 0;
  const before = received().filter((m) => m.method === "initialize").length;
  state.chooseButton = (_message, buttons) => buttons[0];
  await extension.activate(context as never);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(pythonCalls, []);
  assert.equal(received().filter((m) => m.method === "initialize").length, before, "no server started");
  assert.equal(state.messages.length, 1, JSON.stringify(state.messages));
  assert.match(state.messages[0], /^error: lfcode: the lfcode server was not found.*lfcode\.server\.path/);
  assert.deepEqual(state.executedCommands, [["workbench.action.openSettings", "lfcode.server.path"]]);
  assert.match(state.statusItem?.text ?? "", /error/);
  // A restart that finds nothing again does not show it a second time.
  await state.commands.get("lfcode.restartServer")!();
  assert.equal(state.messages.length, 1);
});

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { test } from "node:test";

import {
  DiscoveryProbes,
  NOT_FOUND_MESSAGE,
  describeCommand,
  discoverServerCommand,
  findOnPath,
  serverExecutable,
  expandHome,
  resolveServerCommand,
  serverCommandSettings,
  startFailureMessage,
} from "../serverCommand";
import { InspectedSetting } from "../settings";

test("default is `lfcode serve` from PATH", () => {
  assert.deepEqual(resolveServerCommand({}), { command: "lfcode", args: ["serve"] });
  assert.deepEqual(resolveServerCommand({ path: null, pythonPath: null }), { command: "lfcode", args: ["serve"] });
  assert.deepEqual(resolveServerCommand({ path: "  ", pythonPath: "" }), { command: "lfcode", args: ["serve"] });
});

test("server.path runs `<path> serve`", () => {
  assert.deepEqual(resolveServerCommand({ path: "/opt/lfcode/bin/lfcode" }), {
    command: "/opt/lfcode/bin/lfcode",
    args: ["serve"],
  });
});

test("server.pythonPath runs `<python> -m lfcode serve`", () => {
  assert.deepEqual(resolveServerCommand({ pythonPath: " /venv/bin/python " }), {
    command: "/venv/bin/python",
    args: ["-m", "lfcode", "serve"],
  });
});

test("server.path wins over server.pythonPath", () => {
  assert.deepEqual(resolveServerCommand({ path: "/x/lfcode", pythonPath: "/venv/bin/python" }), {
    command: "/x/lfcode",
    args: ["serve"],
  });
});

test("a leading ~ is the home directory", () => {
  assert.equal(expandHome("~/venv/bin/python", "/home/ada"), "/home/ada/venv/bin/python");
  assert.equal(expandHome("~", "/home/ada/"), "/home/ada/");
  assert.equal(expandHome("~other/x", "/home/ada"), "~other/x");
  assert.equal(expandHome("~/x", undefined), "~/x");
  assert.deepEqual(resolveServerCommand({ pythonPath: "~/.venv/bin/python" }, "/home/ada/"), {
    command: "/home/ada/.venv/bin/python",
    args: ["-m", "lfcode", "serve"],
  });
});

test("commands are described as a shell would take them", () => {
  assert.equal(describeCommand({ command: "/a b/python", args: ["-m", "lfcode", "serve"] }), "'/a b/python' -m lfcode serve");
  assert.equal(describeCommand({ command: "lfcode", args: ["serve"] }), "lfcode serve");
  const message = startFailureMessage({ command: "lfcode", args: ["serve"] }, "spawn lfcode ENOENT");
  assert.match(message, /`lfcode serve`: spawn lfcode ENOENT/);
  assert.match(message, /lfcode\.server\.path/);
});

test("server.path and server.pythonPath come from the user's settings only", () => {
  const layers = (user: Record<string, unknown>, workspace: Record<string, unknown>) => (key: string): InspectedSetting => ({
    defaultValue: null,
    globalValue: user[key],
    workspaceValue: workspace[key],
    workspaceFolderValue: workspace[key],
  });
  const hostile = { "server.path": "/tmp/hostile/lfcode", "server.pythonPath": "/tmp/hostile/python" };
  assert.deepEqual(serverCommandSettings(layers({}, hostile)), { path: null, pythonPath: null });
  assert.deepEqual(resolveServerCommand(serverCommandSettings(layers({}, hostile))), { command: "lfcode", args: ["serve"] });
  assert.deepEqual(
    resolveServerCommand(serverCommandSettings(layers({ "server.pythonPath": "/venv/bin/python" }, hostile))),
    { command: "/venv/bin/python", args: ["-m", "lfcode", "serve"] },
  );
  assert.deepEqual(serverCommandSettings(layers({ "server.path": 42 }, {})), { path: null, pythonPath: null });
  assert.deepEqual(serverCommandSettings(() => undefined), { path: null, pythonPath: null });
});

test("the Executable has no transport, so the client appends no --stdio", () => {
  const executable = serverExecutable({ command: "/x/lfcode", args: ["serve"] }, "/w");
  assert.equal(executable.transport, undefined);
  assert.deepEqual(executable.args, ["serve"]);
  assert.deepEqual(executable.options, { cwd: "/w" });
  assert.equal(serverExecutable({ command: "lfcode", args: ["serve"] }).options, undefined);
});

function probes(over: Partial<DiscoveryProbes> & { calls?: string[] } = {}): DiscoveryProbes {
  const calls = over.calls ?? [];
  return {
    pythonInterpreter: over.pythonInterpreter ?? (async () => (calls.push("python"), undefined)),
    hasLfcode: over.hasLfcode ?? (async (python) => (calls.push(`has:${python}`), false)),
    findExecutable: over.findExecutable ?? ((name) => (calls.push(`find:${name}`), undefined)),
  };
}

test("discovery: the settings first, without asking anyone else", async () => {
  const calls: string[] = [];
  const found = await discoverServerCommand({ path: "/opt/lfcode" }, "/home/ada", probes({ calls }));
  assert.deepEqual(found, { cmd: { command: "/opt/lfcode", args: ["serve"] }, source: "setting", detail: "/opt/lfcode" });
  const viaPython = await discoverServerCommand({ pythonPath: "~/v/bin/python" }, "/home/ada", probes({ calls }));
  assert.deepEqual(viaPython?.cmd, { command: "/home/ada/v/bin/python", args: ["-m", "lfcode", "serve"] });
  assert.deepEqual(calls, []);
});

test("discovery: then the Python extension's interpreter when it has lfcode", async () => {
  const found = await discoverServerCommand({}, "/home/ada", probes({
    pythonInterpreter: async () => "/proj/.venv/bin/python",
    hasLfcode: async (python) => python === "/proj/.venv/bin/python",
    findExecutable: () => "/usr/bin/lfcode",
  }));
  assert.deepEqual(found, {
    cmd: { command: "/proj/.venv/bin/python", args: ["-m", "lfcode", "serve"] },
    source: "python-extension",
    detail: "/proj/.venv/bin/python",
  });
});

test("discovery: then PATH, when the interpreter lacks lfcode or the Python extension fails", async () => {
  const onPath = { cmd: { command: "/usr/local/bin/lfcode", args: ["serve"] }, source: "path", detail: "/usr/local/bin/lfcode" };
  const withoutLfcode = probes({ pythonInterpreter: async () => "/usr/bin/python3", hasLfcode: async () => false, findExecutable: () => "/usr/local/bin/lfcode" });
  assert.deepEqual(await discoverServerCommand({}, undefined, withoutLfcode), onPath);
  const failing = probes({ pythonInterpreter: async () => { throw new Error("boom"); }, findExecutable: () => "/usr/local/bin/lfcode" });
  assert.deepEqual(await discoverServerCommand({ path: " " }, undefined, failing), onPath);
});

test("discovery: nothing found is undefined (the extension then shows one notification)", async () => {
  const calls: string[] = [];
  assert.equal(await discoverServerCommand({}, undefined, probes({ calls })), undefined);
  assert.deepEqual(calls, ["python", "find:lfcode"]);
  assert.match(NOT_FOUND_MESSAGE, /lfcode\.server\.path/);
});

test("findOnPath: executable files only, absolute folders only, extra folders last", () => {
  const dir = mkdtempSync(join(tmpdir(), "lfcode-path-"));
  const [a, b, c] = ["a", "b", "c"].map((n) => join(dir, n));
  [a, b, c].forEach((d) => mkdirSync(d));
  writeFileSync(join(a, "lfcode"), "not executable");
  mkdirSync(join(b, "lfcode")); // a folder, not a program
  writeFileSync(join(c, "lfcode"), "#!/bin/sh\n");
  chmodSync(join(c, "lfcode"), 0o755);
  assert.equal(findOnPath("lfcode", [a, b, "relative", c].join(delimiter)), join(c, "lfcode"));
  assert.equal(findOnPath("lfcode", [a, b].join(delimiter)), undefined);
  assert.equal(findOnPath("lfcode", undefined, [c]), join(c, "lfcode"));
  assert.equal(findOnPath("lfcode", "c", []), undefined);
});

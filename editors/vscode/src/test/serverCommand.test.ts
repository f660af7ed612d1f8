import assert from "node:assert/strict";
import { test } from "node:test";

import {
  describeCommand,
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

import assert from "node:assert/strict";
import { test } from "node:test";

import { CURSOR_COMMANDS, SERVER_COMMANDS, advertisedCommands, defaultArguments, progressTitle } from "../commands";

const cursor = { uri: "file:///w/a.py", line: 3, character: 7 };

test("explain and generate tests send [{ uri, position }]", () => {
  for (const command of ["lfcode.explain", "lfcode.generateTests"]) {
    assert.deepEqual(defaultArguments(command, { cursor }), {
      ok: true,
      args: [{ uri: "file:///w/a.py", position: { line: 3, character: 7 } }],
    });
  }
});

test("explain without an editor is refused with a reason", () => {
  const result = defaultArguments("lfcode.explain", {});
  assert.equal(result?.ok, false);
});

test("review sends [{ workspaceFolder }]", () => {
  assert.deepEqual(defaultArguments("lfcode.review", { workspaceFolder: "file:///w" }), {
    ok: true,
    args: [{ workspaceFolder: "file:///w" }],
  });
  assert.equal(defaultArguments("lfcode.review", { cursor })?.ok, false);
});

test("other server commands get no injected arguments", () => {
  assert.equal(defaultArguments("lfcode.somethingElse", { cursor, workspaceFolder: "file:///w" }), undefined);
});

test("VS Code commands map onto the server's command names", () => {
  assert.deepEqual(SERVER_COMMANDS, {
    "lfcode.explain": "lfcode.explain",
    "lfcode.generateTests": "lfcode.generateTests",
    "lfcode.reviewChanges": "lfcode.review",
  });
  assert.deepEqual([...CURSOR_COMMANDS], ["lfcode.explain", "lfcode.generateTests"]);
});

test("advertised commands are read from the server capabilities", () => {
  assert.deepEqual(
    [...advertisedCommands({ executeCommandProvider: { commands: ["lfcode.explain", 3, "lfcode.review"] } })],
    ["lfcode.explain", "lfcode.review"],
  );
  assert.equal(advertisedCommands(undefined).size, 0);
  assert.equal(advertisedCommands({}).size, 0);
});

test("progress titles", () => {
  assert.match(progressTitle("lfcode.explain"), /explaining/);
  assert.match(progressTitle("lfcode.review"), /reviewing/);
  assert.match(progressTitle("x"), /working/);
});

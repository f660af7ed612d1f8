import assert from "node:assert/strict";
import { test } from "node:test";

import { LSP_AUTOMATIC, LSP_INVOKED, VSCODE_AUTOMATIC, VSCODE_INVOKE, lspInlineTriggerKind } from "../inlineCompletion";

test("VS Code's Invoke (0) is LSP 3.18's Invoked (1), Automatic (1) is Automatic (2)", () => {
  assert.equal(lspInlineTriggerKind(VSCODE_INVOKE), LSP_INVOKED);
  assert.equal(lspInlineTriggerKind(VSCODE_AUTOMATIC), LSP_AUTOMATIC);
  assert.deepEqual([LSP_INVOKED, LSP_AUTOMATIC], [1, 2]);
});

test("an unknown kind is sent as Invoked, never as a number the server does not know", () => {
  for (const kind of [undefined, null, 2, 7, -1, "1"]) {
    assert.equal(lspInlineTriggerKind(kind), LSP_INVOKED, String(kind));
  }
});

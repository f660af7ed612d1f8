import assert from "node:assert/strict";
import { test } from "node:test";

import { CURSOR_DEBOUNCE_MS, CURSOR_NOTIFICATION, Debouncer, cursorParams } from "../cursor";

function manualClock() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    schedule: (run: () => void) => {
      pending.set(++next, run);
      return next;
    },
    cancel: (timer: unknown) => {
      pending.delete(timer as number);
    },
    fire: () => {
      const runs = [...pending.values()];
      pending.clear();
      runs.forEach((run) => run());
    },
    pending,
  };
}

test("the notification carries LSP TextDocumentPositionParams", () => {
  assert.equal(CURSOR_NOTIFICATION, "lfcode/cursor");
  assert.deepEqual(cursorParams("file:///a.py", 3, 7), { textDocument: { uri: "file:///a.py" }, position: { line: 3, character: 7 } });
  assert.ok(CURSOR_DEBOUNCE_MS >= 100 && CURSOR_DEBOUNCE_MS <= 1000);
});

test("only the last cursor of a burst of moves is sent, once", () => {
  const clock = manualClock();
  const sent: number[] = [];
  const debouncer = new Debouncer<number>(CURSOR_DEBOUNCE_MS, (v) => sent.push(v), clock.schedule, clock.cancel);
  debouncer.push(1);
  debouncer.push(2);
  debouncer.push(3);
  assert.equal(clock.pending.size, 1);
  clock.fire();
  assert.deepEqual(sent, [3]);
  debouncer.push(4);
  debouncer.dispose();
  clock.fire();
  assert.deepEqual(sent, [3]);
});

import assert from "node:assert/strict";
import { test } from "node:test";

import { StatusTracker, isModelLoadingTitle, parseStatusParams, statusView } from "../status";

test("state texts", () => {
  assert.equal(statusView({ state: "loading" }).text, "$(loading~spin) lfcode: loading model");
  assert.equal(statusView({ state: "ready" }).text, "lfcode: ready");
  assert.equal(statusView({ state: "error", message: "boom" }).text, "$(error) lfcode: error");
  assert.equal(statusView({ state: "starting" }).text, "$(loading~spin) lfcode: starting");
  assert.equal(statusView({ state: "stopped" }).text, "$(circle-slash) lfcode: stopped");
});

test("the error tooltip carries the message", () => {
  const view = statusView({ state: "error", message: "model file not found: /m.gguf" });
  assert.match(view.tooltip, /model file not found: \/m\.gguf/);
  assert.ok(view.isError);
  assert.ok(!statusView({ state: "ready" }).isError);
  assert.ok(!statusView({ state: "loading" }).isError);
  assert.ok(statusView({ state: "stopped" }).isError);
});

test("lfcode/status params are validated", () => {
  assert.deepEqual(parseStatusParams({ state: "ready" }), { state: "ready" });
  assert.deepEqual(parseStatusParams({ state: "error", message: "x" }), { state: "error", message: "x" });
  assert.deepEqual(parseStatusParams({ state: "loading", message: 3 }), { state: "loading" });
  assert.equal(parseStatusParams({ state: "starting" }), undefined);
  assert.equal(parseStatusParams({ state: "bogus" }), undefined);
  assert.equal(parseStatusParams(null), undefined);
  assert.equal(parseStatusParams("ready"), undefined);
});

test("model-loading progress titles", () => {
  assert.ok(isModelLoadingTitle("Loading model…"));
  assert.ok(isModelLoadingTitle("Loading model"));
  assert.ok(isModelLoadingTitle("lfcode: loading the model qwen"));
  assert.ok(!isModelLoadingTitle("Indexing repository"));
  assert.ok(!isModelLoadingTitle(undefined));
});

test("client life cycle: starting, then ready once the server runs", () => {
  const t = new StatusTracker();
  assert.equal(t.snapshot.state, "starting");
  assert.ok(t.clientRunning());
  assert.equal(t.snapshot.state, "ready");
  assert.ok(t.clientStopped());
  assert.equal(t.snapshot.state, "stopped");
  assert.ok(t.clientStarting());
  assert.equal(t.snapshot.state, "starting");
});

test("$/progress 'Loading model…' begin/end drives loading → ready", () => {
  const t = new StatusTracker();
  t.clientRunning();
  assert.ok(t.applyProgress("tok", { kind: "begin", title: "Loading model…" }));
  assert.equal(t.snapshot.state, "loading");
  assert.ok(t.applyProgress("tok", { kind: "report", message: "50%" }));
  assert.deepEqual(t.snapshot, { state: "loading", message: "50%" });
  assert.ok(t.applyProgress("tok", { kind: "end" }));
  assert.deepEqual(t.snapshot, { state: "ready" });
});

test("other progress is ignored", () => {
  const t = new StatusTracker();
  t.clientRunning();
  assert.ok(!t.applyProgress(7, { kind: "begin", title: "Reviewing changes" }));
  assert.ok(!t.applyProgress(7, { kind: "end" }));
  assert.equal(t.snapshot.state, "ready");
  assert.ok(!t.applyProgress(8, null));
});

test("progress during start is not overridden by the client reaching Running", () => {
  const t = new StatusTracker();
  t.applyProgress("tok", { kind: "begin", title: "Loading model…" });
  assert.ok(!t.clientRunning());
  assert.equal(t.snapshot.state, "loading");
});

test("an error reported while loading survives the progress end", () => {
  const t = new StatusTracker();
  t.clientRunning();
  t.applyProgress("tok", { kind: "begin", title: "Loading model…" });
  assert.ok(t.applyNotification({ state: "error", message: "out of memory" }));
  assert.ok(!t.applyProgress("tok", { kind: "end" }));
  assert.deepEqual(t.snapshot, { state: "error", message: "out of memory" });
});

test("lfcode/status notifications set the state directly", () => {
  const t = new StatusTracker();
  assert.ok(t.applyNotification({ state: "loading" }));
  assert.equal(statusView(t.snapshot).text, "$(loading~spin) lfcode: loading model");
  assert.ok(t.applyNotification({ state: "ready" }));
  assert.equal(statusView(t.snapshot).text, "lfcode: ready");
  assert.ok(!t.applyNotification({ state: "ready" }), "no change, no re-render");
  assert.ok(!t.applyNotification({ state: "nonsense" }));
  assert.equal(t.snapshot.state, "ready");
});

test("a stop keeps the error that explains it; a failure to start is an error", () => {
  const t = new StatusTracker();
  t.failed("spawn lfcode ENOENT");
  assert.ok(!t.clientStopped());
  assert.deepEqual(t.snapshot, { state: "error", message: "spawn lfcode ENOENT" });
  assert.ok(t.clientStarting());
  assert.equal(t.snapshot.state, "starting");
});

test("two overlapping loads end in ready only after both ended", () => {
  const t = new StatusTracker();
  t.clientRunning();
  t.applyProgress(1, { kind: "begin", title: "Loading model…" });
  t.applyProgress(2, { kind: "begin", title: "Loading model…" });
  t.applyProgress(1, { kind: "end" });
  assert.equal(t.snapshot.state, "loading");
  t.applyProgress(2, { kind: "end" });
  assert.equal(t.snapshot.state, "ready");
});

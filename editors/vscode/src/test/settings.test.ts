import assert from "node:assert/strict";
import { test } from "node:test";

import { SETTINGS, didChangeConfigurationParams, sameSettings, toServerSettings, toSnakeCase } from "../settings";

const SERVER_KEYS = [
  "model",
  "n_ctx",
  "n_threads",
  "max_tokens",
  "temperature",
  "context_tokens",
  "debounce_ms",
  "log_level",
  "backend",
  "openai_url",
  "allow_remote",
  "verify_tests",
];

test("every server key has exactly one VS Code setting", () => {
  assert.deepEqual(SETTINGS.map((s) => s.serverKey).sort(), [...SERVER_KEYS].sort());
});

test("server keys are the snake_case of the VS Code keys", () => {
  for (const spec of SETTINGS) {
    assert.equal(toSnakeCase(spec.vscodeKey), spec.serverKey, spec.vscodeKey);
  }
  assert.equal(toSnakeCase("openaiUrl"), "openai_url");
  assert.equal(toSnakeCase("nCtx"), "n_ctx");
});

test("unset settings are left out, so the server keeps its defaults", () => {
  assert.deepEqual(toServerSettings(() => undefined), {});
});

test("null and empty values are left out", () => {
  const values: Record<string, unknown> = { nThreads: null, model: "  ", openaiUrl: "" };
  assert.deepEqual(toServerSettings((k) => values[k]), {});
});

test("set values are sent under server keys, with their types", () => {
  const values: Record<string, unknown> = {
    model: " /models/qwen.gguf ",
    nCtx: 8192,
    nThreads: 4,
    maxTokens: 64,
    temperature: 0.2,
    contextTokens: 2048,
    debounceMs: 0,
    logLevel: "debug",
    backend: "openai",
    openaiUrl: "http://127.0.0.1:11434/v1",
    allowRemote: false,
    verifyTests: false,
  };
  assert.deepEqual(toServerSettings((k) => values[k]), {
    model: "/models/qwen.gguf",
    n_ctx: 8192,
    n_threads: 4,
    max_tokens: 64,
    temperature: 0.2,
    context_tokens: 2048,
    debounce_ms: 0,
    log_level: "debug",
    backend: "openai",
    openai_url: "http://127.0.0.1:11434/v1",
    allow_remote: false,
    verify_tests: false,
  });
});

test("falsy values that were set are kept", () => {
  const values: Record<string, unknown> = { temperature: 0, debounceMs: 0, allowRemote: false, verifyTests: false };
  assert.deepEqual(toServerSettings((k) => values[k]), {
    temperature: 0,
    debounce_ms: 0,
    allow_remote: false,
    verify_tests: false,
  });
});

test("unknown VS Code keys are never looked up", () => {
  const asked: string[] = [];
  toServerSettings((k) => {
    asked.push(k);
    return undefined;
  });
  assert.deepEqual(asked, SETTINGS.map((s) => s.vscodeKey));
});

test("didChangeConfiguration params nest the settings under `lfcode`", () => {
  assert.deepEqual(didChangeConfigurationParams({ n_ctx: 2048 }), { settings: { lfcode: { n_ctx: 2048 } } });
});

test("sameSettings compares contents, not key order", () => {
  assert.ok(sameSettings({ a: 1, b: "x" }, { b: "x", a: 1 }));
  assert.ok(!sameSettings({ a: 1 }, { a: 2 }));
  assert.ok(!sameSettings({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!sameSettings({ a: 1 }, undefined));
  assert.ok(sameSettings(undefined, undefined));
});

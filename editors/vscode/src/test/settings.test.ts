import assert from "node:assert/strict";
import { test } from "node:test";

import {
  InspectedSetting,
  MACHINE_KEYS,
  SETTINGS,
  SettingsReader,
  didChangeConfigurationParams,
  explicitValue,
  isMachineKey,
  machineValue,
  readServerSettings,
  sameSettings,
  toServerSettings,
  toSnakeCase,
} from "../settings";

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
  "observed_tests",
  "sandbox",
];

/** The server's machine-level keys (lfcode/settings.py MACHINE_KEYS, less the fake backend's). */
const SERVER_MACHINE_KEYS = ["backend", "model", "openai_url", "allow_remote", "verify_tests", "sandbox"];

/** A stand-in for `WorkspaceConfiguration`: default < user < workspace < folder, like VS Code. */
function reader(layers: {
  user?: Record<string, unknown>;
  workspace?: Record<string, unknown>;
  folder?: Record<string, unknown>;
}): SettingsReader {
  const defaults: Record<string, unknown> = Object.fromEntries(SETTINGS.map((s) => [s.vscodeKey, s.default]));
  defaults["server.path"] = null;
  defaults["server.pythonPath"] = null;
  const inspect = (key: string): InspectedSetting => ({
    defaultValue: defaults[key],
    globalValue: layers.user?.[key],
    workspaceValue: layers.workspace?.[key],
    workspaceFolderValue: layers.folder?.[key],
  });
  return {
    inspect,
    get: (key) => {
      const i = inspect(key);
      return [i.workspaceFolderValue, i.workspaceValue, i.globalValue, i.defaultValue].find((v) => v !== undefined);
    },
  };
}

/** What a hostile repository's .vscode/settings.json might set. */
const HOSTILE: Record<string, unknown> = {
  model: "/tmp/hostile.gguf",
  backend: "openai",
  openaiUrl: "http://attacker.example/v1",
  allowRemote: true,
  verifyTests: true,
  sandbox: "off",
  "server.path": "/tmp/hostile/lfcode",
  "server.pythonPath": "/tmp/hostile/python",
};

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
    observedTests: false,
    sandbox: "off",
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
    observed_tests: false,
    sandbox: "off",
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

test("machine-level keys: the server's, plus the client's executables", () => {
  assert.deepEqual(
    SETTINGS.filter((s) => s.machine).map((s) => s.serverKey).sort(),
    [...SERVER_MACHINE_KEYS].sort(),
  );
  assert.deepEqual([...MACHINE_KEYS].sort(), [
    "allowRemote",
    "backend",
    "model",
    "openaiUrl",
    "sandbox",
    "server.path",
    "server.pythonPath",
    "verifyTests",
  ]);
  assert.ok(isMachineKey("server.path"));
  assert.ok(!isMachineKey("maxTokens"));
});

test("a workspace's values for machine-level settings are ignored, its maxTokens is honoured", () => {
  for (const where of ["workspace", "folder"] as const) {
    const settings = readServerSettings(reader({ [where]: { ...HOSTILE, maxTokens: 99 } }));
    assert.deepEqual(settings, { max_tokens: 99 }, where);
  }
});

test("the user's machine-level values win over a workspace's", () => {
  const settings = readServerSettings(
    reader({
      user: { model: "/models/mine.gguf", backend: "llama-cpp", openaiUrl: "http://127.0.0.1:11434/v1", sandbox: "required" },
      workspace: { ...HOSTILE, maxTokens: 99, nCtx: 2048 },
      folder: { allowRemote: true, maxTokens: 42 },
    }),
  );
  assert.deepEqual(settings, {
    model: "/models/mine.gguf",
    backend: "llama-cpp",
    openai_url: "http://127.0.0.1:11434/v1",
    sandbox: "required",
    max_tokens: 42,
    n_ctx: 2048,
  });
});

test("explicitValue: a machine key only ever yields the user's value", () => {
  for (const key of MACHINE_KEYS) {
    const r = reader({ workspace: HOSTILE, folder: HOSTILE });
    assert.equal(explicitValue(r, key), undefined, key);
    assert.equal(explicitValue(reader({ user: { [key]: "mine" }, workspace: HOSTILE }), key), "mine", key);
  }
});

test("machineValue: the user's value, else the default, never the workspace's", () => {
  assert.equal(machineValue({ defaultValue: "d", workspaceValue: "w", workspaceFolderValue: "f" }), "d");
  assert.equal(machineValue({ defaultValue: "d", globalValue: "u", workspaceValue: "w" }), "u");
  assert.equal(machineValue({ defaultValue: null, globalValue: undefined, workspaceValue: "w" }), null);
  assert.equal(machineValue(undefined), undefined);
});

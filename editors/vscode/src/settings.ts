/**
 * The VS Code settings that map 1:1 onto lfcode server settings. Pure: no `vscode` import.
 *
 * The server receives them as a flat object with its own (snake_case) key names, once as
 * `initializationOptions` and again in `workspace/didChangeConfiguration` as
 * `{ settings: { lfcode: {...} } }`. Settings the user has not set (or set to null) are left
 * out, so the server keeps its own defaults and its other layers (config files, environment).
 * Values are passed as given; the server validates them and reports bad ones.
 */

export type SettingType = "string" | "integer" | "number" | "boolean";

export interface SettingSpec {
  /** Key under the `lfcode.` section in VS Code, e.g. `nCtx` for `lfcode.nCtx`. */
  vscodeKey: string;
  /** Key the server uses, e.g. `n_ctx`. */
  serverKey: string;
  type: SettingType;
  /** The server's default (`null` = computed by the server). Mirrored in package.json. */
  default: string | number | boolean | null;
  /** Allowed values, for enumerations. */
  enum?: readonly string[];
}

export const SECTION = "lfcode";

export const SETTINGS: readonly SettingSpec[] = [
  { vscodeKey: "model", serverKey: "model", type: "string", default: "embedded" },
  { vscodeKey: "nCtx", serverKey: "n_ctx", type: "integer", default: 4096 },
  { vscodeKey: "nThreads", serverKey: "n_threads", type: "integer", default: null },
  { vscodeKey: "maxTokens", serverKey: "max_tokens", type: "integer", default: 128 },
  { vscodeKey: "temperature", serverKey: "temperature", type: "number", default: 0 },
  { vscodeKey: "contextTokens", serverKey: "context_tokens", type: "integer", default: 1024 },
  { vscodeKey: "debounceMs", serverKey: "debounce_ms", type: "integer", default: 150 },
  {
    vscodeKey: "logLevel",
    serverKey: "log_level",
    type: "string",
    default: "info",
    enum: ["debug", "info", "warning", "error"],
  },
  {
    vscodeKey: "backend",
    serverKey: "backend",
    type: "string",
    default: "llama-cpp",
    enum: ["llama-cpp", "openai"],
  },
  { vscodeKey: "openaiUrl", serverKey: "openai_url", type: "string", default: "http://127.0.0.1:8080/v1" },
  { vscodeKey: "allowRemote", serverKey: "allow_remote", type: "boolean", default: false },
  { vscodeKey: "verifyTests", serverKey: "verify_tests", type: "boolean", default: true },
];

/** Converts `nCtx` to `n_ctx`, `openaiUrl` to `openai_url`. */
export function toSnakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

export type ServerSettings = Record<string, unknown>;

/**
 * The server's settings object.
 *
 * @param lookup returns the value the user set for `lfcode.<vscodeKey>`, or `undefined` when the
 *   user did not set it.
 */
export function toServerSettings(lookup: (vscodeKey: string) => unknown): ServerSettings {
  const result: ServerSettings = {};
  for (const spec of SETTINGS) {
    const value = lookup(spec.vscodeKey);
    if (value === undefined || value === null) {
      continue;
    }
    if (typeof value === "string" && value.trim() === "") {
      continue; // an emptied text box means "use the default"
    }
    result[spec.serverKey] = typeof value === "string" ? value.trim() : value;
  }
  return result;
}

/** The `params` of `workspace/didChangeConfiguration`. */
export function didChangeConfigurationParams(settings: ServerSettings): { settings: { lfcode: ServerSettings } } {
  return { settings: { lfcode: settings } };
}

/** True when two settings objects would send the same thing. */
export function sameSettings(a: ServerSettings | undefined, b: ServerSettings | undefined): boolean {
  if (a === undefined || b === undefined) {
    return a === b;
  }
  const keys = Object.keys(a).sort();
  const other = Object.keys(b).sort();
  return JSON.stringify(keys) === JSON.stringify(other) && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

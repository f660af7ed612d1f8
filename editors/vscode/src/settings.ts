/**
 * The VS Code settings that map 1:1 onto lfcode server settings. Pure: no `vscode` import.
 *
 * The server receives them as a flat object with its own (snake_case) key names, once as
 * `initializationOptions` and again in `workspace/didChangeConfiguration` as
 * `{ settings: { lfcode: {...} } }`. Settings the user has not set (or set to null) are left
 * out, so the server keeps its own defaults and its other layers (config files, environment).
 * Values are passed as given; the server validates them and reports bad ones.
 *
 * Machine-level settings (`machine: true`, plus the client's `server.path` / `server.pythonPath`)
 * decide where code goes or what runs, so a repository must never choose them: they are taken
 * from the user's settings only (`inspect(key).globalValue`), never from a workspace or workspace
 * folder, whatever the workspace's trust. They are `"scope": "machine"` in package.json too.
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
  /**
   * Machine-level: decides where code goes or what runs. Read from the user's settings only,
   * never from a workspace; `"scope": "machine"` and a restricted configuration in package.json.
   */
  machine?: boolean;
}

export const SECTION = "lfcode";

export const SETTINGS: readonly SettingSpec[] = [
  { vscodeKey: "model", serverKey: "model", type: "string", default: "embedded", machine: true },
  { vscodeKey: "nCtx", serverKey: "n_ctx", type: "integer", default: 4096 },
  { vscodeKey: "nThreads", serverKey: "n_threads", type: "integer", default: null },
  { vscodeKey: "maxTokens", serverKey: "max_tokens", type: "integer", default: 128 },
  { vscodeKey: "temperature", serverKey: "temperature", type: "number", default: 0 },
  { vscodeKey: "contextTokens", serverKey: "context_tokens", type: "integer", default: 1024 },
  { vscodeKey: "debounceMs", serverKey: "debounce_ms", type: "integer", default: null },
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
    enum: ["llama-cpp", "llama-server", "openai"],
    machine: true,
  },
  {
    vscodeKey: "openaiUrl",
    serverKey: "openai_url",
    type: "string",
    default: "http://127.0.0.1:8080/v1",
    machine: true,
  },
  { vscodeKey: "allowRemote", serverKey: "allow_remote", type: "boolean", default: false, machine: true },
  { vscodeKey: "verifyTests", serverKey: "verify_tests", type: "boolean", default: true, machine: true },
  { vscodeKey: "observedTests", serverKey: "observed_tests", type: "boolean", default: true },
  {
    vscodeKey: "sandbox",
    serverKey: "sandbox",
    type: "string",
    default: "required",
    enum: ["required", "off"],
    machine: true,
  },
];

/** The client's own machine-level settings: they choose the executable that is started. */
export const MACHINE_CLIENT_KEYS: readonly string[] = ["server.path", "server.pythonPath"];

/** Every machine-level key under `lfcode.`: server settings marked `machine`, then the client's. */
export const MACHINE_KEYS: readonly string[] = [
  ...SETTINGS.filter((spec) => spec.machine === true).map((spec) => spec.vscodeKey),
  ...MACHINE_CLIENT_KEYS,
];

/** True for a machine-level key (`model`, `server.path`, ...; without the `lfcode.` prefix). */
export function isMachineKey(vscodeKey: string): boolean {
  return MACHINE_KEYS.includes(vscodeKey);
}

/** What `WorkspaceConfiguration.inspect(key)` returns, as far as lfcode reads it. */
export interface InspectedSetting {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/** Reads `lfcode.<key>`: a `WorkspaceConfiguration` for section `lfcode`, or a test's fake. */
export interface SettingsReader {
  inspect(key: string): InspectedSetting | undefined;
  /** The effective value (VS Code merges default, user, workspace and folder). */
  get(key: string): unknown;
}

/**
 * The value of a machine-level setting: the user's (global) value, else the default. A value
 * set by a workspace or workspace folder is ignored.
 */
export function machineValue(inspected: InspectedSetting | undefined): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  return inspected.globalValue !== undefined ? inspected.globalValue : inspected.defaultValue;
}

/**
 * The value to send for `lfcode.<vscodeKey>`, or `undefined` when nobody allowed to set it did
 * (so the server keeps its own layers). Machine-level keys: the user's value only. Other keys: the
 * effective value when any layer (user, workspace, folder, language) set it.
 */
export function explicitValue(reader: SettingsReader, vscodeKey: string): unknown {
  const inspected = reader.inspect(vscodeKey);
  if (inspected === undefined) {
    return undefined;
  }
  if (isMachineKey(vscodeKey)) {
    return inspected.globalValue;
  }
  const isSet = [
    inspected.globalValue,
    inspected.workspaceValue,
    inspected.workspaceFolderValue,
    inspected.globalLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.workspaceFolderLanguageValue,
  ].some((value) => value !== undefined);
  return isSet ? reader.get(vscodeKey) : undefined;
}

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

/**
 * The server's settings read from VS Code's configuration: machine-level ones from the user's
 * settings only, the others from whichever layer set them.
 */
export function readServerSettings(reader: SettingsReader): ServerSettings {
  return toServerSettings((vscodeKey) => explicitValue(reader, vscodeKey));
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

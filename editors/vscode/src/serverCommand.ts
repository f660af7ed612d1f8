/**
 * How the extension starts the lfcode language server. Pure: no `vscode` import, so it runs
 * under node's test runner.
 *
 * Precedence: `lfcode.server.path` (an `lfcode` executable, run as `<path> serve`), then
 * `lfcode.server.pythonPath` (run as `<python> -m lfcode serve`), then the Python extension's
 * selected interpreter when it has lfcode installed (`<python> -m lfcode serve`), then `lfcode`
 * found on PATH or in `~/.local/bin` (an editor started from a desktop menu often has a shorter
 * PATH than a terminal). See {@link discoverServerCommand}.
 *
 * Both settings are machine-level: only the user's value (or the default) counts, never a
 * workspace's.
 *
 * The command is started without `--stdio`: vscode-languageclient appends it when the transport
 * is `TransportKind.stdio`, and stdio is already the default of `lfcode serve` (see
 * {@link serverExecutable}).
 */

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

import type { Executable } from "vscode-languageclient/node";

import { InspectedSetting, machineValue } from "./settings";

export interface ServerCommandSettings {
  /** `lfcode.server.path`: the `lfcode` executable. */
  path?: string | null;
  /** `lfcode.server.pythonPath`: a Python interpreter that has lfcode installed. */
  pythonPath?: string | null;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * The server-command settings from `inspect("server.path")` / `inspect("server.pythonPath")`:
 * the user's (global) value or the default; a workspace or folder value is ignored.
 */
export function serverCommandSettings(inspect: (key: string) => InspectedSetting | undefined): ServerCommandSettings {
  const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
  return {
    path: text(machineValue(inspect("server.path"))),
    pythonPath: text(machineValue(inspect("server.pythonPath"))),
  };
}

/** The executable used when neither setting is given. */
export const DEFAULT_EXECUTABLE = "lfcode";

/** Expands a leading `~` (`~` or `~/...`, `~\...`) to `home`; other strings are returned as given. */
export function expandHome(value: string, home: string | undefined): string {
  if (!home) {
    return value;
  }
  if (value === "~") {
    return home;
  }
  if (value.startsWith("~/") || value.startsWith("~\\")) {
    return home.replace(/[\\/]+$/, "") + value.slice(1);
  }
  return value;
}

function clean(value: string | null | undefined, home: string | undefined): string | undefined {
  if (typeof value !== "string") {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed === "" ? undefined : expandHome(trimmed, home);
}

/** The command line that starts `lfcode serve` (stdio) for the given settings. */
export function resolveServerCommand(settings: ServerCommandSettings, home?: string): ServerCommand {
  const path = clean(settings.path, home);
  if (path !== undefined) {
    return { command: path, args: ["serve"] };
  }
  const python = clean(settings.pythonPath, home);
  if (python !== undefined) {
    return { command: python, args: ["-m", "lfcode", "serve"] };
  }
  return { command: DEFAULT_EXECUTABLE, args: ["serve"] };
}

/**
 * The `Executable` handed to vscode-languageclient. It has no `transport`: with
 * `TransportKind.stdio` the client appends `--stdio` to the arguments (older lfcode releases exit
 * with code 2 on it); without one it still talks over the process's stdin/stdout.
 */
export function serverExecutable(cmd: ServerCommand, cwd?: string): Executable {
  return { command: cmd.command, args: [...cmd.args], options: cwd !== undefined ? { cwd } : undefined };
}

/** Where {@link discoverServerCommand} found the server. */
export type ServerSource = "setting" | "python-extension" | "path";

export interface DiscoveredServer {
  cmd: ServerCommand;
  source: ServerSource;
  /** For the log: e.g. the interpreter or the PATH entry. */
  detail: string;
}

/** What discovery may look at; injected so that it can be tested without an editor. */
export interface DiscoveryProbes {
  /**
   * The interpreter selected in the Python extension (ms-python.python), or undefined when the
   * extension is missing, has none selected, or must not be asked (an untrusted workspace).
   */
  pythonInterpreter(): Promise<string | undefined>;
  /** True when `python` can import lfcode (`python -c "import lfcode"`, with a time limit). */
  hasLfcode(python: string): Promise<boolean>;
  /** The absolute path of an executable called `name`, or undefined. */
  findExecutable(name: string): string | undefined;
}

/**
 * How to start the server: the settings, then the Python extension's interpreter when it has
 * lfcode, then `lfcode` on PATH (or `~/.local/bin`). Undefined when none of them gives a server.
 */
export async function discoverServerCommand(
  settings: ServerCommandSettings,
  home: string | undefined,
  probes: DiscoveryProbes,
): Promise<DiscoveredServer | undefined> {
  if (clean(settings.path, home) !== undefined || clean(settings.pythonPath, home) !== undefined) {
    const cmd = resolveServerCommand(settings, home);
    return { cmd, source: "setting", detail: cmd.command };
  }
  let python: string | undefined;
  try {
    python = clean(await probes.pythonInterpreter(), home);
  } catch {
    python = undefined; // the Python extension failed: go on with PATH
  }
  if (python !== undefined && (await probes.hasLfcode(python))) {
    return { cmd: { command: python, args: ["-m", "lfcode", "serve"] }, source: "python-extension", detail: python };
  }
  const found = probes.findExecutable(DEFAULT_EXECUTABLE);
  if (found !== undefined) {
    return { cmd: { command: found, args: ["serve"] }, source: "path", detail: found };
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The first executable file `name` in the folders of `pathVariable`, then in `extraFolders`.
 * Relative PATH entries are skipped (they would depend on the editor's working folder).
 */
export function findOnPath(name: string, pathVariable: string | undefined, extraFolders: readonly string[] = []): string | undefined {
  const folders = [...(pathVariable ?? "").split(delimiter), ...extraFolders].filter((d) => d.startsWith("/") || /^[A-Za-z]:[\\/]/.test(d));
  const names = process.platform === "win32" ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const folder of folders) {
    for (const candidate of names) {
      const path = join(folder, candidate);
      if (isExecutableFile(path)) {
        return path;
      }
    }
  }
  return undefined;
}

/** The notification shown when no server was found. */
export const NOT_FOUND_MESSAGE =
  "lfcode: the lfcode server was not found. Install the lfcode Python package, select an interpreter " +
  "that has it in the Python extension, or set the path of the `lfcode` executable in the setting " +
  "`lfcode.server.path` (in the user settings; in a remote window or code-server, in the Remote/Machine settings).";

/** The button of {@link NOT_FOUND_MESSAGE}: opens the settings editor on `lfcode.server.path`. */
export const OPEN_SETTING_BUTTON = "Open Setting";

function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./~-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line as a person would type it in a POSIX shell, for messages. */
export function describeCommand(cmd: ServerCommand): string {
  return [cmd.command, ...cmd.args].map(quote).join(" ");
}

/** The message shown when the server could not be started. */
export function startFailureMessage(cmd: ServerCommand, reason: string): string {
  const hint =
    "Install the lfcode Python package, or set `lfcode.server.path` / `lfcode.server.pythonPath`.";
  return `lfcode: could not start \`${describeCommand(cmd)}\`: ${reason}. ${hint}`;
}

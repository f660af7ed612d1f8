/**
 * How the extension starts the lfcode language server. Pure: no `vscode` import, so it runs
 * under node's test runner.
 *
 * Precedence: `lfcode.server.path` (an `lfcode` executable, run as `<path> serve`), then
 * `lfcode.server.pythonPath` (run as `<python> -m lfcode serve`), else `lfcode serve` from PATH.
 *
 * Both are machine-level: only the user's value (or the default) counts, never a workspace's.
 */

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

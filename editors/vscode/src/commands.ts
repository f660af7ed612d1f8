/**
 * The extension's commands and the `workspace/executeCommand` calls they make. Pure: no
 * `vscode` import.
 */

/** VS Code command id -> the server command it runs. */
export const SERVER_COMMANDS = {
  "lfcode.explain": "lfcode.explain",
  "lfcode.generateTests": "lfcode.generateTests",
  "lfcode.reviewChanges": "lfcode.review",
} as const;

/** Commands the server itself may advertise under the same id as the VS Code command. */
export const CURSOR_COMMANDS: readonly string[] = ["lfcode.explain", "lfcode.generateTests"];

export const RESTART_COMMAND = "lfcode.restartServer";

export interface Cursor {
  /** The document's URI, as a string. */
  uri: string;
  line: number;
  character: number;
}

/** What the editor can tell about where the user is. */
export interface EditorContext {
  cursor?: Cursor;
  /** URI of the workspace folder the user means (of the active file, or the one picked). */
  workspaceFolder?: string;
}

export type ArgumentsResult = { ok: true; args: unknown[] } | { ok: false; reason: string };

/**
 * The `arguments` of `workspace/executeCommand` for a server command run from the command palette
 * (with no arguments of its own): `[{ uri, position }]` for explain and generate tests,
 * `[{ workspaceFolder }]` for review. `undefined` for commands that take none.
 */
export function defaultArguments(serverCommand: string, context: EditorContext): ArgumentsResult | undefined {
  switch (serverCommand) {
    case "lfcode.explain":
    case "lfcode.generateTests":
      if (!context.cursor) {
        return { ok: false, reason: "open a file and place the cursor on a symbol first" };
      }
      return {
        ok: true,
        args: [
          {
            uri: context.cursor.uri,
            position: { line: context.cursor.line, character: context.cursor.character },
          },
        ],
      };
    case "lfcode.review":
      if (!context.workspaceFolder) {
        return { ok: false, reason: "open a folder to review its changes" };
      }
      return { ok: true, args: [{ workspaceFolder: context.workspaceFolder }] };
    default:
      return undefined;
  }
}

/** The progress title shown while a server command runs. */
export function progressTitle(serverCommand: string): string {
  switch (serverCommand) {
    case "lfcode.explain":
      return "lfcode: explaining…";
    case "lfcode.generateTests":
      return "lfcode: generating tests…";
    case "lfcode.review":
      return "lfcode: reviewing changes…";
    default:
      return "lfcode: working…";
  }
}

/** The server commands from an `initialize` result's `executeCommandProvider`. */
export function advertisedCommands(capabilities: unknown): Set<string> {
  const provider = (capabilities as { executeCommandProvider?: { commands?: unknown } } | undefined)
    ?.executeCommandProvider;
  const commands = provider?.commands;
  return new Set(Array.isArray(commands) ? commands.filter((c): c is string => typeof c === "string") : []);
}

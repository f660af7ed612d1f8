/**
 * The lfcode VS Code extension: a thin client. It starts `lfcode serve` over stdio, passes the
 * settings, binds the commands and shows the server's state. Every feature (inline completion,
 * code actions, review) is the server's, reached through the standard LSP.
 */

import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";

import {
  CURSOR_COMMANDS,
  EditorContext,
  RESTART_COMMAND,
  SERVER_COMMANDS,
  advertisedCommands,
  defaultArguments,
  progressTitle,
} from "./commands";
import { CURSOR_DEBOUNCE_MS, CURSOR_NOTIFICATION, CursorParams, Debouncer, cursorParams } from "./cursor";
import { documentSelector } from "./languages";
import { lspInlineTriggerKind } from "./inlineCompletion";
import {
  DiscoveredServer,
  NOT_FOUND_MESSAGE,
  OPEN_SETTING_BUTTON,
  ServerCommand,
  discoverServerCommand,
  findOnPath,
  serverCommandSettings,
  serverExecutable,
  startFailureMessage,
} from "./serverCommand";
import {
  SECTION,
  ServerSettings,
  SettingsReader,
  didChangeConfigurationParams,
  readServerSettings,
  sameSettings,
} from "./settings";
import { STATUS_NOTIFICATION, StatusTracker, statusView } from "./status";

type ExecuteCommandNext = (command: string, args: unknown[]) => Thenable<unknown>;

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return typeof error === "string" ? error : JSON.stringify(error);
}

class LfcodeExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** Our own bindings of the cursor commands, when the running server does not advertise them. */
  private fallbackCommands: vscode.Disposable[] = [];
  private lastSent: ServerSettings | undefined;
  private readonly status = new StatusTracker();
  private readonly item: vscode.StatusBarItem;
  private readonly output: vscode.OutputChannel;
  /** Serialises start, stop and restart. */
  private lifecycle: Promise<void> = Promise.resolve();
  /** The "not found" notification is shown once, until the server settings change. */
  private notFoundShown = false;
  /** Sends `lfcode/cursor` once the cursor rests (the server prefills its prompt there). */
  private readonly cursor = new Debouncer<CursorParams>(CURSOR_DEBOUNCE_MS, (params) => this.sendCursor(params));

  constructor(context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel("lfcode");
    this.item = vscode.window.createStatusBarItem("lfcode.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "lfcode";
    this.render();
    this.item.show();
    context.subscriptions.push(
      this,
      this.output,
      this.item,
      vscode.commands.registerCommand("lfcode.reviewChanges", () => this.reviewChanges()),
      vscode.commands.registerCommand(RESTART_COMMAND, () => this.restart()),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      vscode.window.onDidChangeActiveTextEditor((editor) => this.cursorMoved(editor)),
      vscode.window.onDidChangeTextEditorSelection((event) => this.cursorMoved(event.textEditor)),
      { dispose: () => this.cursor.dispose() },
    );
  }

  // ---- cursor ---------------------------------------------------------------------------------

  private cursorMoved(editor: vscode.TextEditor | undefined): void {
    if (editor === undefined || vscode.languages.match(documentSelector(), editor.document) === 0) {
      return;
    }
    const position = editor.selection.active;
    this.cursor.push(cursorParams(editor.document.uri.toString(), position.line, position.character));
  }

  private sendCursor(params: CursorParams): void {
    const client = this.client;
    if (client !== undefined && client.isRunning()) {
      void client.sendNotification(CURSOR_NOTIFICATION, params).catch(() => undefined);
    }
  }

  // ---- settings -------------------------------------------------------------------------------

  /** `lfcode.*` as the pure helpers read it: `inspect` for every layer, `get` for the effective value. */
  private settingsReader(): SettingsReader {
    const config = vscode.workspace.getConfiguration(SECTION);
    return { inspect: (key) => config.inspect(key), get: (key) => config.get(key) };
  }

  /**
   * The server's settings: only those that were set, under the server's key names. Machine-level
   * ones (model, backend, openaiUrl, ...) come from the user's settings only, never a workspace's.
   */
  private serverSettings(): ServerSettings {
    return readServerSettings(this.settingsReader());
  }

  /**
   * How to start the server: the user's `lfcode.server.*` (never a workspace's), then the Python
   * extension's interpreter when it has lfcode, then `lfcode` on PATH or in `~/.local/bin`.
   */
  private discoverServer(): Promise<DiscoveredServer | undefined> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const home = os.homedir();
    return discoverServerCommand(serverCommandSettings((key) => config.inspect(key)), home, {
      pythonInterpreter: () => this.pythonExtensionInterpreter(),
      hasLfcode: (python) => hasLfcode(python),
      findExecutable: (name) => findOnPath(name, process.env.PATH, [path.join(home, ".local", "bin")]),
    });
  }

  /**
   * The interpreter selected in the Python extension, if it is installed. Not asked in an
   * untrusted workspace: the selection may be the repository's own `.venv`, and lfcode must not
   * run a program that the repository chose.
   */
  private async pythonExtensionInterpreter(): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      return undefined;
    }
    const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
    if (extension === undefined) {
      return undefined;
    }
    const api = extension.isActive ? extension.exports : await extension.activate();
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const environments = api?.environments;
    if (environments?.getActiveEnvironmentPath !== undefined) {
      const active = environments.getActiveEnvironmentPath(resource);
      const resolved = active !== undefined ? await environments.resolveEnvironment?.(active) : undefined;
      return resolved?.executable?.uri?.fsPath ?? active?.path;
    }
    return api?.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  }

  private async showNotFound(): Promise<void> {
    if (this.notFoundShown) {
      return;
    }
    this.notFoundShown = true;
    const choice = await vscode.window.showErrorMessage(NOT_FOUND_MESSAGE, OPEN_SETTING_BUTTON);
    if (choice === OPEN_SETTING_BUTTON) {
      await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.server.path`);
    }
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (event.affectsConfiguration(`${SECTION}.server`)) {
      this.notFoundShown = false;
      this.output.appendLine("lfcode: server command changed; restarting the server");
      void this.restart();
      return;
    }
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return; // the next start sends the current settings as initializationOptions
    }
    const settings = this.serverSettings();
    if (sameSettings(settings, this.lastSent)) {
      return; // e.g. only `lfcode.trace.server` changed, which the client handles itself
    }
    this.lastSent = settings;
    client
      .sendNotification(DidChangeConfigurationNotification.type, didChangeConfigurationParams(settings))
      .catch((error: unknown) => this.output.appendLine(`lfcode: could not send settings: ${errorMessage(error)}`));
  }

  // ---- status bar -----------------------------------------------------------------------------

  private render(): void {
    const view = statusView(this.status.snapshot);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.isError ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.command = view.isError ? { title: "Restart lfcode server", command: RESTART_COMMAND } : undefined;
  }

  private update(changed: boolean): void {
    if (changed) {
      this.render();
    }
  }

  // ---- commands -------------------------------------------------------------------------------

  /** Where the user is: the active editor's document and cursor, and its workspace folder. */
  private editorContext(): EditorContext {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return {};
    }
    const position = editor.selection.active;
    const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
    return {
      cursor: { uri: editor.document.uri.toString(), line: position.line, character: position.character },
      workspaceFolder: folder?.uri.toString(),
    };
  }

  /**
   * Runs a server command with a progress indicator. Called with no arguments (command palette,
   * key binding), the arguments are taken from the active editor.
   */
  private async runServerCommand(command: string, args: unknown[], next: ExecuteCommandNext): Promise<unknown> {
    let finalArgs = args;
    if (args.length === 0) {
      const defaults = defaultArguments(command, this.editorContext());
      if (defaults !== undefined && !defaults.ok) {
        void vscode.window.showWarningMessage(`lfcode: ${defaults.reason}.`);
        return undefined;
      }
      if (defaults !== undefined) {
        finalArgs = defaults.args;
      }
    }
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: progressTitle(command) },
        () => Promise.resolve(next(command, finalArgs)),
      );
    } catch (error) {
      void vscode.window.showErrorMessage(`lfcode: ${command} failed: ${errorMessage(error)}`);
      return undefined;
    }
  }

  /** Sends `workspace/executeCommand` directly (for commands the client did not bind itself). */
  private sendExecuteCommand(command: string, args: unknown[]): Thenable<unknown> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window
        .showErrorMessage("lfcode: the language server is not running.", "Restart")
        .then((choice) => (choice === "Restart" ? this.restart() : undefined));
      return Promise.resolve(undefined);
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  private async reviewChanges(): Promise<unknown> {
    let workspaceFolder = this.editorContext().workspaceFolder;
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (workspaceFolder === undefined && folders.length === 1) {
      workspaceFolder = folders[0].uri.toString();
    } else if (workspaceFolder === undefined && folders.length > 1) {
      workspaceFolder = (await vscode.window.showWorkspaceFolderPick({ placeHolder: "Folder to review" }))?.uri.toString();
      if (workspaceFolder === undefined) {
        return undefined;
      }
    }
    const command = SERVER_COMMANDS["lfcode.reviewChanges"];
    const defaults = defaultArguments(command, { workspaceFolder });
    if (defaults === undefined || !defaults.ok) {
      void vscode.window.showWarningMessage(`lfcode: ${defaults?.reason ?? "nothing to review"}.`);
      return undefined;
    }
    return this.runServerCommand(command, defaults.args, (c, a) => this.sendExecuteCommand(c, a));
  }

  /**
   * The client binds every command the server advertises (`executeCommandProvider.commands`) as a
   * VS Code command of the same id, so `lfcode.explain` and `lfcode.generateTests` are normally
   * bound by the client and reach us through the `executeCommand` middleware. A server that does
   * not advertise them (or is not running) gets our own binding, so the palette entries still work.
   */
  private bindFallbackCommands(client: LanguageClient | undefined): void {
    const advertised = advertisedCommands(client?.initializeResult?.capabilities);
    for (const command of CURSOR_COMMANDS) {
      if (!advertised.has(command)) {
        this.fallbackCommands.push(
          vscode.commands.registerCommand(command, (...args: unknown[]) =>
            this.runServerCommand(command, args, (c, a) => this.sendExecuteCommand(c, a)),
          ),
        );
      }
    }
  }

  private unbindFallbackCommands(): void {
    this.fallbackCommands.forEach((d) => d.dispose());
    this.fallbackCommands = [];
  }

  // ---- life cycle -----------------------------------------------------------------------------

  private createClient(cmd: ServerCommand): LanguageClient {
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file");
    // No `transport`: with TransportKind.stdio the client would append `--stdio` (see serverExecutable).
    const executable = serverExecutable(cmd, folder?.uri.fsPath);
    const serverOptions: ServerOptions = { run: executable, debug: executable };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // A function, so that a restart after a crash sends the settings of that moment.
      initializationOptions: () => {
        this.lastSent = this.serverSettings();
        return this.lastSent;
      },
      middleware: {
        // vscode-languageclient 9 sends VS Code's numbering (Invoke 0, Automatic 1); LSP 3.18 has
        // Invoked 1, Automatic 2 (see inlineCompletion.ts).
        provideInlineCompletionItems: (document, position, context, token, next) =>
          next(
            document,
            position,
            { ...context, triggerKind: lspInlineTriggerKind(context.triggerKind) as vscode.InlineCompletionTriggerKind },
            token,
          ),
        executeCommand: (command, args, next) => this.runServerCommand(command, args, next),
        handleWorkDoneProgress: (token, params, next) => {
          this.update(this.status.applyProgress(token, params));
          next(token, params);
        },
        workspace: {
          // `workspace/configuration` for section "lfcode" gets the same object as
          // initializationOptions, not VS Code's camelCase settings.
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return params.items.map((item, i) => (item.section === SECTION ? this.serverSettings() : result[i]));
          },
        },
      },
    };
    const client = new LanguageClient("lfcode", "lfcode", serverOptions, clientOptions);
    client.registerProposedFeatures(); // inline completion is a proposed feature in 9.x
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => this.update(this.status.applyNotification(params)));
    client.onDidChangeState((event) => {
      if (event.newState === State.Starting) {
        this.update(this.status.clientStarting());
      } else if (event.newState === State.Running) {
        this.update(this.status.clientRunning());
      } else if (event.newState === State.Stopped) {
        this.update(this.status.clientStopped());
      }
    });
    return client;
  }

  private async doStart(): Promise<void> {
    let found: DiscoveredServer | undefined;
    try {
      found = await this.discoverServer();
    } catch (error) {
      this.output.appendLine(`lfcode: looking for the server: ${errorMessage(error)}`);
    }
    if (found === undefined) {
      this.output.appendLine(NOT_FOUND_MESSAGE);
      this.update(this.status.failed(NOT_FOUND_MESSAGE));
      this.bindFallbackCommands(undefined);
      void this.showNotFound();
      return;
    }
    const cmd = found.cmd;
    this.output.appendLine(`lfcode: starting ${[cmd.command, ...cmd.args].join(" ")} (from ${found.source})`);
    const client = this.createClient(cmd);
    this.client = client;
    try {
      await client.start();
      this.update(this.status.clientRunning());
    } catch (error) {
      // The client has already shown "couldn't create connection to server" with "Go to output".
      const message = startFailureMessage(cmd, errorMessage(error));
      this.output.appendLine(`lfcode: ${message}`);
      this.update(this.status.failed(message));
    }
    this.bindFallbackCommands(client.isRunning() ? client : undefined);
  }

  private async doStop(): Promise<void> {
    this.unbindFallbackCommands();
    const client = this.client;
    this.client = undefined;
    this.lastSent = undefined;
    if (client !== undefined) {
      try {
        await client.dispose(2000);
      } catch (error) {
        this.output.appendLine(`lfcode: stopping the server: ${errorMessage(error)}`);
      }
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(step, step);
    return this.lifecycle;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  dispose(): void {
    void this.stop();
  }
}

/** The part of the Python extension's API (ms-python.python) that lfcode reads. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { id?: string; path: string } | undefined;
    resolveEnvironment?(
      environment: { id?: string; path: string },
    ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined };
}

/** True when `python` can import lfcode (10 s at most). */
function hasLfcode(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      python,
      ["-c", "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('lfcode') else 1)"],
      { timeout: 10000, windowsHide: true },
      (error) => resolve(error === null),
    );
  });
}

let extension: LfcodeExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new LfcodeExtension(context);
  await extension.start();
}

export async function deactivate(): Promise<void> {
  const current = extension;
  extension = undefined;
  await current?.stop();
}

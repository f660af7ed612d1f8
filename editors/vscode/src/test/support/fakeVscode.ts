/**
 * A stand-in for the `vscode` module, just enough for vscode-languageclient and the extension to
 * activate under plain node. Known pieces are implemented; anything else is a harmless no-op
 * proxy. It records what the extension does: registered commands and providers, the status-bar
 * texts, messages shown.
 */

import Module = require("module");
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";

// Compiled to out/test/support/, so the manifest is three levels up.
const manifestDefaults: Record<string, unknown> = Object.fromEntries(
  Object.entries(
    JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8")).contributes.configuration
      .properties as Record<string, { default?: unknown }>,
  ).map(([key, property]) => [key, property.default]),
);

type Listener<T> = (event: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(event: T): void {
    for (const listener of [...this.listeners]) {
      listener(event);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly callOnDispose: () => unknown) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.callOnDispose();
  }
}

export class Uri {
  private constructor(private readonly href: string) {}
  static parse(value: string): Uri {
    return new Uri(value);
  }
  static file(path: string): Uri {
    return new Uri(pathToFileURL(path).href);
  }
  get scheme(): string {
    return this.href.slice(0, this.href.indexOf(":"));
  }
  get fsPath(): string {
    return fileURLToPath(this.href);
  }
  get path(): string {
    return new URL(this.href).pathname;
  }
  toString(): string {
    return this.href;
  }
  toJSON(): string {
    return this.href;
  }
}

/** A value that is callable, constructible and has every property, all doing nothing. */
function noop(name: string): any {
  const target = function () {
    /* no-op */
  };
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === Symbol.iterator) {
        return function* () {
          /* empty */
        };
      }
      if (prop === "then") {
        return undefined; // not a thenable
      }
      if (prop === "dispose") {
        return () => undefined;
      }
      return noop(`${name}.${String(prop)}`);
    },
    apply() {
      return noop(`${name}()`);
    },
    construct() {
      return noop(`new ${name}`);
    },
  });
}

function withFallback<T extends object>(name: string, known: T): T {
  return new Proxy(known, {
    get(target, prop, receiver) {
      if (prop in target) {
        return Reflect.get(target, prop, receiver);
      }
      if (typeof prop === "symbol") {
        return undefined;
      }
      return noop(`${name}.${prop}`);
    },
  });
}

export interface FakeState {
  /** `lfcode.*` values the user has set (key without the `lfcode.` prefix). */
  config: Record<string, unknown>;
  /** `lfcode.*` values set by the workspace (`.vscode/settings.json`); they win over `config`. */
  workspaceConfig?: Record<string, unknown>;
  /** `lfcode.*` values set by the workspace folder; they win over both. */
  workspaceFolderConfig?: Record<string, unknown>;
  commands: Map<string, (...args: unknown[]) => unknown>;
  statusTexts: string[];
  statusItem?: { text: string; tooltip?: string };
  messages: string[];
  inlineCompletionSelectors: unknown[];
  /** The inline completion providers registered, in order (the client's, wrapping the middleware). */
  inlineCompletionProviders?: any[];
  /** `vscode.extensions.getExtension(id)` answers, e.g. a fake `ms-python.python`. */
  extensions?: Record<string, unknown>;
  /** `vscode.workspace.isTrusted` (true when unset). */
  untrusted?: boolean;
  /** Picks the button of a message (`showErrorMessage(text, ...buttons)`); none when unset. */
  chooseButton?: (message: string, buttons: string[]) => string | undefined;
  /** `vscode.commands.executeCommand` calls of commands that no one registered. */
  executedCommands?: unknown[][];
  activeEditor?: { uri: string; line: number; character: number };
  workspaceFolder: string;
  configurationChanged: EventEmitter<{ affectsConfiguration(section: string): boolean }>;
}

export function createFakeVscode(state: FakeState): any {
  const folder = { uri: Uri.parse(state.workspaceFolder), name: "w", index: 0 };

  // Like VS Code: `get` merges default < user < workspace < folder; `inspect` shows each layer.
  const makeConfiguration = (section?: string) => {
    const prefix = section ? `${section}.` : "";
    const layer = (values: Record<string, unknown> | undefined, key: string): unknown =>
      prefix === "lfcode." ? values?.[key] : undefined;
    const inspect = (key: string) => ({
      key: prefix + key,
      defaultValue: manifestDefaults[prefix + key],
      globalValue: layer(state.config, key),
      workspaceValue: layer(state.workspaceConfig, key),
      workspaceFolderValue: layer(state.workspaceFolderConfig, key),
    });
    const lookup = (key: string): unknown => {
      const i = inspect(key);
      return [i.workspaceFolderValue, i.workspaceValue, i.globalValue, i.defaultValue].find((v) => v !== undefined);
    };
    return withFallback(`configuration(${section})`, {
      get: (key: string, fallback?: unknown) => {
        const value = lookup(key);
        return value === undefined ? fallback : value;
      },
      has: (key: string) => lookup(key) !== undefined,
      inspect,
      update: async () => undefined,
    });
  };

  const output = withFallback("outputChannel", {
    name: "lfcode",
    lines: [] as string[],
    append(value: string) {
      this.lines.push(value);
    },
    appendLine(value: string) {
      this.lines.push(value);
    },
    clear() {},
    show() {},
    hide() {},
    dispose() {},
    replace() {},
  });

  const vscode = {
    version: "1.90.0",
    EventEmitter,
    Disposable,
    Uri,
    CancellationError: class CancellationError extends Error {},
    CancellationTokenSource: class {
      token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
      cancel() {}
      dispose() {}
    },
    ThemeColor: class {
      constructor(readonly id: string) {}
    },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    TabInputText: class {},
    TabInputTextDiff: class {},
    TabInputCustom: class {},
    env: withFallback("env", { appName: "fake", language: "en", openExternal: async () => true }),
    commands: withFallback("commands", {
      registerCommand(id: string, handler: (...args: unknown[]) => unknown) {
        if (state.commands.has(id)) {
          throw new Error(`command '${id}' already exists`);
        }
        state.commands.set(id, handler);
        return new Disposable(() => state.commands.delete(id));
      },
      async executeCommand(id: string, ...args: unknown[]) {
        const handler = state.commands.get(id);
        if (!handler && id.startsWith("workbench.")) {
          (state.executedCommands ??= []).push([id, ...args]);
          return undefined;
        }
        if (!handler) {
          throw new Error(`command '${id}' not found`);
        }
        return handler(...args);
      },
    }),
    languages: withFallback("languages", {
      match: () => 10,
      registerInlineCompletionItemProvider(selector: unknown, provider: unknown) {
        state.inlineCompletionSelectors.push(selector);
        (state.inlineCompletionProviders ??= []).push(provider);
        return new Disposable(() => undefined);
      },
    }),
    window: withFallback("window", {
      get activeTextEditor() {
        const editor = state.activeEditor;
        if (!editor) {
          return undefined;
        }
        return {
          document: { uri: Uri.parse(editor.uri), languageId: "python" },
          selection: { active: { line: editor.line, character: editor.character } },
        };
      },
      tabGroups: { all: [], onDidChangeTabs: () => ({ dispose() {} }) },
      onDidChangeActiveTextEditor: () => ({ dispose() {} }),
      onDidChangeTextEditorSelection: () => ({ dispose() {} }),
      createOutputChannel: () => output,
      createStatusBarItem() {
        const item = {
          name: "",
          tooltip: undefined as string | undefined,
          command: undefined as unknown,
          backgroundColor: undefined as unknown,
          _text: "",
          get text() {
            return this._text;
          },
          set text(value: string) {
            this._text = value;
            state.statusTexts.push(value);
          },
          show() {},
          hide() {},
          dispose() {},
        };
        state.statusItem = item;
        return item;
      },
      async withProgress(_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) {
        return task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) });
      },
      async showErrorMessage(message: string, ...buttons: unknown[]) {
        state.messages.push(`error: ${message}`);
        const labels = buttons.filter((b): b is string => typeof b === "string");
        return state.chooseButton?.(message, labels);
      },
      async showWarningMessage(message: string) {
        state.messages.push(`warning: ${message}`);
        return undefined;
      },
      async showInformationMessage(message: string) {
        state.messages.push(`info: ${message}`);
        return undefined;
      },
      async showWorkspaceFolderPick() {
        return folder;
      },
    }),
    extensions: withFallback("extensions", {
      getExtension: (id: string) => state.extensions?.[id],
      all: [],
      onDidChange: () => ({ dispose() {} }),
    }),
    workspace: withFallback("workspace", {
      get isTrusted() {
        return state.untrusted !== true;
      },
      get workspaceFolders() {
        return [folder];
      },
      textDocuments: [],
      getWorkspaceFolder: () => folder,
      getConfiguration: (section?: string) => makeConfiguration(section),
      onDidChangeConfiguration: state.configurationChanged.event,
      onDidOpenTextDocument: () => ({ dispose() {} }),
      onDidCloseTextDocument: () => ({ dispose() {} }),
      onDidChangeTextDocument: () => ({ dispose() {} }),
      onDidSaveTextDocument: () => ({ dispose() {} }),
      onWillSaveTextDocument: () => ({ dispose() {} }),
      onDidChangeWorkspaceFolders: () => ({ dispose() {} }),
      createFileSystemWatcher: () => noop("fileSystemWatcher"),
    }),
  };
  return withFallback("vscode", vscode);
}

/** Makes `require("vscode")` return `fake` from now on. */
export function installFakeVscode(fake: unknown): void {
  const mod = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _cache: Record<string, { exports: unknown; loaded: boolean; id: string }>;
  };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? "vscode" : original.call(this, request, ...rest);
  };
  require.cache["vscode"] = { id: "vscode", filename: "vscode", loaded: true, exports: fake } as unknown as NodeJS.Module;
}

/**
 * The status-bar state machine. Pure: no `vscode` import.
 *
 * Inputs: the server's `lfcode/status` notification (`{ state, message? }`), the server's
 * work-done progress (`$/progress` begin/report/end) whose title mentions loading the model, and
 * the client's own life cycle (starting, running, stopped, failed to start).
 */

export type ServerState = "starting" | "loading" | "ready" | "error" | "stopped";

export interface StatusSnapshot {
  state: ServerState;
  message?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** Show with the error background, and offer a restart on click. */
  isError: boolean;
}

/** The method of the server's status notification. */
export const STATUS_NOTIFICATION = "lfcode/status";

const TEXT: Record<ServerState, string> = {
  starting: "$(loading~spin) lfcode: starting",
  loading: "$(loading~spin) lfcode: loading model",
  ready: "lfcode: ready",
  error: "$(error) lfcode: error",
  stopped: "$(circle-slash) lfcode: stopped",
};

const TOOLTIP: Record<ServerState, string> = {
  starting: "lfcode: starting the language server",
  loading: "lfcode: loading the model",
  ready: "lfcode: ready",
  error: "lfcode: error",
  stopped: "lfcode: the server is not running",
};

/** Text and tooltip of the status-bar item for a state. */
export function statusView(snapshot: StatusSnapshot): StatusView {
  const { state, message } = snapshot;
  const isError = state === "error" || state === "stopped";
  const tooltip = message ? `${TOOLTIP[state]}: ${message}` : TOOLTIP[state];
  return { text: TEXT[state], tooltip: isError ? `${tooltip} (click to restart)` : tooltip, isError };
}

const NOTIFIED_STATES = new Set(["loading", "ready", "error"]);

/** Validates `lfcode/status` params; `undefined` for anything malformed. */
export function parseStatusParams(params: unknown): StatusSnapshot | undefined {
  if (typeof params !== "object" || params === null) {
    return undefined;
  }
  const { state, message } = params as { state?: unknown; message?: unknown };
  if (typeof state !== "string" || !NOTIFIED_STATES.has(state)) {
    return undefined;
  }
  const snapshot: StatusSnapshot = { state: state as ServerState };
  if (typeof message === "string" && message !== "") {
    snapshot.message = message;
  }
  return snapshot;
}

/** True for a work-done progress title that announces model loading ("Loading model…"). */
export function isModelLoadingTitle(title: unknown): boolean {
  return typeof title === "string" && /\bloading\b.*\bmodel\b/i.test(title);
}

type ProgressToken = string | number;

/** Folds the inputs into the current {@link StatusSnapshot}. Each method returns true on change. */
export class StatusTracker {
  private current: StatusSnapshot = { state: "starting" };
  private readonly loadingTokens = new Set<ProgressToken>();

  get snapshot(): StatusSnapshot {
    return { ...this.current };
  }

  private set(next: StatusSnapshot): boolean {
    const changed = next.state !== this.current.state || next.message !== this.current.message;
    this.current = next;
    return changed;
  }

  /** The server's `lfcode/status` notification. */
  applyNotification(params: unknown): boolean {
    const parsed = parseStatusParams(params);
    if (parsed === undefined) {
      return false;
    }
    if (parsed.state !== "loading") {
      this.loadingTokens.clear();
    }
    return this.set(parsed);
  }

  /** One `$/progress` value for `token`. Only model-loading progress is followed. */
  applyProgress(token: ProgressToken, value: unknown): boolean {
    if (typeof value !== "object" || value === null) {
      return false;
    }
    const { kind, title, message } = value as { kind?: unknown; title?: unknown; message?: unknown };
    const text = typeof message === "string" && message !== "" ? message : undefined;
    if (kind === "begin") {
      if (!isModelLoadingTitle(title)) {
        return false;
      }
      this.loadingTokens.add(token);
      return this.set({ state: "loading", message: text });
    }
    if (!this.loadingTokens.has(token)) {
      return false;
    }
    if (kind === "report") {
      return this.current.state === "loading" && text !== undefined ? this.set({ state: "loading", message: text }) : false;
    }
    if (kind === "end") {
      this.loadingTokens.delete(token);
      if (this.current.state === "loading" && this.loadingTokens.size === 0) {
        return this.set({ state: "ready" });
      }
    }
    return false;
  }

  /** The client started its server process. */
  clientStarting(): boolean {
    this.loadingTokens.clear();
    return this.set({ state: "starting" });
  }

  /** The server answered `initialize`; ready unless it already said otherwise. */
  clientRunning(): boolean {
    return this.current.state === "starting" || this.current.state === "stopped" ? this.set({ state: "ready" }) : false;
  }

  /** The server process is gone. Keeps an error that explains why. */
  clientStopped(): boolean {
    this.loadingTokens.clear();
    return this.current.state === "error" ? false : this.set({ state: "stopped" });
  }

  /** The client could not start the server, or the server failed. */
  failed(message: string): boolean {
    this.loadingTokens.clear();
    return this.set({ state: "error", message });
  }
}

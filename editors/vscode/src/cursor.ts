/**
 * Where the cursor rests, for the server's prefill. Pure: no `vscode` import.
 *
 * The server evaluates the prompt of a completion at the cursor into the model's KV cache while
 * the user reads (`lfcode/cursor`, a custom notification with LSP `TextDocumentPositionParams`),
 * so the first suggestion there only pays for what was typed since. The extension sends it when
 * the active editor changes or its cursor stops moving for `CURSOR_DEBOUNCE_MS`.
 */

export const CURSOR_NOTIFICATION = "lfcode/cursor";
/** Quiet time after the last cursor move before the notification goes, in milliseconds. */
export const CURSOR_DEBOUNCE_MS = 300;

export interface CursorParams {
  textDocument: { uri: string };
  position: { line: number; character: number };
}

/** The notification's params: an LSP `TextDocumentPositionParams` (UTF-16 character offset). */
export function cursorParams(uri: string, line: number, character: number): CursorParams {
  return { textDocument: { uri }, position: { line, character } };
}

type Timer = unknown;

/** Calls `send` with the latest value once `delayMs` passed without a newer one. */
export class Debouncer<T> {
  private timer: Timer | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly send: (value: T) => void,
    private readonly schedule: (run: () => void, ms: number) => Timer = (run, ms) => setTimeout(run, ms),
    private readonly cancel: (timer: Timer) => void = (timer) => clearTimeout(timer as NodeJS.Timeout),
  ) {}

  push(value: T): void {
    if (this.timer !== undefined) {
      this.cancel(this.timer);
    }
    this.timer = this.schedule(() => {
      this.timer = undefined;
      this.send(value);
    }, this.delayMs);
  }

  dispose(): void {
    if (this.timer !== undefined) {
      this.cancel(this.timer);
      this.timer = undefined;
    }
  }
}

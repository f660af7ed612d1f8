/**
 * Inline completion trigger kinds. Pure: no `vscode` import.
 *
 * VS Code's API numbers `InlineCompletionTriggerKind` Invoke = 0, Automatic = 1.
 * vscode-languageclient 9.0.x copies that number into `InlineCompletionContext.triggerKind`
 * unchanged (the *proposed* protocol had the same numbering), but the final LSP 3.18, lsprotocol
 * and Neovim use Invoked = 1, Automatic = 2. Sent as is, "Trigger Inline Suggestion" arrived as 0,
 * which the server refused (-32602, "Error in server: Invalid Params"), and every automatic
 * request arrived as Invoked (several items, no debounce). The middleware translates before the
 * client converts; an activation test checks the numbers that reach the server, so a client
 * release that translates by itself would be caught.
 */

/** LSP 3.18 `InlineCompletionTriggerKind`. */
export const LSP_INVOKED = 1;
export const LSP_AUTOMATIC = 2;

/** VS Code `InlineCompletionTriggerKind` (also vscode-languageclient 9's proposed numbering). */
export const VSCODE_INVOKE = 0;
export const VSCODE_AUTOMATIC = 1;

/** VS Code's trigger kind → LSP 3.18's: Automatic → 2, anything else (Invoke) → 1. */
export function lspInlineTriggerKind(vscodeKind: unknown): number {
  return vscodeKind === VSCODE_AUTOMATIC ? LSP_AUTOMATIC : LSP_INVOKED;
}

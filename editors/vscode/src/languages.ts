/** The languages lfcode serves, and the document selector built from them. Pure: no `vscode` import. */

export const LANGUAGES: readonly string[] = [
  "python",
  "javascript",
  "typescript",
  "typescriptreact",
  "javascriptreact",
  "go",
  "rust",
  "java",
  "c",
  "cpp",
];

export interface DocumentFilter {
  scheme: string;
  language: string;
}

/** Saved files and untitled buffers of every served language. */
export function documentSelector(languages: readonly string[] = LANGUAGES): DocumentFilter[] {
  return languages.flatMap((language) => [
    { scheme: "file", language },
    { scheme: "untitled", language },
  ]);
}

/** `onLanguage:` activation events, as listed in package.json. */
export function activationEvents(languages: readonly string[] = LANGUAGES): string[] {
  return languages.map((language) => `onLanguage:${language}`);
}

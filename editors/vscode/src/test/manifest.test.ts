/** package.json must agree with the pure modules: settings, languages, commands. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { RESTART_COMMAND, SERVER_COMMANDS } from "../commands";
import { LANGUAGES, activationEvents, documentSelector } from "../languages";
import { MACHINE_CLIENT_KEYS, MACHINE_KEYS, SETTINGS } from "../settings";

interface Property {
  type: string | string[];
  default: unknown;
  enum?: string[];
  scope?: string;
}

// Compiled to out/test/, so the manifest is two levels up.
const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
const properties: Record<string, Property> = manifest.contributes.configuration.properties;

test("identity fields needed by vsce", () => {
  assert.equal(manifest.name, "lfcode");
  assert.equal(manifest.publisher, "lfcode");
  assert.equal(manifest.version, "0.1.0");
  assert.equal(manifest.engines.vscode, "^1.90.0");
  assert.ok(manifest.repository, "repository field");
  assert.equal(manifest.main, "./out/extension.js");
});

test("every server setting is contributed with the server's default and type", () => {
  for (const spec of SETTINGS) {
    const property = properties[`lfcode.${spec.vscodeKey}`];
    assert.ok(property, `lfcode.${spec.vscodeKey} is contributed`);
    assert.deepEqual(property.default, spec.default, `default of lfcode.${spec.vscodeKey}`);
    const types = Array.isArray(property.type) ? property.type : [property.type];
    assert.ok(types.includes(spec.type), `type of lfcode.${spec.vscodeKey}`);
    if (spec.default === null) {
      assert.ok(types.includes("null"), `lfcode.${spec.vscodeKey} accepts null`);
    }
    assert.deepEqual(property.enum, spec.enum, `enum of lfcode.${spec.vscodeKey}`);
  }
});

test("no contributed setting is forgotten by the mapping", () => {
  const mapped = new Set(SETTINGS.map((s) => `lfcode.${s.vscodeKey}`));
  const clientOnly = new Set([...MACHINE_CLIENT_KEYS.map((k) => `lfcode.${k}`), "lfcode.trace.server"]);
  for (const key of Object.keys(properties)) {
    assert.ok(mapped.has(key) || clientOnly.has(key), `${key} is mapped or client-only`);
  }
});

test("every machine-level key is `scope: machine` and a restricted configuration", () => {
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, "limited");
  assert.ok(typeof untrusted.description === "string" && untrusted.description.length > 0);
  const restricted: string[] = untrusted.restrictedConfigurations;
  for (const key of MACHINE_KEYS) {
    const name = `lfcode.${key}`;
    assert.ok(properties[name], `${name} is contributed`);
    assert.equal(properties[name].scope, "machine", `scope of ${name}`);
    assert.ok(restricted.includes(name), `${name} is in restrictedConfigurations`);
  }
  // And nothing else is: the other settings stay per-workspace.
  const machineScoped = Object.keys(properties).filter((k) => properties[k].scope === "machine");
  assert.deepEqual(machineScoped.sort(), MACHINE_KEYS.map((k) => `lfcode.${k}`).sort());
  assert.deepEqual([...restricted].sort(), MACHINE_KEYS.map((k) => `lfcode.${k}`).sort());
  assert.ok(!Object.values(properties).some((p) => p.scope === "machine-overridable"), "no machine-overridable");
});

test("lfcode.sandbox: required (default) or off", () => {
  const sandbox = properties["lfcode.sandbox"];
  assert.equal(sandbox.default, "required");
  assert.deepEqual(sandbox.enum, ["required", "off"]);
  assert.equal(SETTINGS.find((s) => s.vscodeKey === "sandbox")?.serverKey, "sandbox");
});

test("activation events cover every served language", () => {
  assert.deepEqual(manifest.activationEvents, activationEvents());
  assert.equal(LANGUAGES.length, 10);
});

test("document selector: file and untitled for each language", () => {
  const selector = documentSelector();
  assert.equal(selector.length, LANGUAGES.length * 2);
  assert.ok(selector.some((f) => f.scheme === "file" && f.language === "typescriptreact"));
  assert.ok(selector.some((f) => f.scheme === "untitled" && f.language === "cpp"));
});

test("the four commands are contributed", () => {
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(contributed, [...Object.keys(SERVER_COMMANDS), RESTART_COMMAND].sort());
  const titles = Object.fromEntries(
    manifest.contributes.commands.map((c: { command: string; title: string; category: string }) => [
      c.command,
      `${c.category}: ${c.title}`,
    ]),
  );
  assert.equal(titles["lfcode.explain"], "lfcode: Explain symbol");
  assert.equal(titles["lfcode.generateTests"], "lfcode: Generate tests");
  assert.equal(titles["lfcode.reviewChanges"], "lfcode: Review changes");
});

test("pure modules load without the vscode module", () => {
  for (const name of ["serverCommand", "settings", "status", "commands", "languages"]) {
    const source = readFileSync(join(__dirname, "..", `${name}.js`), "utf8");
    assert.doesNotMatch(source, /require\("vscode"\)/, name);
  }
});

// The real-editor checks of the lfcode VS Code extension: code-server (VS Code in a browser, on
// loopback) with the packaged extension, driven by playwright-core in Debian's headless chromium.
// Started by run.sh, which provides CODE_SERVER, PLAYWRIGHT_CORE_DIR, LFCODE_BIN, VSIX and
// LFCODE_E2E_WORK. Two editor sessions: the fake backend (deterministic, chosen through the
// environment) for most checks, then the embedded model for one.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE_DIR);

const here = dirname(fileURLToPath(import.meta.url));
const WORK = process.env.LFCODE_E2E_WORK;
const LFCODE_BIN = process.env.LFCODE_BIN;
const CODE_SERVER = process.env.CODE_SERVER;
const VSIX = process.env.VSIX;
// Where the ghost-text screenshot goes; the README's is docs/vscode-ghost-text.png (set this to refresh it).
const SCREENSHOT = process.env.LFCODE_E2E_SCREENSHOT || join(WORK, "ghost-text.png");
const SKIP_EMBEDDED = !!process.env.LFCODE_E2E_SKIP_EMBEDDED;

// A review finding must quote its added line; the script's token probability (0.99) supports it.
const FINDING = JSON.stringify([{ line: 2, quote: "return a + b", severity: "error", category: "bug", message: "sub() adds instead of subtracting" }]);
const COMPLETION = "return a + b\n";

// ---- a tiny sequential runner ---------------------------------------------------------------

const results = [];
async function check(name, body) {
  const t0 = Date.now();
  try {
    await body();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    results.push({ name, ok: false, ms: Date.now() - t0, error });
    console.log(`FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n     ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n     ")}`);
    return false;
  }
}

function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, probe, timeoutMs = 30000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) {
        return last;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${String(last).slice(0, 300)})` : ""}`);
    }
    await sleep(everyMs);
  }
}

/** The editor's DOM text uses non-breaking spaces (U+00A0) for spaces: normalise them. */
const norm = (text) => (text ?? "").replace(/\u00a0/g, " ");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function filesUnder(dir, test) {
  const found = [];
  const walk = (d) => {
    let entries = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (test(p)) {
        found.push(p);
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

// ---- one editor session ---------------------------------------------------------------------

class Session {
  constructor(name, { env = {}, userSettings = {} } = {}) {
    this.name = name;
    this.root = join(WORK, name);
    this.dirs = Object.fromEntries(
      ["home", "user-data", "extensions", "config", "data", "cache", "state", "chromium-profile", "project"].map((d) => [d, join(this.root, d)]),
    );
    Object.values(this.dirs).forEach((d) => mkdirSync(d, { recursive: true }));
    this.extraEnv = env;
    this.userSettings = userSettings;
    this.env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LFCODE_") && !k.startsWith("VSCODE_"))),
      HOME: this.dirs.home,
      XDG_CONFIG_HOME: this.dirs.config,
      XDG_DATA_HOME: this.dirs.data,
      XDG_CACHE_HOME: this.dirs.cache,
      XDG_STATE_HOME: this.dirs.state,
      ...env,
    };
  }

  writeSettings() {
    // `lfcode.server.path` is machine-scoped: in code-server, machine settings live in Machine/.
    const machine = join(this.dirs["user-data"], "Machine");
    const user = join(this.dirs["user-data"], "User");
    mkdirSync(machine, { recursive: true });
    mkdirSync(user, { recursive: true });
    writeFileSync(join(machine, "settings.json"), JSON.stringify({ "lfcode.server.path": LFCODE_BIN }, null, 2));
    writeFileSync(
      join(user, "settings.json"),
      JSON.stringify(
        {
          "workbench.startupEditor": "none",
          "workbench.tips.enabled": false,
          "workbench.enableExperiments": false,
          "workbench.welcomePage.walkthroughs.openOnInstall": false,
          "telemetry.telemetryLevel": "off",
          "update.mode": "none",
          "extensions.autoCheckUpdates": false,
          "extensions.autoUpdate": false,
          "git.enabled": false,
          "editor.quickSuggestions": { other: false, comments: false, strings: false },
          "editor.suggestOnTriggerCharacters": false,
          "editor.wordBasedSuggestions": "off",
          "editor.inlineSuggest.enabled": true,
          "editor.minimap.enabled": false,
          "workbench.secondarySideBar.defaultVisibility": "hidden",
          "files.autoSave": "off",
          "files.insertFinalNewline": false,
          "files.trimTrailingWhitespace": false,
          "lfcode.trace.server": "verbose",
          ...this.userSettings,
        },
        null,
        2,
      ),
    );
  }

  codeServer(args, options = {}) {
    return execFileSync(CODE_SERVER, [
      "--user-data-dir", this.dirs["user-data"],
      "--extensions-dir", this.dirs.extensions,
      ...args,
    ], { env: this.env, encoding: "utf8", timeout: 120000, ...options });
  }

  async start() {
    this.writeSettings();
    this.codeServer(["--install-extension", VSIX]);
    this.port = await freePort();
    this.log = join(this.root, "code-server.log");
    const out = (await import("node:fs")).openSync(this.log, "a");
    this.proc = spawn(
      CODE_SERVER,
      [
        "--auth", "none",
        "--bind-addr", `127.0.0.1:${this.port}`,
        "--user-data-dir", this.dirs["user-data"],
        "--extensions-dir", this.dirs.extensions,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-getting-started-override",
        "--ignore-last-opened",
        this.dirs.project,
      ],
      { env: this.env, stdio: ["ignore", out, out], detached: true },
    );
    await waitFor("code-server to listen", async () => {
      const r = await fetch(`http://127.0.0.1:${this.port}/healthz`).catch(() => undefined);
      return r?.ok;
    }, 60000, 200);
    // A fresh profile (inside the work folder) for each session.
    this.context = await chromium.launchPersistentContext(this.dirs["chromium-profile"], {
      executablePath: "/usr/bin/chromium",
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
      ],
    });
    this.browser = this.context;
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.page.on("pageerror", (error) => (this.pageErrors ??= []).push(String(error)));
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.dirs.project)}`);
    await this.page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
    await this.page.locator(".statusbar").waitFor({ timeout: 60000 });
  }

  async stop() {
    await this.browser?.close().catch(() => undefined);
    if (this.proc && this.proc.exitCode === null) {
      try {
        process.kill(-this.proc.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      await Promise.race([new Promise((resolve) => this.proc.once("exit", resolve)), sleep(5000)]);
      try {
        process.kill(-this.proc.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }

  // -- editor helpers ------------------------------------------------------------------------

  /**
   * Run `step` (F1 and what follows) up to three times: F1 pressed while the workbench is still
   * busy (an extension host starting, a restart after trusting the folder) is sometimes lost.
   * A step that never succeeds still fails, with its last error.
   */
  async retryF1(label, step) {
    let lastError;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.page.keyboard.press("Escape");
        await this.page.keyboard.press("F1");
        await step();
        return;
      } catch (error) {
        lastError = error;
        console.log(`     ${label}: attempt ${attempt} failed (${String(error.message).split("\n")[0]})`);
      }
    }
    throw lastError;
  }

  async palette(command) {
    const page = this.page;
    await this.retryF1(`palette "${command}"`, async () => {
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible", timeout: 10000 });
      await input.fill(`>${command}`);
      const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: command }).first();
      await row.waitFor({ state: "visible", timeout: 10000 });
      await waitFor(`"${command}" to be the first palette entry`, async () =>
        norm(await page.locator(".quick-input-widget .monaco-list-row.focused").first().textContent()).includes(command),
        10000,
      );
      await page.keyboard.press("Enter");
    });
  }

  async openFile(name) {
    const page = this.page;
    await this.retryF1(`quick open "${name}"`, async () => {
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible", timeout: 10000 });
      await input.fill(name);
      await waitFor(`${name} in quick open`, async () =>
        norm(await page.locator(".quick-input-widget .monaco-list-row.focused").first().textContent()).includes(name),
        15000,
      );
      await page.keyboard.press("Enter");
    });
    await page.locator(`.tab.active`, { hasText: name }).waitFor({ timeout: 15000 });
    await page.locator(".monaco-editor .view-lines").first().waitFor({ timeout: 15000 });
  }

  /** Focus the active editor and put the cursor at the end of the document. */
  async toEnd() {
    await this.page.keyboard.press("Escape");
    await this.page.locator(".monaco-editor .view-lines").first().click();
    await this.page.keyboard.press("Control+End");
  }

  async goTo(line, column) {
    await this.palette("Go to Line/Column");
    await this.page.keyboard.type(`${line}:${column}`);
    await this.page.keyboard.press("Enter");
  }

  async statusText() {
    const items = await this.page.locator(".statusbar-item").allTextContents();
    return norm(items.find((t) => t.includes("lfcode")) ?? "");
  }

  async ghostText() {
    const parts = await this.page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").allTextContents();
    return norm(parts.join("")).trim();
  }

  async toasts() {
    return (await this.page.locator(".notifications-toasts .notification-toast").allTextContents()).map(norm);
  }

  outputChannel() {
    return filesUnder(join(this.dirs["user-data"], "logs"), (p) => /lfcode\.log$/.test(p)).map((p) => readFileSync(p, "utf8")).join("\n");
  }

  extensionHostLog() {
    return filesUnder(join(this.dirs["user-data"], "logs"), (p) => /exthost\d*\.log$|remoteexthost\.log$/.test(p))
      .map((p) => `--- ${p}\n${readFileSync(p, "utf8")}`)
      .join("\n");
  }

  dumpLogs() {
    const tail = (text, n = 200) => text.split("\n").slice(-n).join("\n");
    console.log(`\n===== ${this.name}: extension host log (tail) =====\n${tail(this.extensionHostLog())}`);
    console.log(`\n===== ${this.name}: lfcode output channel (tail) =====\n${tail(this.outputChannel(), 300)}`);
    if (existsSync(this.log ?? "")) {
      console.log(`\n===== ${this.name}: code-server log (tail) =====\n${tail(readFileSync(this.log, "utf8"), 60)}`);
    }
    if (this.pageErrors?.length) {
      console.log(`\n===== ${this.name}: page errors =====\n${this.pageErrors.join("\n")}`);
    }
  }

  async screenshot(name) {
    const file = join(this.root, `${name}.png`);
    await this.page?.screenshot({ path: file }).catch(() => undefined);
    return file;
  }
}

function git(cwd, ...args) {
  execFileSync("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "commit.gpgsign=false", ...args], { cwd, stdio: "ignore" });
}

/** The project: a git repository with one committed file changed (for review) and add.py. */
function makeProject(session, { hostile }) {
  const p = session.dirs.project;
  writeFileSync(join(p, "calc.py"), "def sub(a, b):\n    return a - b\n");
  writeFileSync(join(p, "add.py"), "def add(a, b):"); // no final newline: Ctrl+End is the end of line 1
  git(p, "init", "-q", "-b", "main");
  git(p, "add", "-A");
  git(p, "commit", "-q", "-m", "init");
  writeFileSync(join(p, "calc.py"), "def sub(a, b):\n    return a + b\n");
  if (hostile) {
    // What a hostile repository may ship: machine-level values it must not be able to choose.
    mkdirSync(join(p, ".vscode"));
    writeFileSync(join(p, ".git", "info", "exclude"), ".vscode/\n");
    session.hostileMark = join(session.root, "hostile-ran");
    const hostileServer = join(session.root, "hostile-lfcode");
    writeFileSync(hostileServer, `#!/bin/sh\ntouch "${session.hostileMark}"\nexec "${LFCODE_BIN}" "$@"\n`);
    chmodSync(hostileServer, 0o755);
    writeFileSync(
      join(p, ".vscode", "settings.json"),
      JSON.stringify({
        "lfcode.server.path": hostileServer,
        "lfcode.server.pythonPath": hostileServer,
        "lfcode.backend": "openai",
        "lfcode.openaiUrl": "http://127.0.0.1:9/v1",
        "lfcode.model": "/nonexistent/hostile.gguf",
      }),
    );
  }
}

// ---- the checks -----------------------------------------------------------------------------

async function fakeBackendSession() {
  const scriptDir = join(WORK, "fake");
  mkdirSync(scriptDir, { recursive: true });
  const script = join(scriptDir, "script.json");
  // The review (run before any typing) takes the queued finding; every other generation (inline
  // completions, Explain) gets the default.
  writeFileSync(script, JSON.stringify({ responses: [FINDING], default: COMPLETION, probability: 0.99 }));
  const s = new Session("fake", {
    env: { LFCODE_BACKEND: "fake", LFCODE_FAKE_SCRIPT: script, LFCODE_FAKE_RECORD: join(scriptDir, "record.jsonl") },
  });
  makeProject(s, { hostile: true });
  let ok = true;
  const run = async (name, body) => {
    ok = (await check(`[fake] ${name}`, body)) && ok;
  };
  try {
    await run("code-server starts with the extension installed", async () => {
      await s.start();
      const installed = s.codeServer(["--list-extensions", "--show-versions"]);
      assert(/lfcode\.lfcode@0\.1\.0/.test(installed), `lfcode.vsix installed: ${installed}`);
    });
    if (!ok) {
      return false;
    }

    await run("Restricted Mode: activates, status bar ready, the workspace's machine-level values ignored", async () => {
      await waitFor("Restricted Mode", async () =>
        (await s.page.locator(".statusbar-item").allTextContents()).some((t) => norm(t).includes("Restricted Mode")), 30000);
      await s.openFile("add.py");
      await waitFor('status bar "lfcode: ready"', async () => (await s.statusText()) === "lfcode: ready", 60000);
      const out = s.outputChannel();
      assert(out.includes(`lfcode: starting ${LFCODE_BIN} serve (from setting)`), `started from the user's machine setting:\n${out.slice(0, 2000)}`);
      assert(!existsSync(s.hostileMark), "the workspace's lfcode.server.path was run");
      assert(!/openai|hostile\.gguf|127\.0\.0\.1:9\//.test(out.split("\n").filter((l) => l.includes("initializationOptions") || l.includes("\"backend\"")).join("\n")),
        "a workspace machine-level value was sent to the server");
    });

    await run("trust the folder: F1 → Manage Workspace Trust → Trust", async () => {
      await s.palette("Manage Workspace Trust");
      const trust = s.page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust$/ }).first();
      await trust.waitFor({ state: "visible", timeout: 15000 });
      await trust.click();
      await waitFor("Restricted Mode gone", async () =>
        !(await s.page.locator(".statusbar-item").allTextContents()).some((t) => norm(t).includes("Restricted Mode")), 15000);
      await s.palette("View: Close All Editors");
      await waitFor('status bar "lfcode: ready" after trust', async () => (await s.statusText()) === "lfcode: ready", 60000);
      assert(!existsSync(s.hostileMark), "the workspace's lfcode.server.path was run once trusted");
    });

    await run('"lfcode: Review changes" puts a diagnostic in the Problems panel', async () => {
      await s.palette("lfcode: Review changes");
      await s.palette("View: Focus Problems");
      await waitFor("the finding in the Problems panel", async () =>
        norm(await s.page.locator(".markers-panel").first().textContent()).includes("sub() adds instead of subtracting"), 60000);
      const problems = norm(await s.page.locator(".markers-panel").first().textContent());
      assert(problems.includes("calc.py"), `the finding is on calc.py: ${problems}`);
    });

    await run("automatic typing shows ghost text from lfcode; Tab inserts it (read back from the saved file)", async () => {
      await s.openFile("add.py");
      await s.toEnd(); // end of "def add(a, b):"
      const t0 = Date.now();
      await s.page.keyboard.press("Enter"); // VS Code indents the new line
      const ghost = await waitFor("ghost text", async () => {
        const text = await s.ghostText();
        return text.includes("return a + b") ? text : undefined;
      }, 20000, 20);
      s.ghostLatencyMs = Date.now() - t0;
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await s.page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: 400 } });
      assert(ghost.includes("return a + b"), ghost);
      await s.page.keyboard.press("Tab");
      await s.page.keyboard.press("Control+S");
      await waitFor("add.py saved with the suggestion", () =>
        readFileSync(join(s.dirs.project, "add.py"), "utf8") === "def add(a, b):\n    return a + b", 10000);
      console.log(`     keystroke → ghost text: ${s.ghostLatencyMs} ms`);
    });

    await run('"Trigger Inline Suggestion" from the palette shows ghost text, with no error toast', async () => {
      await s.page.keyboard.press("Escape");
      await s.toEnd(); // end of "    return a + b"
      await s.page.keyboard.press("Enter");
      await waitFor("ghost text from the automatic request", async () => (await s.ghostText()).includes("return a + b"), 20000, 20);
      await s.page.keyboard.press("Escape");
      await waitFor("ghost text hidden", async () => (await s.ghostText()) === "", 5000);
      const before = (s.outputChannel().match(/"triggerKind": 1/g) ?? []).length;
      await s.palette("Trigger Inline Suggestion");
      await waitFor("ghost text after the explicit trigger", async () => (await s.ghostText()).includes("return a + b"), 20000, 20);
      await waitFor("an Invoked (1) request in the trace", () => (s.outputChannel().match(/"triggerKind": 1/g) ?? []).length > before, 10000);
      const trace = s.outputChannel();
      assert(/"triggerKind": 2/.test(trace), "automatic requests are sent as Automatic (2)");
      assert(!/"triggerKind": 0/.test(trace), "no request was sent with triggerKind 0");
      assert(!/Invalid params|Error in server/i.test(trace), "no error in the lfcode output");
      const toasts = await s.toasts();
      assert(!toasts.some((t) => /error|invalid/i.test(t)), `error toast: ${JSON.stringify(toasts)}`);
      await s.page.keyboard.press("Escape");
    });

    await run("Ctrl+. lists lfcode's code actions; Explain opens a document", async () => {
      await s.goTo(1, 6); // on "add"
      await s.page.keyboard.press("Control+.");
      const menu = s.page.locator(".action-widget");
      await waitFor("the code action menu", async () => norm(await menu.first().textContent()).includes("lfcode: Explain"), 15000);
      const listed = norm(await menu.first().textContent());
      assert(listed.includes("lfcode: Explain `add`") && listed.includes("lfcode: Generate tests for `add`"), listed);
      await menu.locator(".monaco-list-row", { hasText: "lfcode: Explain" }).first().click();
      await waitFor("the explanation tab", async () => {
        const tabs = (await s.page.locator(".tab").allTextContents()).map(norm);
        return tabs.some((t) => /\.md\b/.test(t));
      }, 30000);
      const text = norm(await s.page.locator(".monaco-editor .view-lines").first().textContent());
      assert(text.length > 0, "the explanation has text");
      const toasts = await s.toasts();
      assert(!toasts.some((t) => /error/i.test(t)), `error toast: ${JSON.stringify(toasts)}`);
    });
  } finally {
    if (!ok) {
      await s.screenshot("failure");
      s.dumpLogs();
    }
    await s.stop();
  }
  return ok;
}

async function embeddedModelSession() {
  const s = new Session("embedded");
  makeProject(s, { hostile: false });
  let ok = true;
  try {
    ok = await check("[embedded] the embedded model (default backend) gives ghost text", async () => {
      await s.start();
      await s.openFile("add.py");
      await s.palette("Manage Workspace Trust");
      const trust = s.page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust$/ }).first();
      await trust.waitFor({ state: "visible", timeout: 15000 });
      await trust.click();
      await s.palette("View: Close All Editors");
      await s.openFile("add.py");
      // First load assembles the model into XDG_CACHE_HOME (inside the work folder).
      await waitFor('status bar "lfcode: ready"', async () => (await s.statusText()) === "lfcode: ready", 240000, 500);
      assert(filesUnder(join(s.dirs.cache, "lfcode"), (p) => p.endsWith(".gguf")).length > 0, "the model was assembled in XDG_CACHE_HOME");
      await s.toEnd();
      const t0 = Date.now();
      await s.page.keyboard.press("Enter");
      const ghost = await waitFor("ghost text from the embedded model", async () => (await s.ghostText()) || undefined, 60000, 50);
      console.log(`     keystroke → ghost text (embedded model): ${Date.now() - t0} ms: ${JSON.stringify(ghost.slice(0, 80))}`);
      const toasts = await s.toasts();
      assert(!toasts.some((t) => /error/i.test(t)), `error toast: ${JSON.stringify(toasts)}`);
    });
  } finally {
    if (!ok) {
      await s.screenshot("failure");
      s.dumpLogs();
    }
    await s.stop();
  }
  return ok;
}

async function main() {
  for (const [name, value] of Object.entries({ LFCODE_E2E_WORK: WORK, LFCODE_BIN, CODE_SERVER, VSIX })) {
    assert(value, `${name} is not set (run run.sh)`);
  }
  console.log(`e2e: code-server ${execFileSync(CODE_SERVER, ["--version"], { encoding: "utf8", env: { ...process.env, XDG_CONFIG_HOME: join(WORK, "xdg"), XDG_DATA_HOME: join(WORK, "xdg") } }).trim().split("\n").at(-1)}`);
  const t0 = Date.now();
  let ok = await fakeBackendSession();
  console.log(`e2e: fake-backend session ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (!SKIP_EMBEDDED) {
    const t1 = Date.now();
    ok = (await embeddedModelSession()) && ok;
    console.log(`e2e: embedded-model session ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`\ne2e: ${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(ok && failed.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

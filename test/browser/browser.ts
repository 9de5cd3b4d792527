// Debian's Chromium (/usr/bin/chromium, never a downloaded browser) driven by playwright-core,
// one browser per test file, a fresh context (no storage, no cache, no cookies) per page.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type BrowserContext, type CDPSession, type Page, type Request } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Where screenshots go (the README's are copied from here to docs/screenshots/). */
export const SCREENSHOT_DIR = path.resolve(process.env.BROWSE_SCREENSHOTS ?? ".test-results/browser");

/** The desktop width the screenshots are taken at. */
export const DESKTOP = { width: 1280, height: 860 };

export interface Browser {
  /** A new page in a fresh context, with the registry's origin allowed to use the clipboard. */
  open(url: string): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Script errors and console errors (CSP or Trusted Types violations among them). */
  errors: string[];
  /** Every request the page made, from the first navigation on. */
  requests: Request[];
  /** How often the browser's own HTTP-auth dialog would have opened (counted through CDP). */
  authPrompts(): number;
  close(): Promise<void>;
}

/** Launches Chromium (playwright-core gives it a fresh temporary profile). */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  return {
    async open(url) {
      const origin = new URL(url).origin;
      const ctx = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1, colorScheme: "light" });
      await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
      const page = await ctx.newPage();
      const errors: string[] = [];
      const requests: Request[] = [];
      page.on("request", (r) => requests.push(r));
      page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
      page.on("console", (msg) => {
        // A refused request (401/403/404) is logged by Chromium as a console error: expected, not a page fault.
        if (msg.type() === "error" && !/Failed to load resource: the server responded with a status of (401|403|404)/.test(msg.text())) {
          errors.push(`console: ${msg.text()}`);
        }
      });
      const prompts = await watchAuthPrompts(await ctx.newCDPSession(page));
      await page.goto(url);
      return {
        page,
        context: ctx,
        errors,
        requests,
        authPrompts: prompts,
        close: () => ctx.close(),
      };
    },
    close: () => browser.close(),
  };
}

/**
 * Counts HTTP authentication challenges the browser itself would answer with its login dialog.
 * Chromium asks its embedder for credentials (Fetch.authRequired here) exactly when it would show
 * that dialog; this cancels each one, as a user closing the dialog would.
 */
async function watchAuthPrompts(cdp: CDPSession): Promise<() => number> {
  let count = 0;
  cdp.on("Fetch.requestPaused", (event) => {
    cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
  });
  cdp.on("Fetch.authRequired", (event) => {
    count++;
    cdp.send("Fetch.continueWithAuth", { requestId: event.requestId, authChallengeResponse: { response: "CancelAuth" } }).catch(() => {});
  });
  await cdp.send("Fetch.enable", { handleAuthRequests: true, patterns: [{ urlPattern: "*" }] });
  return () => count;
}

/** One browser for the current test file. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  }, 30_000);
  return () => {
    if (!browser) throw new Error("browser not launched");
    return browser;
  };
}

/**
 * Pages opened in a test are closed after it, and it fails if the page had script or console
 * errors or the browser would have shown its HTTP-auth dialog.
 */
export function usePages(browser: () => Browser): { visit(url: string): Promise<WatchedPage>; current(): WatchedPage } {
  const opened: WatchedPage[] = [];
  afterEach(async () => {
    const pages = opened.splice(0);
    for (const watched of pages) {
      const prompts = watched.authPrompts();
      await watched.close();
      expect(watched.errors, "script or console errors on the page").toEqual([]);
      expect(prompts, "the browser's HTTP-auth dialog would have opened").toBe(0);
    }
  });
  return {
    async visit(url) {
      const watched = await browser().open(url);
      opened.push(watched);
      return watched;
    },
    current() {
      const watched = opened.at(-1);
      if (!watched) throw new Error("no page opened in this test");
      return watched;
    },
  };
}

/** Saves a screenshot of the page down to the end of its content (desktop width) under SCREENSHOT_DIR. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  const bottom = Number(await page.evaluate("Math.ceil(document.querySelector('main').getBoundingClientRect().bottom + window.scrollY)"));
  await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: DESKTOP.width, height: Math.max(bottom + 8, 360) } });
  return file;
}

/** The clipboard's text, read in the page (the origin may read it: see open()). */
export function readClipboard(page: Page): Promise<string> {
  return page.evaluate("navigator.clipboard.readText()");
}

// The browse page on a registry in basic mode: anonymous browsing where the rules allow it, the
// page's sign-in form (never the browser's own dialog), a wrong password, a pull-only user whose
// delete is refused, and a delete that works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Request } from "playwright-core";
import { startRegistry, type RunningRegistry } from "../conformance/registry";
import { getManifest } from "../conformance/oci";
import { screenshot, useBrowser, usePages } from "./browser";
import { AuthorizedClient, basicAuth } from "./fixtures";
import { ALICE, BOB, basicMode, expectSignedInAs, pushAuthFixtures, repositories, signIn, type AuthFixtures } from "./auth";

const browser = useBrowser();
const pages = usePages(browser);
let registry: RunningRegistry;
let fixtures: AuthFixtures;

beforeAll(async () => {
  registry = await startRegistry(await basicMode());
  fixtures = await pushAuthFixtures(registry.url);
}, 180_000);

afterAll(async () => {
  await registry?.stop();
}, 30_000);

/** The Authorization headers the page sent to the /v2/ API. */
function apiAuthorizations(requests: Request[]): (string | undefined)[] {
  return requests.filter((r) => new URL(r.url()).pathname.startsWith("/v2/")).map((r) => r.headers().authorization);
}

describe("anonymous", () => {
  it("sees what anonymous callers may pull, and a sign-in button", async () => {
    const { page, requests } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    expect(await page.locator(".who").innerText()).toContain("Anonymous");
    await page.getByRole("link", { name: "public/tools" }).click();
    await expect.poll(() => page.locator("tr[data-tag='1.0']").innerText()).toContain("linux/amd64");
    expect(apiAuthorizations(requests).length).toBeGreaterThan(0);
    expect(apiAuthorizations(requests).every((a) => a === undefined)).toBe(true);
  });

  it("is asked to sign in for a private repository", async () => {
    const { page } = await pages.visit(`${registry.url}/#/private/app`);
    const form = page.locator("form.signin");
    await form.waitFor();
    expect(await form.innerText()).toContain("Sign in to see this (the registry said UNAUTHORIZED: authentication required).");
    await signIn(page, BOB);
    await expectSignedInAs(page, BOB.name);
    await expect.poll(() => page.locator("tr[data-tag]").count()).toBe(2);
  });

  it("control: the auth-dialog probe does see a request that lets the browser answer the challenge", async () => {
    // The page's requests omit credentials; a request that includes them gets the browser's dialog.
    const watched = await browser().open(`${registry.url}/`);
    try {
      const status = await watched.page.evaluate("fetch('/v2/', { credentials: 'same-origin' }).then((r) => r.status)");
      expect(status).toBe(401);
      expect(watched.authPrompts()).toBe(1);
    } finally {
      await watched.close();
    }
  });
});

describe("signing in", () => {
  it("a sign-in the registry no longer accepts (password changed) ends, and the page asks again", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    await page.evaluate(`sessionStorage.setItem("edge-registry.browse.session", JSON.stringify({ mode: "basic", username: "alice", password: "old-password" }))`);
    await page.goto(`${registry.url}/#/private/app`);
    await page.reload();
    await expect.poll(() => page.locator("form.signin").innerText()).toContain("UNAUTHORIZED: invalid username or password");
    expect(await page.locator(".who").innerText()).toContain("Anonymous");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
  });

  it("shows the registry's error for a wrong password and stays anonymous", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    await signIn(page, { name: ALICE.name, password: "wrong" });
    await expect.poll(() => page.locator("form.signin .error").innerText()).toBe("Sign-in failed: UNAUTHORIZED: invalid username or password");
    expect(await page.locator(".who").innerText()).toContain("Anonymous");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await screenshot(page, "sign-in");
  });

  it("a pull-only user browses private repositories; the registry refuses their delete, and the page says why", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await signIn(page, BOB);
    await expectSignedInAs(page, BOB.name);
    await expect.poll(() => repositories(page)).toEqual(["private/app", "public/tools"]);

    await page.goto(`${registry.url}/#/private/app:old`);
    // Basic mode cannot tell before trying: the button is there, the registry decides.
    await page.getByRole("button", { name: "Delete manifest…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.locator(".danger-zone .error").innerText()).toBe(
      "DENIED: requested access to the resource is denied: bob may not delete on private/app",
    );
    const alice = new AuthorizedClient(registry.url, basicAuth(ALICE.name, ALICE.password));
    expect((await getManifest(alice, "private/app", "old")).status).toBe(200);
  });

  it("a user who may delete deletes; the sign-in lasts for the tab, until signing out", async () => {
    const watched = await pages.visit(`${registry.url}/#/private/app:old`);
    const { page } = watched;
    await page.locator("form.signin").waitFor(); // the anonymous attempt is over
    const before = watched.requests.length;
    await signIn(page, ALICE);
    await expectSignedInAs(page, ALICE.name);
    await page.getByRole("button", { name: "Delete manifest…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.locator(".notice").innerText()).toBe(`Deleted private/app@${fixtures.old.descriptor.digest}.`);
    await expect.poll(() => page.locator("tr[data-tag]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-tag")))).toEqual(["1.0"]);
    const alice = new AuthorizedClient(registry.url, basicAuth(ALICE.name, ALICE.password));
    expect((await getManifest(alice, "private/app", fixtures.old.descriptor.digest)).status).toBe(404);
    const signedIn = apiAuthorizations(watched.requests.slice(before));
    expect(signedIn.length).toBeGreaterThan(0);
    expect(signedIn.every((a) => a === basicAuth(ALICE.name, ALICE.password))).toBe(true);

    await page.reload();
    await expectSignedInAs(page, ALICE.name);
    await page.locator(".who").getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator(".who").innerText()).toContain("Anonymous");
    await expect.poll(() => page.locator("form.signin").isVisible()).toBe(true); // private/app again needs a sign-in
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
  });
});

// The browse page on a registry in token mode: anonymous tokens where the rules allow anonymous
// pull, sign-in through /token with the user's credentials (then refresh-token grants and Bearer
// tokens per scope, as docker does), a wrong password, a pull-only user who is offered no delete,
// and a delete that works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Request } from "playwright-core";
import { startRegistry, type RunningRegistry } from "../conformance/registry";
import { getManifest } from "../conformance/oci";
import { useBrowser, usePages } from "./browser";
import { AuthorizedClient, basicAuth } from "./fixtures";
import { ALICE, BOB, expectSignedInAs, pushAuthFixtures, repositories, signIn, tokenMode, type AuthFixtures } from "./auth";

const pages = usePages(useBrowser());
let registry: RunningRegistry;
let fixtures: AuthFixtures;

beforeAll(async () => {
  registry = await startRegistry(await tokenMode());
  fixtures = await pushAuthFixtures(registry.url);
}, 180_000);

afterAll(async () => {
  await registry?.stop();
}, 30_000);

const to = (requests: Request[], prefix: string) => requests.filter((r) => new URL(r.url()).pathname.startsWith(prefix));

describe("anonymous", () => {
  it("browses public repositories with anonymous tokens", async () => {
    const { page, requests } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    await page.getByRole("link", { name: "public/tools" }).click();
    await expect.poll(() => page.locator("tr[data-tag='1.0']").innerText()).toContain("linux/amd64");

    // The catalog needs a token even for anonymous callers (the catalog scope); public pulls need none.
    const tokens = to(requests, "/token");
    expect(tokens.map((r) => new URL(r.url()).searchParams.get("scope"))).toEqual(["registry:catalog:*"]);
    expect(tokens.map((r) => [r.method(), r.headers().authorization])).toEqual([["GET", undefined]]);
    const catalog = to(requests, "/v2/_catalog");
    expect(catalog.map((r) => r.headers().authorization?.split(" ")[0])).toEqual([undefined, "Bearer"]);
    expect(to(requests, "/v2/").every((r) => !r.headers().authorization?.startsWith("Basic"))).toBe(true);
  });

  it("is asked to sign in for a private repository", async () => {
    const { page } = await pages.visit(`${registry.url}/#/private/app:1.0`);
    await page.locator("form.signin").waitFor();
    await signIn(page, ALICE);
    await expectSignedInAs(page, ALICE.name);
    await page.getByRole("heading", { name: "Layers (1)" }).waitFor();
  });
});

describe("signing in", () => {
  it("a refresh token the token service refuses ends the sign-in, and the page asks again", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    await page.evaluate(`sessionStorage.setItem("edge-registry.browse.session", JSON.stringify({ mode: "token", username: "alice", refreshToken: "e30.e30.AAAA" }))`);
    await page.goto(`${registry.url}/#/private/app`);
    await page.reload();
    await expect.poll(() => page.locator("form.signin").innerText()).toContain("your sign-in is no longer valid (invalid refresh token");
    expect(await page.locator(".who").innerText()).toContain("Anonymous");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
  });

  it("shows the token service's error for a wrong password and stays anonymous", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await expect.poll(() => repositories(page)).toEqual(["public/tools"]);
    await signIn(page, { name: BOB.name, password: "wrong" });
    await expect.poll(() => page.locator("form.signin .error").innerText()).toBe("Sign-in failed: UNAUTHORIZED: invalid username or password");
    expect(await page.locator(".who").innerText()).toContain("Anonymous");
  });

  it("a pull-only user browses private repositories and is offered no delete", async () => {
    const { page } = await pages.visit(`${registry.url}/`);
    await signIn(page, BOB);
    await expectSignedInAs(page, BOB.name);
    await expect.poll(() => repositories(page)).toEqual(["private/app", "public/tools"]);
    await page.goto(`${registry.url}/#/private/app:old`);
    await expect.poll(() => page.locator(".danger-zone").innerText()).toContain("You may not delete manifests in this repository.");
    expect(await page.getByRole("button", { name: "Delete manifest…" }).count()).toBe(0);
  });

  it("logs in at /token once, then uses refresh-token grants and bearer tokens; deletes; keeps no password", async () => {
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

    const requests = watched.requests.slice(before);
    // The password went to the token service once (the password grant); everything after is a refresh grant.
    const grants = to(requests, "/token").map((r) => new URLSearchParams(r.postData() ?? "").get("grant_type"));
    expect(grants[0]).toBe("password");
    expect(grants.slice(1).length).toBeGreaterThan(0);
    expect(grants.slice(1).every((g) => g === "refresh_token")).toBe(true);
    expect(to(requests, "/token").filter((r) => (r.postData() ?? "").includes(ALICE.password)).length).toBe(1);
    // The registry saw bearer tokens only, and a delete token was asked for.
    const api = to(requests, "/v2/").filter((r) => r.headers().authorization !== undefined);
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((r) => r.headers().authorization!.startsWith("Bearer "))).toBe(true);
    const scopes = to(requests, "/token").map((r) => new URLSearchParams(r.postData() ?? "").get("scope"));
    expect(scopes).toContain("repository:private/app:delete");

    const stored = String(await page.evaluate("JSON.stringify(sessionStorage)"));
    expect(stored).toContain("refreshToken");
    expect(stored).not.toContain(ALICE.password);
    await page.reload();
    await expectSignedInAs(page, ALICE.name);
    await page.locator(".who").getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator(".who").innerText()).toContain("Anonymous");
  });
});

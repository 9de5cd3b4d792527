// The browse page on a registry whose auth is not configured (it refuses every request, saying
// why): the page still loads and shows that reason instead of a sign-in form.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRegistry, type RunningRegistry } from "../conformance/registry";
import { useBrowser, usePages } from "./browser";

const pages = usePages(useBrowser());
let registry: RunningRegistry;

beforeAll(async () => {
  // wrangler.local.toml says AUTH_MODE=open; emptied, nothing is configured.
  registry = await startRegistry({ vars: { AUTH_MODE: "" } });
}, 180_000);

afterAll(async () => {
  await registry?.stop();
}, 30_000);

it("shows why the registry refuses every request", async () => {
  const { page } = await pages.visit(`${registry.url}/`);
  await expect.poll(() => page.locator("main .error").innerText()).toBe(
    "UNAUTHORIZED: registry refuses all requests: authentication is not configured: set AUTH_MODE=open for a public registry, or configure users, a JWT key or a token service (see the README)",
  );
  expect(await page.locator(".who").innerText()).toBe("");
  expect(await page.locator("form.signin").count()).toBe(0);
});

// What the basic- and token-mode page tests share: the users, the rules, the settings of each mode,
// the images (a public and a private repository) and signing in through the page.
import { exportJWK, generateKeyPair } from "jose";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { hashPassword } from "../../src/auth/passwords";
import type { RegistryOptions } from "../conformance/registry";
import { AuthorizedClient, basicAuth, pushImage, type PushedImage } from "./fixtures";

export const ALICE = { name: "alice", password: "alice-s3cret" };
export const BOB = { name: "bob", password: "bob-r3ader" };

/** alice may do everything, bob may only pull; anonymous callers may pull public/*. */
async function authVars(): Promise<Record<string, string>> {
  const users = [
    // Few PBKDF2 iterations: the tests check the flow, not the hash's cost.
    { username: ALICE.name, password: await hashPassword(ALICE.password, 1000), actions: ["*"] },
    { username: BOB.name, password: await hashPassword(BOB.password, 1000), actions: ["pull"] },
  ];
  return {
    AUTH_USERS: JSON.stringify(users),
    AUTH_RULES: JSON.stringify([{ repository: "public/*", anonymous: true, actions: ["pull"] }]),
  };
}

export async function basicMode(): Promise<RegistryOptions> {
  return { vars: { AUTH_MODE: "basic", ...(await authVars()) } };
}

export async function tokenMode(): Promise<RegistryOptions> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { vars: { AUTH_MODE: "token", AUTH_TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)), ...(await authVars()) } };
}

export interface AuthFixtures {
  /** private/app:old, the one that gets deleted. */
  old: PushedImage;
}

/** Pushes public/tools:1.0 and private/app:{1.0,old} as alice (Basic works in both modes). */
export async function pushAuthFixtures(url: string): Promise<AuthFixtures> {
  const c = new AuthorizedClient(url, basicAuth(ALICE.name, ALICE.password));
  await pushImage(c, "public/tools", { seed: "public-tools", layers: [20_000], created: "2025-09-01T12:00:00Z" }, "1.0");
  await pushImage(c, "private/app", { seed: "private-app", layers: [30_000], created: "2025-09-02T12:00:00Z" }, "1.0");
  const old = await pushImage(c, "private/app", { seed: "private-app-old", layers: [10_000], created: "2025-08-01T12:00:00Z" }, "old");
  return { old };
}

/** Signs in with the page's form (opened from the header unless it is already showing). */
export async function signIn(page: Page, user: { name: string; password: string }): Promise<void> {
  const form = page.locator("form.signin");
  if (!(await form.isVisible())) await page.locator(".who").getByRole("button", { name: "Sign in" }).click();
  await form.getByLabel("User name").fill(user.name);
  await form.getByLabel("Password or token").fill(user.password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

export async function expectSignedInAs(page: Page, name: string): Promise<void> {
  await expect.poll(() => page.locator(".who").innerText()).toContain(`Signed in as ${name}`);
}

export const repositories = (page: Page) => page.locator("ul.repos li").allInnerTexts();

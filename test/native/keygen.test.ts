// `npm run auth -- keygen` (scripts/auth.ts) never replaces existing keys unless told to (--force):
// a replaced private key would silently invalidate every token and JWT password signed with it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ROOT } from "./harness";

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function keygen(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts/run-ts.mjs"), path.join(ROOT, "scripts/auth.ts"), "keygen", ...args], { cwd, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("auth keygen", () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), "keygen-"));
  dirs.push(cwd);
  const keys = path.join(cwd, "registry-keys");

  test("writes to ./registry-keys by default, which the repository ignores", () => {
    const first = keygen(cwd);
    expect(first.code).toBe(0);
    expect(existsSync(path.join(keys, "private.pem"))).toBe(true);
    expect(first.stdout).toContain(".gitignore");
    const ignored = spawnSync("git", ["check-ignore", "-q", "registry-keys/private.pem"], { cwd: ROOT });
    expect(ignored.status).toBe(0);
  });

  test("refuses to overwrite existing keys, changing nothing", () => {
    const before = readFileSync(path.join(keys, "private.jwk.json"), "utf8");
    const again = keygen(cwd);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds .*private\.jwk\.json.*--force/);
    expect(readFileSync(path.join(keys, "private.jwk.json"), "utf8")).toBe(before);
  });

  test("refuses when only one of the files is there", () => {
    const other = path.join(cwd, "partial");
    keygen(cwd, "--out", other);
    rmSync(path.join(other, "private.pem"));
    rmSync(path.join(other, "public.pem"));
    rmSync(path.join(other, "public.jwk.json"));
    writeFileSync(path.join(other, "private.jwk.json"), "{}");
    expect(keygen(cwd, "--out", other).code).toBe(2);
    expect(readFileSync(path.join(other, "private.jwk.json"), "utf8")).toBe("{}");
    expect(existsSync(path.join(other, "public.pem"))).toBe(false);
  });

  test("--force replaces them", () => {
    const before = readFileSync(path.join(keys, "private.jwk.json"), "utf8");
    const forced = keygen(cwd, "--force");
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(keys, "private.jwk.json"), "utf8")).not.toBe(before);
  });
});

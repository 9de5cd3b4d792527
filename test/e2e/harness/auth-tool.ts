// `npm run auth -- …` (scripts/auth.ts) as a user runs it: keys, password hashes, JWTs.
import path from "node:path";
import { run } from "./exec";
import { REPO_ROOT } from "./registry";

/** Runs the auth tool in `cwd` with `input` on stdin; returns its trimmed stdout. */
export async function authTool(cwd: string, args: string[], input?: string): Promise<string> {
  const script = [path.join(REPO_ROOT, "scripts/run-ts.mjs"), path.join(REPO_ROOT, "scripts/auth.ts")];
  return (await run(process.execPath, [...script, ...args], { input, cwd })).stdout.trim();
}

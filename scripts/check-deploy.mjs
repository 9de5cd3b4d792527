#!/usr/bin/env node
// Checks that the production configuration (wrangler.toml.example) builds and binds what the
// worker needs: `wrangler deploy --dry-run` on a copy of it. Needs no Cloudflare account.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(path.join(tmpdir(), "deploy-check-"));
try {
  const example = readFileSync(path.join(root, "wrangler.toml.example"), "utf8");
  // wrangler only reads files named like wrangler.toml; the entry point stays in this repository.
  const config = example.replace(/^main = "(.*)"$/m, (_, main) => `main = ${JSON.stringify(path.join(root, main))}`);
  writeFileSync(path.join(dir, "wrangler.toml"), config);
  const result = spawnSync(
    process.execPath,
    [path.join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", path.join(dir, "out")],
    { cwd: dir, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  const output = `${result.stdout}\n${result.stderr}`;
  const expected = ["env.UPLOADS (UploadSession)", "env.AUTH_FAILURES (AuthFailureCounter)", "env.BLOB_FLIGHTS (BlobFlight)", "env.BUCKET", "--dry-run: exiting now."];
  const missing = expected.filter((line) => !output.includes(line));
  if (result.status !== 0 || missing.length > 0) {
    console.error(output);
    console.error(`deploy check failed (exit ${result.status}); missing in output: ${missing.join(", ")}`);
    process.exit(1);
  }
  console.log("wrangler.toml.example: builds, binds BUCKET, UPLOADS, AUTH_FAILURES and BLOB_FLIGHTS (dry run)");
} finally {
  rmSync(dir, { recursive: true, force: true });
}

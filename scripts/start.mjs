#!/usr/bin/env node
// Starts the registry locally on one runtime: `npm start` (the default, Bun), or
//   node scripts/start.mjs --runtime bun|deno|node|workerd
// REGISTRY_RUNTIME chooses when --runtime is not given. Bun, Deno and Node run the self-hosted
// registry (src/runtimes/<name>/main.ts, bundled with esbuild into DATA_DIR/build/); workerd is the
// Workers form on miniflare (scripts/serve.mjs). Settings: the README ("Running it").
// The runtimes come from node_modules (the bun, deno and node npm packages); nothing is downloaded.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RUNTIMES = ["bun", "deno", "node", "workerd"];
export const DEFAULT_RUNTIME = "bun";

function chosenRuntime(argv) {
  const i = argv.indexOf("--runtime");
  const value = i !== -1 ? argv[i + 1] : argv.find((a) => a.startsWith("--runtime="))?.slice("--runtime=".length);
  const runtime = value ?? (process.env.REGISTRY_RUNTIME || DEFAULT_RUNTIME);
  if (!RUNTIMES.includes(runtime)) {
    console.error(`start: unknown runtime ${JSON.stringify(runtime)}; choose one of ${RUNTIMES.join(", ")}`);
    process.exit(2);
  }
  return runtime;
}

/** The runtime binary from node_modules/.bin (so a fresh clone needs nothing else). */
function runtimeBinary(name) {
  if (name === "node") return process.execPath;
  const bin = path.join(root, "node_modules", ".bin", name);
  if (!existsSync(bin)) {
    console.error(`start: ${bin} is missing; run npm ci first`);
    process.exit(1);
  }
  return bin;
}

// Paths given by the user are relative to where they ran the command (npm runs scripts in the root).
const base = process.env.INIT_CWD || process.cwd();
for (const name of ["DATA_DIR", "SETTINGS_FILE", "VARS_FILE", "TLS_CERT", "TLS_KEY"]) {
  if (process.env[name]) process.env[name] = path.resolve(base, process.env[name]);
}

const runtime = chosenRuntime(process.argv.slice(2));
if (runtime === "workerd") {
  await import(pathToFileURL(path.join(root, "scripts", "serve.mjs")).href);
} else {
  const { build, stop: stopEsbuild } = await import("esbuild");
  const dataDir = path.resolve(process.env.DATA_DIR || path.join(root, ".data"));
  const buildDir = path.join(dataDir, "build");
  mkdirSync(buildDir, { recursive: true });
  const bundle = path.join(buildDir, `registry-${runtime}.mjs`);
  await build({
    entryPoints: [path.join(root, "src", "runtimes", runtime, "main.ts")],
    outfile: bundle,
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "node",
    sourcemap: true,
    logLevel: "warning",
    // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
  // End esbuild's service process now rather than keep it beside the registry.
  await stopEsbuild();
  process.env.DATA_DIR = dataDir;
  const args = runtime === "deno" ? ["run", "--allow-all", "--quiet", bundle] : runtime === "node" ? ["--enable-source-maps", "--disable-warning=ExperimentalWarning", bundle] : [bundle];
  // The registry stops by itself if this launcher dies without passing a signal on (SIGKILL).
  const env = { ...process.env, REGISTRY_LAUNCHER_PID: String(process.pid) };
  const child = spawn(runtimeBinary(runtime), args, { cwd: root, stdio: "inherit", env });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

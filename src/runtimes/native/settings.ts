// Settings of a self-hosted registry (and of the local workerd form): the same names as the Workers
// vars, from a settings file and the environment. One file only: SETTINGS_FILE when given (it
// replaces the default, never merges with it), else `.dev.vars` in the working directory if it
// exists. The environment overrides the file. Names the registry does not know are reported.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { CORE_SETTING_NAMES, type RegistrySettings } from "../../settings";
import { referencedSettingNames } from "../../extensions/pull-through/config";
import { LIMIT_SETTINGS } from "./http";

export type Settings = RegistrySettings & Record<string, string | undefined>;

/** Settings of the process around the core (listening, storage, the workerd form's front). */
export const PROCESS_SETTING_NAMES: readonly string[] = [
  "PORT", "HOST", "DATA_DIR", "TLS_CERT", "TLS_KEY", "SETTINGS_FILE", "VARS_FILE", "REGISTRY_RUNTIME",
  ...Object.values(LIMIT_SETTINGS),
  // The workerd form only (scripts/serve.mjs, src/runtimes/workers/env.ts).
  "MAX_IN_FLIGHT", "MAX_IN_FLIGHT_BODYLESS", "R2_READ_PIECE_BYTES", "INSPECTOR_PORT",
];

const KNOWN = new Set([...CORE_SETTING_NAMES, ...PROCESS_SETTING_NAMES]);

/** Prefixes of our setting names: an environment variable with one of them that we do not know is likely a typo. */
const OWN_PREFIXES = /^(AUTH|UPLOAD|HTTP|BROWSE|ACCEPT|MAX|TLS|METRICS|LOG|GC)_/;

export class SettingsError extends Error {}

/**
 * `KEY=value` per line, `#` comments, blank lines; a "double-quoted" value is a JSON string (so it may hold
 * newlines and quotes), a 'single-quoted' one is literal. The .dev.vars format wrangler reads.
 */
export function parseSettingsFile(text: string, file = "settings file"): Record<string, string> {
  const settings: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) throw new SettingsError(`${file}:${i + 1}: expected KEY=value, got ${JSON.stringify(line.slice(0, 80))}`);
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        throw new SettingsError(`${file}:${i + 1}: ${m[1]}: a "double-quoted" value must be a JSON string`);
      }
    } else if (/^'.*'$/s.test(value)) {
      value = value.slice(1, -1);
    }
    settings[m[1]!] = value;
  }
  return settings;
}

export interface SettingsSource {
  /** The settings file read, or null when none was. */
  file: string | null;
  values: Record<string, string>;
}

/** The one settings file: SETTINGS_FILE (or the older VARS_FILE) when set, which must exist; else `.dev.vars` in `cwd` if present. */
export function readSettingsFile(env: Readonly<Record<string, string | undefined>>, cwd: string): SettingsSource {
  const explicit = env.SETTINGS_FILE || env.VARS_FILE;
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, ".dev.vars");
  if (!explicit && !existsSync(file)) return { file: null, values: {} };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SettingsError(`cannot read the settings file ${file}: ${(err as Error).message}`);
  }
  return { file, values: parseSettingsFile(text, file) };
}

/**
 * Names in the file the registry does not know, and environment variables that look like ours but are not.
 * `alsoKnown`: names a setting refers to (e.g. the secret an upstream's password is read from).
 */
export function unknownSettingNames(
  file: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
  alsoKnown: Iterable<string> = [],
): string[] {
  const known = new Set([...KNOWN, ...alsoKnown]);
  const unknown = Object.keys(file).filter((name) => !known.has(name));
  for (const name of Object.keys(env)) if (OWN_PREFIXES.test(name) && !known.has(name) && !unknown.includes(name)) unknown.push(name);
  return unknown.sort();
}

export const isLoopbackHost = (host: string) => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Auth defaults a registry listening on loopback only can safely assume: with no auth setting at all,
 * open (nobody else can reach it); in token mode, this server's own address as the audience and realm.
 * Never derived from a request. On other addresses nothing is assumed: missing settings are an error.
 */
export function withLocalAuthDefaults(settings: Settings, listen: { host: string; port: number; https: boolean }): Settings {
  if (!isLoopbackHost(listen.host)) return settings;
  const out: Settings = { ...settings };
  // Any auth setting given, even an empty one (AUTH_MODE= on purpose), and nothing is assumed.
  const anyAuth = Object.keys(out).some((name) => (name.startsWith("AUTH_") || name === "JWT_REGISTRY_TOKENS_PUBLIC_KEY") && out[name] !== undefined);
  if (!anyAuth) out.AUTH_MODE = "open";
  if (out.AUTH_MODE === "token") {
    const hostPart = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
    out.AUTH_SERVICE ||= `${hostPart}:${listen.port}`;
    out.AUTH_TOKEN_REALM ||= `${listen.https ? "https" : "http"}://${hostPart}:${listen.port}/token`;
  }
  return out;
}

export interface ProcessSettings {
  settings: Settings;
  file: string | null;
  unknown: string[];
  host: string;
  port: number;
  dataDir: string;
  tls: { cert: string; key: string } | null;
}

/** Everything a native entry needs to start: the file, then the environment over it, then the local defaults. */
export function readProcessSettings(env: Readonly<Record<string, string | undefined>>, cwd: string): ProcessSettings {
  const source = readSettingsFile(env, cwd);
  const merged: Settings = { ...source.values };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  const host = merged.HOST || "127.0.0.1";
  const port = Number(merged.PORT || 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SettingsError(`PORT must be a port number, got ${merged.PORT}`);
  const dataDir = path.resolve(cwd, merged.DATA_DIR || ".data");
  let tls: ProcessSettings["tls"] = null;
  if (merged.TLS_CERT || merged.TLS_KEY) {
    if (!merged.TLS_CERT || !merged.TLS_KEY) throw new SettingsError("TLS_CERT and TLS_KEY go together: set both or neither");
    const read = (name: "TLS_CERT" | "TLS_KEY") => {
      try {
        return readFileSync(path.resolve(cwd, merged[name]!), "utf8");
      } catch (err) {
        throw new SettingsError(`${name}: cannot read ${merged[name]}: ${(err as Error).message}`);
      }
    };
    tls = { cert: read("TLS_CERT"), key: read("TLS_KEY") };
  }
  return {
    settings: withLocalAuthDefaults(merged, { host, port, https: tls !== null }),
    file: source.file,
    // The secrets an upstream's password or token is read from are known names too.
    unknown: unknownSettingNames(source.values, env, referencedSettingNames(merged)),
    host,
    port,
    dataDir,
    tls,
  };
}

// Operator tool for the registry's auth settings: `npm run auth -- <command>` (usage below).
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseActions } from "../src/auth/access";
import { hashPassword } from "../src/auth/passwords";

const USAGE = `usage: npm run auth -- <command>

  hash-password [password]             PBKDF2 hash for AUTH_USERS (password from stdin if omitted)
  user <name> <actions> [groups]       one AUTH_USERS entry as JSON (password from stdin or --password),
                                       e.g. user ci pull,push team-a
  keygen [--alg ES256|RS256|EdDSA] [--out DIR] [--force]
                                       a key pair in DIR (default ./registry-keys, git-ignored here):
                                       private.jwk.json, public.jwk.json, private.pem, public.pem; prints
                                       the values for AUTH_JWT_PUBLIC_KEY and AUTH_TOKEN_SIGNING_KEY.
                                       Existing key files are never replaced without --force
  mint --key DIR/private.jwk.json [--user NAME] [--capabilities pull,push]
       [--repo "team-a/*=pull,push"]... [--groups a,b] [--expires 30d] [--aud X] [--iss Y]
                                       a JWT to use as the Basic password (JWT-as-password mode)`;

function fail(message: string): never {
  console.error(`auth: ${message}`);
  process.exit(2);
}

/** Flags that take no value. */
const SWITCHES = new Set(["force"]);

function options(args: string[]): { flags: Map<string, string[]>; positional: string[] } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    if (SWITCHES.has(arg.slice(2))) {
      flags.set(arg.slice(2), ["true"]);
      continue;
    }
    const value = args[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    flags.set(arg.slice(2), [...(flags.get(arg.slice(2)) ?? []), value]);
  }
  return { flags, positional };
}

async function readPassword(given?: string): Promise<string> {
  if (given !== undefined) return given;
  if (process.stdin.isTTY) process.stderr.write("password: ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (!password) fail("empty password");
  return password;
}

function actionsArg(text: string, what: string): string[] {
  const words = text.split(",").map((w) => w.trim()).filter(Boolean);
  const actions = parseActions(words);
  if (actions.length === 0 || actions.length < words.filter((w) => w !== "*").length) {
    fail(`${what}: actions are pull, push, delete, admin or *, comma-separated (got "${text}")`);
  }
  return actions;
}

/** "30d", "12h", "15m", "3600" (seconds) → seconds. */
function duration(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) fail(`--expires takes a number with s, m, h or d (got "${text}")`);
  return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
}

const KEY_FILES = ["public.jwk.json", "private.jwk.json", "public.pem", "private.pem"];

async function keygen(flags: Map<string, string[]>): Promise<void> {
  const alg = flags.get("alg")?.[0] ?? "ES256";
  if (!["ES256", "RS256", "EdDSA"].includes(alg)) fail("--alg is ES256, RS256 or EdDSA");
  const dir = path.resolve(flags.get("out")?.[0] ?? "registry-keys");
  // A replaced private key locks out every token and JWT password signed with the old one.
  const existing = KEY_FILES.filter((file) => existsSync(path.join(dir, file)));
  if (existing.length > 0 && !flags.has("force")) {
    fail(`${dir} already holds ${existing.join(", ")}: not replacing them (tokens and JWT passwords signed with that key would stop working). Use another --out, or --force to replace them.`);
  }
  const write = flags.has("force") ? "w" : "wx"; // "wx": never over a file that appeared meanwhile
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = crypto.randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "public.jwk.json"), JSON.stringify(publicJwk, null, 2) + "\n", { flag: write });
  writeFileSync(path.join(dir, "private.jwk.json"), JSON.stringify(privateJwk, null, 2) + "\n", { mode: 0o600, flag: write });
  writeFileSync(path.join(dir, "public.pem"), await exportSPKI(publicKey), { flag: write });
  writeFileSync(path.join(dir, "private.pem"), await exportPKCS8(privateKey), { mode: 0o600, flag: write });
  console.log(`wrote ${alg} key pair to ${dir}/ (keep private.* secret; ./registry-keys/ is in .gitignore, anywhere else keep it out of version control)`);
  console.log(`\nAUTH_JWT_PUBLIC_KEY (JWT as password; base64 JWK, also accepted as JWT_REGISTRY_TOKENS_PUBLIC_KEY):`);
  console.log(Buffer.from(JSON.stringify(publicJwk)).toString("base64"));
  console.log(`\nAUTH_TOKEN_SIGNING_KEY (built-in token service; secret) is ${path.join(dir, "private.jwk.json")}:`);
  console.log(`  npx wrangler secret put AUTH_TOKEN_SIGNING_KEY < ${path.join(dir, "private.jwk.json")}`);
  console.log(`  or, on one line for .dev.vars: AUTH_TOKEN_SIGNING_KEY='${Buffer.from(JSON.stringify(privateJwk)).toString("base64")}'`);
}

async function mint(flags: Map<string, string[]>): Promise<void> {
  const keyFile = flags.get("key")?.[0] ?? fail("--key <private.jwk.json> is required");
  const jwk = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
  if (!jwk.d) fail(`${keyFile} is not a private key`);
  const alg = jwk.alg ?? (jwk.kty === "RSA" ? "RS256" : jwk.kty === "OKP" ? "EdDSA" : "ES256");
  const claims: Record<string, unknown> = { username: flags.get("user")?.[0] ?? "ci" };
  const capabilities = flags.get("capabilities")?.[0];
  if (capabilities) claims.capabilities = actionsArg(capabilities, "--capabilities");
  const repos = flags.get("repo") ?? [];
  if (repos.length > 0) {
    claims.repositories = Object.fromEntries(repos.map((r) => {
      const eq = r.lastIndexOf("=");
      if (eq <= 0) fail(`--repo takes pattern=actions, e.g. "team-a/*=pull,push" (got "${r}")`);
      return [r.slice(0, eq), actionsArg(r.slice(eq + 1), "--repo")];
    }));
  }
  if (!capabilities && repos.length === 0) fail("give --capabilities and/or --repo: a token without rights is useless");
  const groups = flags.get("groups")?.[0];
  if (groups) claims.groups = groups.split(",").filter(Boolean);
  let jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT", ...(jwk.kid ? { kid: jwk.kid } : {}) }).setIssuedAt();
  const expires = flags.get("expires")?.[0];
  if (expires) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + duration(expires));
  const aud = flags.get("aud")?.[0];
  if (aud) jwt = jwt.setAudience(aud);
  const iss = flags.get("iss")?.[0];
  if (iss) jwt = jwt.setIssuer(iss);
  console.log(await jwt.sign(await importJWK(jwk, alg)));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { flags, positional } = options(rest);
  switch (command) {
    case "hash-password":
      console.log(await hashPassword(await readPassword(positional[0])));
      return;
    case "user": {
      const [name, actions, groups] = positional;
      if (!name || !actions) fail("usage: user <name> <actions> [groups]  (password from stdin)");
      const entry: Record<string, unknown> = {
        username: name,
        password: await hashPassword(await readPassword(flags.get("password")?.[0])),
        actions: actionsArg(actions, "actions"),
      };
      if (groups) entry.groups = groups.split(",").filter(Boolean);
      console.log(JSON.stringify(entry));
      return;
    }
    case "keygen":
      return keygen(flags);
    case "mint":
      return mint(flags);
    default:
      console.error(USAGE);
      process.exit(command && command !== "help" ? 2 : 0);
  }
}

await main();

// The registry on Deno (run with --allow-all: files, network, environment, SQLite): `npm run start:deno`.
import process from "node:process";
import { startNativeRegistry } from "../native/main";

await startNativeRegistry({ name: "deno", version: process.versions.deno ?? "unknown" });

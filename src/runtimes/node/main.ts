// The registry on Node (>= 22.12, for node:sqlite): `npm run start:node`.
import process from "node:process";
import { startNativeRegistry } from "../native/main";

await startNativeRegistry({ name: "node", version: process.versions.node });

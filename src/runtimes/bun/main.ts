// The registry on Bun: `npm start` (the default runtime) or `npm run start:bun`.
import process from "node:process";
import { startNativeRegistry } from "../native/main";

await startNativeRegistry({ name: "bun", version: process.versions.bun ?? "unknown" });

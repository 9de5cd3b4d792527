// The registry on Bun: `npm start` (the default runtime) or `npm run start:bun`.
import process from "node:process";
import { startNativeRegistry } from "../native/main";
import { bunFileRanges } from "./file-ranges";

await startNativeRegistry({ name: "bun", version: process.versions.bun ?? "unknown", readRange: bunFileRanges });

// Runs one garbage collection on a native data directory, slowly (each deletion waits 300 ms after
// announcing itself), so the test can kill -9 it in the middle. argv: <data dir>
import process from "node:process";
import { createNativeRegistry } from "../../../../src/runtimes/native/registry";

const [dataDir] = process.argv.slice(2) as [string];
const registry = await createNativeRegistry({ dataDir, settings: { AUTH_MODE: "open", GC_INTERVAL_SECONDS: "0" } });
await registry.collectGarbage({
  beforeDelete: async (step, keys) => {
    console.log(JSON.stringify({ step, keys: keys.length }));
    await new Promise((resolve) => setTimeout(resolve, 300));
  },
});
console.log(JSON.stringify({ done: true }));
await registry.close();

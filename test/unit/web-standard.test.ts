/// <reference types="vite/client" />
// The core (src/ outside src/runtimes/) must run on any runtime with Web-standard APIs: it imports
// neither Node built-ins nor platform modules. Each runtime's entry and adapters live in
// src/runtimes/<runtime>/ (and the Durable Object adapter in durable/).
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>(["../../src/**/*.ts", "!../../src/runtimes/**"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** Bare specifiers the core may import: npm packages that are themselves Web-standard. */
const allowedPackages = new Set(["itty-router", "jose"]);

describe("web-standard core", () => {
  it("finds the sources, and none under src/runtimes/", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    expect(Object.keys(sources).filter((f) => f.includes("/runtimes/"))).toEqual([]);
  });

  for (const [file, text] of Object.entries(sources)) {
    it(`${file.replace("../../", "")} imports no platform modules`, () => {
      const imports = [...text.matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
      const outside = imports.filter((s) => !s.startsWith(".") && !allowedPackages.has(s) && !s.endsWith(".wasm"));
      expect(outside).toEqual([]);
      // Relative imports stay inside the core.
      expect(imports.filter((s) => s.includes("/runtimes/") || s.includes("durable/"))).toEqual([]);
    });
  }
});

/// <reference types="vite/client" />
// The core must run on any runtime with Web-standard APIs (Workers, Bun, Deno): only the two
// Cloudflare adapters may import platform modules, and nothing may import Node built-ins.
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>(["../../src/**/*.ts", "../../durable/**/*.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});
const cloudflareAdapters = new Set(["../../durable/upload-session.ts"]);

describe("web-standard core", () => {
  it("finds the sources", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
  });

  for (const [file, text] of Object.entries(sources)) {
    it(`${file.replace("../../", "")} imports no platform modules`, () => {
      const imports = [...text.matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
      expect(imports.filter((s) => s.startsWith("node:"))).toEqual([]);
      if (!cloudflareAdapters.has(file)) {
        expect(imports.filter((s) => s.startsWith("cloudflare:"))).toEqual([]);
      }
    });
  }
});

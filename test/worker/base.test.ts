// GET /v2/ — the API version check every client does first.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("base endpoint /v2/", () => {
  it("GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0", async () => {
    const res = await call("GET", "/v2/");
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("GET /v2 (no trailing slash) is the same endpoint", async () => {
    const res = await call("GET", "/v2");
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("HEAD /v2/ answers 200 without a body", async () => {
    const res = await call("HEAD", "/v2/");
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("a JSON body, when present, is valid JSON", async () => {
    const res = await call("GET", "/v2/");
    const text = await res.text();
    if (text.length > 0) expect(() => JSON.parse(text)).not.toThrow();
  });

  it("every response, errors included, carries the API version header", async () => {
    for (const [method, path] of [
      ["GET", "/v2/nonexistent-repo/tags/list"],
      ["GET", "/v2/UPPER/tags/list"],
      ["GET", "/v2/x/blobs/sha256:xyz"],
    ] as const) {
      const res = await call(method, path);
      await res.arrayBuffer();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get("Docker-Distribution-API-Version"), `${method} ${path}`).toBe("registry/2.0");
    }
  });
});

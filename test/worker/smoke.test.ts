import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers /v2/", async () => {
    const res = await SELF.fetch("http://registry/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });
  it("pushes a blob monolithically and reads it back", async () => {
    const body = new TextEncoder().encode("hello");
    const digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    const put = await SELF.fetch(`http://registry/v2/a/b/blobs/uploads/?digest=${digest}`, { method: "POST", body });
    expect(put.status, await put.text()).toBe(201);
    const get = await SELF.fetch(`http://registry/v2/a/b/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("hello");
  });
});

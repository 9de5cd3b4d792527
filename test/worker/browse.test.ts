// The browse page's routes (src/extensions/browse/): what / and its assets answer, the headers
// that keep registry data from running script, hostile methods and paths, and BROWSE_PAGE=off.
// What the page does in a browser is tested in test/browser/.
import { describe, expect, it } from "vitest";
import { ASSETS } from "../../src/extensions/browse/assets";
import { basic, keyPair, registryWith, userEntry } from "./auth-helpers";
import * as h from "./helpers";

const ASSET_PATHS = Object.keys(ASSETS).filter((p) => p !== "/");

function cspOf(res: Response): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of (res.headers.get("Content-Security-Policy") ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values.join(" "));
  }
  return directives;
}

describe("GET /", () => {
  it("serves the page with a strict Content-Security-Policy", async () => {
    const res = await h.call("GET", "/");
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    const csp = cspOf(res);
    expect(csp.get("default-src")).toBe("'none'");
    expect(csp.get("script-src")).toBe("'self'");
    expect(csp.get("style-src")).toBe("'self'");
    expect(csp.get("connect-src")).toBe("'self'");
    expect(csp.get("img-src")).toBe("'self'");
    expect(csp.get("form-action")).toBe("'none'");
    expect(csp.get("frame-ancestors")).toBe("'none'");
    expect(csp.get("require-trusted-types-for")).toBe("'script'");
    expect(csp.get("trusted-types")).toBe("'none'");
    expect(html).toContain('<script type="module" src="/browse/app.js"></script>');
    // No inline script or style that the policy would have to allow.
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/browse/app.js">']);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it("answers HEAD with the headers and no body, and a matching If-None-Match with 304", async () => {
    const get = await h.call("GET", "/");
    const length = (await get.arrayBuffer()).byteLength;
    const head = await h.call("HEAD", "/");
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(length));
    expect(head.headers.get("Content-Security-Policy")).toBe(get.headers.get("Content-Security-Policy"));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const etag = get.headers.get("ETag")!;
    expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
    const again = await h.call("GET", "/", { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    expect((await h.drain(await h.call("GET", "/", { headers: { "If-None-Match": '"other"' } }))).status).toBe(200);
  });

  it("loads nothing from outside the registry and uses no HTML sink", async () => {
    for (const [path, asset] of Object.entries(ASSETS)) {
      // The SVG namespace is a name, not something loaded.
      const body = asset.body.replace('xmlns="http://www.w3.org/2000/svg"', "");
      expect(body, path).not.toMatch(/https?:\/\/|url\(|@import|["'(]\/\//);
      if (path.endsWith(".js")) expect(body, path).not.toMatch(/\.(innerHTML|outerHTML|srcdoc)\b|insertAdjacentHTML|document\.write|\beval\(|new Function|DOMParser|createContextualFragment/);
    }
  });
});

describe("the page's assets", () => {
  it("serves every file the page references, with its type", async () => {
    const referenced = new Set<string>();
    for (const asset of Object.values(ASSETS)) {
      for (const m of asset.body.matchAll(/(?:src|href)="(\/browse\/[^"]+)"/g)) referenced.add(m[1]!);
      for (const m of asset.body.matchAll(/from "\.\/([^"]+)"/g)) referenced.add(`/browse/${m[1]}`);
    }
    expect([...referenced].sort()).toEqual([...ASSET_PATHS].sort());
    for (const path of ASSET_PATHS) {
      const res = await h.call("GET", path);
      const body = await res.text();
      expect(res.status, path).toBe(200);
      expect(body, path).toBe(ASSETS[path]!.body);
      expect(res.headers.get("Content-Type"), path).toBe(path.endsWith(".js") ? "text/javascript; charset=utf-8" : path.endsWith(".css") ? "text/css; charset=utf-8" : "image/svg+xml");
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
    }
  });

  it("answers unknown paths with 404 in the error envelope", async () => {
    for (const path of ["/browse/nope.js", "/browse/", "/browse", "/index.html", "/browse/app.js.map", "/browse/%2e%2e/app.js", "/browse/APP.JS", "/browse/app.js/x", "/favicon.ico"]) {
      await h.expectError(await h.call("GET", path), 404, "NAME_UNKNOWN");
    }
  });

  it("answers methods other than GET and HEAD with 405 UNSUPPORTED in the envelope", async () => {
    for (const path of ["/", "/browse/app.js"]) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
        const errors = await h.expectError(await h.call(method, path, method === "POST" || method === "PUT" ? { body: "<script>" } : {}), 405, "UNSUPPORTED");
        expect(errors[0]!.message).toBe(`${method} is not supported here`);
      }
    }
  });
});

describe("settings and auth", () => {
  it("BROWSE_PAGE=off: / and the assets are the 404 of any unknown path; the API is untouched", async () => {
    const registry = await registryWith({ AUTH_MODE: "open", BROWSE_PAGE: "off" });
    for (const path of ["/", ...ASSET_PATHS]) {
      await h.expectError(await registry(new Request(h.url(path))), 404, "NAME_UNKNOWN");
    }
    await h.expectError(await registry(new Request(h.url("/"), { method: "POST" })), 404, "NAME_UNKNOWN");
    expect((await h.drain(await registry(new Request(h.url("/v2/"))))).status).toBe(200);
    const on = await registryWith({ AUTH_MODE: "open", BROWSE_PAGE: "on" });
    expect((await h.drain(await on(new Request(h.url("/"))))).status).toBe(200);
  });

  it("refuses a BROWSE_PAGE that is neither on nor off", async () => {
    await expect(registryWith({ AUTH_MODE: "open", BROWSE_PAGE: "yes" })).rejects.toThrow('BROWSE_PAGE must be "on" or "off", got yes');
  });

  it("serves the page without credentials when the API needs them, with no challenge", async () => {
    const registry = await registryWith({ AUTH_MODE: "basic", AUTH_USERS: JSON.stringify([await userEntry("alice", "pw", ["pull"])]) });
    const page = await registry(new Request(h.url("/")));
    expect(page.status).toBe(200);
    expect(page.headers.get("WWW-Authenticate")).toBeNull();
    await page.arrayBuffer();
    const api = await registry(new Request(h.url("/v2/")));
    expect(api.status).toBe(401);
    await api.arrayBuffer();
    // Credentials change nothing: the page is the same for everyone.
    const signedIn = await registry(new Request(h.url("/"), { headers: { Authorization: basic("alice", "pw") } }));
    expect(signedIn.headers.get("ETag")).toBe(page.headers.get("ETag"));
    await signedIn.arrayBuffer();
  });

  it("lets the page reach an external token service (and nothing else)", async () => {
    const key = await keyPair();
    const registry = await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_REALM: "https://auth.example.com/token",
      AUTH_SERVICE: "registry",
      AUTH_TOKEN_TRUSTED_KEYS: JSON.stringify(key.publicJwk),
    });
    const res = await registry(new Request(h.url("/")));
    await res.arrayBuffer();
    expect(cspOf(res).get("connect-src")).toBe("'self' https://auth.example.com");
  });
});

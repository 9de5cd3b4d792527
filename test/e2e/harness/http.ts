// Talking to the registry's /v2/ API directly, to check what the clients left there.
import { createHash } from "node:crypto";
import { MT } from "./images";

export const MANIFEST_ACCEPT = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(", ");

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T = any>(): T;
}

export class RegistryApi {
  constructor(readonly baseUrl: string) {}

  url(pathOrUrl: string): string {
    return /^https?:/.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
  }

  /** fetch with the whole body read; never throws on HTTP status. */
  async request(method: string, pathOrUrl: string, init: { headers?: Record<string, string>; body?: Buffer | string | null } = {}): Promise<ApiResponse> {
    const res = await fetch(this.url(pathOrUrl), { method, headers: init.headers, body: init.body ?? undefined, redirect: "follow" });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      body,
      text: () => body.toString("utf8"),
      json: () => JSON.parse(body.toString("utf8")),
    };
  }

  /** Like request() but throws, with the response body, unless the status is one of `expect`. */
  async expect(expect: number | number[], method: string, pathOrUrl: string, init: Parameters<RegistryApi["request"]>[2] = {}): Promise<ApiResponse> {
    const res = await this.request(method, pathOrUrl, init);
    const ok = Array.isArray(expect) ? expect : [expect];
    if (!ok.includes(res.status)) {
      const hdrs = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n  ");
      throw new Error(`${method} ${this.url(pathOrUrl)} → ${res.status}, expected ${ok.join("|")}\n  ${hdrs}\n${res.text().slice(0, 4000)}`);
    }
    return res;
  }

  async manifest(repo: string, reference: string): Promise<{ digest: string | null; mediaType: string | null; bytes: Buffer; json: any }> {
    const res = await this.expect(200, "GET", `/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
    return { digest: res.headers.get("docker-content-digest"), mediaType: res.headers.get("content-type"), bytes: res.body, json: res.json() };
  }

  async blob(repo: string, digest: string): Promise<Buffer> {
    return (await this.expect(200, "GET", `/v2/${repo}/blobs/${digest}`)).body;
  }

  /** Streams a blob and returns its sha256 and length without buffering it (for big blobs). */
  async blobDigest(repo: string, digest: string): Promise<{ digest: string; size: number; contentLength: string | null }> {
    const res = await fetch(this.url(`/v2/${repo}/blobs/${digest}`));
    if (res.status !== 200 || !res.body) throw new Error(`GET blob ${repo}@${digest} → ${res.status}: ${await res.text()}`);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of res.body) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { digest: `sha256:${hash.digest("hex")}`, size, contentLength: res.headers.get("content-length") };
  }

  async tags(repo: string): Promise<string[]> {
    const res = await this.expect(200, "GET", `/v2/${repo}/tags/list`);
    return (res.json<{ tags: string[] | null }>().tags ?? []).slice().sort();
  }

  /** Every repository in the catalog (follows Link pagination). */
  async catalog(): Promise<string[]> {
    const out: string[] = [];
    let next: string | null = "/v2/_catalog?n=1000";
    for (let pages = 0; next && pages < 100; pages++) {
      const res = await this.expect(200, "GET", next);
      out.push(...(res.json<{ repositories: string[] | null }>().repositories ?? []));
      const link = res.headers.get("link");
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      next = m ? m[1]! : null;
    }
    return out.sort();
  }
}

// The browse page on an open registry (no auth): repositories, tags, an image down to its layers,
// a multi-arch index, referrers, the pull command, delete, and registry data that tries to run
// script. Screenshots of the three main views go to SCREENSHOT_DIR.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startRegistry, type RunningRegistry } from "../conformance/registry";
import { Client, getManifest, type Descriptor } from "../conformance/oci";
import { readClipboard, screenshot, useBrowser, usePages } from "./browser";
import { HOSTILE, pushImage, pushIndex, pushReferrer, seededBytes, type PushedImage } from "./fixtures";

const pages = usePages(useBrowser());
let registry: RunningRegistry;

const fixtures = {} as {
  nginxAmd64: PushedImage;
  nginxArm64: PushedImage;
  nginx126: PushedImage;
  nginx: Descriptor;
  signature: Descriptor;
  sbom: Descriptor;
  api: PushedImage;
  hostile: PushedImage;
  doomed: PushedImage;
};

const API_ANNOTATIONS = {
  "org.opencontainers.image.created": "2025-10-28T14:02:11Z",
  "org.opencontainers.image.source": "https://git.example.com/team/api",
  "org.opencontainers.image.revision": "4f1c9e2a7d",
  "org.opencontainers.image.title": "team API service",
};

beforeAll(async () => {
  registry = await startRegistry();
  const c = new Client(registry.url);
  await pushImage(c, "library/alpine", { seed: "alpine-3.21", layers: [3_641_000], created: "2025-01-08T11:04:21Z" }, "3.21");
  await pushImage(c, "library/alpine", { seed: "alpine-3.21", layers: [3_641_000], created: "2025-01-08T11:04:21Z" }, "latest");
  await pushImage(c, "library/alpine", { seed: "alpine-3.20", layers: [3_420_000], created: "2024-09-06T22:20:07Z" }, "3.20");

  const nginxLayers = [1_870_000, 612_000, 1_400];
  fixtures.nginxAmd64 = await pushImage(c, "library/nginx", { seed: "nginx-amd64", layers: nginxLayers, created: "2025-11-04T10:21:33Z", cmd: ["nginx", "-g", "daemon off;"] });
  fixtures.nginxArm64 = await pushImage(c, "library/nginx", {
    seed: "nginx-arm64",
    layers: nginxLayers.map((n) => n + 20_000),
    created: "2025-11-04T10:23:02Z",
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
    cmd: ["nginx", "-g", "daemon off;"],
  });
  const platforms = [fixtures.nginxAmd64.descriptor, fixtures.nginxArm64.descriptor];
  fixtures.nginx = await pushIndex(c, "library/nginx", platforms, "1.27");
  await pushIndex(c, "library/nginx", platforms, "latest");
  fixtures.nginx126 = await pushImage(c, "library/nginx", { seed: "nginx-1.26", layers: [1_850_000, 600_000], created: "2025-04-16T08:00:00Z" }, "1.26");
  fixtures.signature = await pushReferrer(
    c,
    "library/nginx",
    fixtures.nginx,
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    { mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", data: seededBytes("signature", 3_100) },
    { "org.opencontainers.image.created": "2025-11-04T10:30:00Z" },
  );
  fixtures.sbom = await pushReferrer(
    c,
    "library/nginx",
    fixtures.nginx,
    "application/spdx+json",
    { mediaType: "application/spdx+json", data: seededBytes("sbom", 48_200) },
    { "org.opencontainers.image.created": "2025-11-04T10:31:12Z" },
  );

  fixtures.api = await pushImage(
    c,
    "team/api",
    {
      seed: "team-api",
      layers: [28_400_000, 4_100_000, 310_000],
      created: "2025-10-28T14:02:11Z",
      cmd: ["/app/server", "--port", "8080"],
      env: ["PATH=/usr/local/bin:/usr/bin:/bin", "APP_ENV=production"],
      labels: { maintainer: "team-api@example.com", "com.example.tier": "backend" },
      annotations: API_ANNOTATIONS,
    },
    "v2.4.1",
  );
  await pushImage(c, "team/worker", { seed: "team-worker", layers: [12_000_000], created: "2025-10-30T09:12:44Z" }, "v1.0.3");

  const hostileText = `${HOSTILE.img} ${HOSTILE.script}`;
  fixtures.hostile = await pushImage(
    c,
    "qa/hostile",
    {
      seed: "hostile",
      layers: [2_000],
      created: HOSTILE.svg,
      cmd: [HOSTILE.script],
      env: [`X=${HOSTILE.img}`],
      labels: { [HOSTILE.img]: HOSTILE.svg, link: HOSTILE.link },
      annotations: {
        "org.opencontainers.image.title": hostileText,
        "org.opencontainers.image.url": HOSTILE.link,
        [HOSTILE.svg]: HOSTILE.template,
      },
      layerAnnotations: { "org.opencontainers.image.title": HOSTILE.img },
    },
    "xss",
  );
  await pushReferrer(
    c,
    "qa/hostile",
    fixtures.hostile.descriptor,
    `application/vnd.example+json; x=${HOSTILE.img}`,
    { mediaType: "application/octet-stream", data: seededBytes("hostile-ref", 100) },
    { [HOSTILE.script]: HOSTILE.img },
  );
  fixtures.doomed = await pushImage(c, "tools/ci-runner", { seed: "doomed", layers: [5_000], created: "2025-06-01T00:00:00Z" }, "doomed");
  await pushImage(c, "tools/ci-runner", { seed: "kept", layers: [6_000], created: "2025-06-02T00:00:00Z" }, "kept");
}, 180_000);

afterAll(async () => {
  await registry?.stop();
}, 30_000);

async function visit(hash: string): Promise<Page> {
  return (await pages.visit(`${registry.url}/${hash}`)).page;
}

/** The row of `tag` in the tag list, once its details (digest, size, …) have arrived. */
async function tagRow(page: Page, tag: string) {
  const row = page.locator(`tr[data-tag="${tag}"]`);
  await expect.poll(() => row.innerText(), { timeout: 20_000 }).not.toContain("…");
  const cells = await row.locator("td").allInnerTexts();
  return { row, cells: cells.map((c) => c.trim()) };
}

const host = () => new URL(registry.url).host;
const short = (digest: string) => digest.slice(0, "sha256:".length + 12);
/** Sizes of 1 to 10 MB as the page shows them. */
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

describe("repositories", () => {
  it("lists the catalog, filters it, and leads to a repository", async () => {
    const page = await visit("");
    const list = page.locator("ul.repos li");
    await expect.poll(() => list.allInnerTexts()).toEqual(["library/alpine", "library/nginx", "qa/hostile", "team/api", "team/worker", "tools/ci-runner"]);
    expect(await page.locator(".who").innerText()).toBe(""); // open registry: no sign-in
    await screenshot(page, "repositories");

    await page.getByRole("searchbox", { name: "Filter repositories" }).fill("team");
    await expect.poll(() => list.allInnerTexts()).toEqual(["team/api", "team/worker"]);
    await page.getByRole("link", { name: "team/api" }).click();
    await expect.poll(() => page.url()).toBe(`${registry.url}/#/team/api`);
    await tagRow(page, "v2.4.1");
  });
});

describe("a repository", () => {
  it("lists tags with digest, type, platforms, size and date", async () => {
    const page = await visit("#/library/nginx");
    await expect.poll(() => page.locator("tr[data-tag]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-tag")))).toEqual(["1.26", "1.27", "latest"]);

    const index = await tagRow(page, "1.27");
    expect(index.cells.slice(0, 4)).toEqual(["1.27", short(fixtures.nginx.digest), "index", "linux/amd64, linux/arm64/v8"]);
    // An index's size: its images' configs and layers.
    expect(index.cells[4]).toBe(megabytes(fixtures.nginxAmd64.contentSize + fixtures.nginxArm64.contentSize));
    expect(index.cells[5]).toBe("2025-11-04 10:21 UTC");

    const image = await tagRow(page, "1.26");
    expect(image.cells.slice(0, 6)).toEqual(["1.26", short(fixtures.nginx126.descriptor.digest), "image", "linux/amd64", megabytes(fixtures.nginx126.contentSize), "2025-04-16 08:00 UTC"]);
    await screenshot(page, "tags");
  });

  it("says so when the repository does not exist", async () => {
    const page = await visit("#/no/such-repo");
    await expect.poll(() => page.locator(".error").innerText()).toContain("NAME_UNKNOWN");
  });
});

describe("a manifest", () => {
  it("shows an image's layers, config, annotations and the pull command to copy", async () => {
    const page = await visit("#/team/api:v2.4.1");
    await page.getByRole("heading", { name: "Layers (3)" }).waitFor();
    const layerRows = page.locator("table.layers > tbody > tr");
    expect(await layerRows.count()).toBe(3);
    expect((await layerRows.nth(0).innerText()).replace(/\s+/g, " ")).toContain("28.4 MB");
    await expect.poll(() => page.locator("section", { has: page.getByRole("heading", { name: "Config" }) }).innerText()).toContain("/app/server --port 8080");
    const config = await page.locator("section", { has: page.getByRole("heading", { name: "Config" }) }).innerText();
    expect(config).toContain("linux/amd64");
    expect(config).toContain("2025-10-28 14:02 UTC");
    expect(config).toContain("APP_ENV=production");
    expect(config).toContain("team-api@example.com");
    const annotations = await page.locator("section", { has: page.getByRole("heading", { name: "Annotations" }) }).innerText();
    for (const [key, value] of Object.entries(API_ANNOTATIONS)) {
      expect(annotations).toContain(key);
      expect(annotations).toContain(value);
    }
    expect(await page.locator("dl.facts").first().innerText()).toContain(fixtures.api.descriptor.digest);
    await expect.poll(() => page.locator("section", { has: page.getByRole("heading", { name: "Referrers" }) }).innerText()).toContain("No signatures, SBOMs");

    await screenshot(page, "manifest");

    // The pull command names the host this browser reached the registry at.
    const command = `docker pull ${host()}/team/api:v2.4.1`;
    await page.locator(".command", { hasText: command }).getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => readClipboard(page)).toBe(command);
    await page.locator(".command", { hasText: "@sha256:" }).getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => readClipboard(page)).toBe(`docker pull ${host()}/team/api@${fixtures.api.descriptor.digest}`);
  });

  it("shows a multi-arch index's platforms, each leading to its image", async () => {
    const page = await visit("#/library/nginx:1.27");
    const platforms = page.locator("section", { has: page.getByRole("heading", { name: "Platforms" }) }).locator("table > tbody > tr");
    await expect.poll(() => platforms.count()).toBe(2);
    await expect.poll(() => platforms.nth(0).innerText()).toMatch(new RegExp(`linux/amd64.*${megabytes(fixtures.nginxAmd64.contentSize)}`, "s"));
    await expect.poll(() => platforms.nth(1).innerText()).toMatch(new RegExp(`linux/arm64/v8.*${megabytes(fixtures.nginxArm64.contentSize)}`, "s"));
    const total = megabytes(fixtures.nginxAmd64.contentSize + fixtures.nginxArm64.contentSize);
    await expect.poll(() => page.locator("dl.facts").first().innerText()).toContain(`${total} (configs and layers of its images)`);
    await screenshot(page, "index");
    await platforms.nth(1).getByRole("link").click();
    await expect.poll(() => page.url()).toBe(`${registry.url}/#/library/nginx@${fixtures.nginxArm64.descriptor.digest}`);
    await expect.poll(() => page.locator("section", { has: page.getByRole("heading", { name: "Config" }) }).innerText()).toContain("linux/arm64/v8");
    expect(await page.locator(".command").innerText()).toContain(`docker pull ${host()}/library/nginx@${fixtures.nginxArm64.descriptor.digest}`);
  });

  it("lists referrers (signature, SBOM), which lead to the artifact and back to its subject", async () => {
    const page = await visit("#/library/nginx:1.27");
    const referrers = page.locator("table.referrers > tbody > tr");
    await expect.poll(() => referrers.count()).toBe(2);
    const text = await page.locator("table.referrers").innerText();
    expect(text).toContain("application/spdx+json");
    expect(text).toContain("application/vnd.dev.sigstore.bundle.v0.3+json");
    await page.locator("table.referrers").getByRole("link", { name: short(fixtures.sbom.digest) }).click();
    await expect.poll(() => page.url()).toBe(`${registry.url}/#/library/nginx@${fixtures.sbom.digest}`);
    const overview = page.locator("dl.facts").first();
    await expect.poll(() => overview.innerText()).toContain("artifact");
    expect(await overview.innerText()).toContain("application/spdx+json");
    expect(await page.locator("table.layers").innerText()).toContain("48.2 kB");
    await overview.getByRole("link", { name: fixtures.nginx.digest }).click();
    await expect.poll(() => page.url()).toBe(`${registry.url}/#/library/nginx@${fixtures.nginx.digest}`);
    await page.getByRole("heading", { name: "Platforms" }).waitFor();
  });

  it("says so when the tag does not exist", async () => {
    const page = await visit("#/library/alpine:9.99");
    await expect.poll(() => page.locator(".error").innerText()).toContain("MANIFEST_UNKNOWN");
  });
});

describe("registry data is text, never script", () => {
  /** What the hostile strings set if they ever ran (the page's own globals need no DOM types here). */
  const pwned = (page: Page) => page.evaluate("window.__pwned");

  it("shows HTML in annotations, labels, layer annotations and referrers literally", async () => {
    const page = await visit("#/qa/hostile:xss");
    await expect.poll(() => page.locator("table.referrers > tbody > tr").count()).toBe(1);
    await expect.poll(() => page.locator("section", { has: page.getByRole("heading", { name: "Config" }) }).innerText()).toContain("Labels");
    const body = await page.locator("main").innerText();
    for (const value of [HOSTILE.img, HOSTILE.script, HOSTILE.svg, HOSTILE.link, HOSTILE.template]) expect(body).toContain(value);
    // Nothing was parsed as markup: no element from the data exists, nothing ran.
    expect(await page.locator("main img, main script, main svg, main iframe, main [onerror], main [onload]").count()).toBe(0);
    expect(await page.locator("a[href^='javascript:'], a[href]:not([href^='#'])").count()).toBe(0);
    expect(await page.locator("script").evaluateAll((scripts) => scripts.map((s) => s.getAttribute("src")))).toEqual(["/browse/app.js"]);
    expect(await pwned(page)).toBeUndefined();
    await screenshot(page, "hostile");

    await page.goto(`${registry.url}/#/qa/hostile`);
    const row = await tagRow(page, "xss");
    expect(row.cells[5]).toBe("—"); // the "created" date is HTML, not a date
    await page.locator("a.tag").click();
    await page.getByRole("heading", { name: "Annotations" }).waitFor();
    expect(await pwned(page)).toBeUndefined();
  });

  it("runs under a Content-Security-Policy that refuses inline script and HTML sinks", async () => {
    const page = await visit("");
    await page.locator("ul.repos li").first().waitFor();
    // Run in the page (a string: this file is type-checked without the DOM library).
    const outcome = await page.evaluate(`(() => {
      const results = [];
      try {
        document.body.insertAdjacentHTML("beforeend", "<img src=x>");
        results.push("insertAdjacentHTML allowed");
      } catch {
        results.push("insertAdjacentHTML refused");
      }
      try {
        const script = document.createElement("script");
        script.text = "window.__pwned = 'inline'";
        document.body.append(script);
        results.push("script text allowed");
      } catch {
        results.push("script text refused");
      }
      try {
        document.createElement("div").setAttribute("onclick", "window.__pwned = 'handler'");
        results.push("handler attribute allowed");
      } catch {
        results.push("handler attribute refused");
      }
      return results;
    })()`);
    expect(outcome).toEqual(["insertAdjacentHTML refused", "script text refused", "handler attribute refused"]);
    expect(await pwned(page)).toBeUndefined();
    // The refusals are reported as CSP violations on the console: expected here.
    expect(pages.current().errors.every((e) => /requires 'Trusted(HTML|Script)' assignment/.test(e))).toBe(true);
    pages.current().errors.splice(0);
  });
});

describe("delete", () => {
  it("deletes a manifest by digest after confirmation; the tag and the manifest are gone", async () => {
    const page = await visit("#/tools/ci-runner:doomed");
    const button = page.getByRole("button", { name: "Delete manifest…" });
    await button.click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.innerText()).toContain(`tools/ci-runner@${fixtures.doomed.descriptor.digest}`);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await dialog.isVisible()).toBe(false);
    expect((await getManifest(new Client(registry.url), "tools/ci-runner", fixtures.doomed.descriptor.digest)).status).toBe(200);

    await button.click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.url()).toBe(`${registry.url}/#/tools/ci-runner`);
    await expect.poll(() => page.locator(".notice").innerText()).toBe(`Deleted tools/ci-runner@${fixtures.doomed.descriptor.digest}.`);
    await tagRow(page, "kept");
    expect(await page.locator("tr[data-tag]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-tag")))).toEqual(["kept"]);
    const c = new Client(registry.url);
    expect((await getManifest(c, "tools/ci-runner", fixtures.doomed.descriptor.digest)).status).toBe(404);
    expect((await getManifest(c, "tools/ci-runner", "doomed")).status).toBe(404);
  });
});

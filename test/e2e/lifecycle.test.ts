// Storage lifecycle through real clients: skopeo pushes, `npm run gc` (scripts/gc.mjs) collects
// with a retention rule (dry run first), immutable tags refuse skopeo's overwrite and delete,
// and the image that stays pulls byte for byte. Grace 0: nothing pushes while the collector runs.
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot, run } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { sampleImage, writeOciLayout, type BuiltImage } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { REPO_ROOT, startRegistry, type Registry } from "./harness/registry";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let layout: string;
const images: Record<string, BuiltImage> = {};

const TLS = ["--src-tls-verify=false", "--dest-tls-verify=false"];
const hex = (d: string) => d.slice("sha256:".length);

function gc(args: string[]) {
  return run(process.execPath, [path.join(REPO_ROOT, "scripts", "gc.mjs"), "--url", registry.url, ...args], { cwd: REPO_ROOT, allowFailure: true });
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("lifecycle");
  registry = await startRegistry({
    workDir: tmp.dir,
    vars: {
      GC_GRACE_SECONDS: "0",
      // Small: the run takes several requests, which npm run gc repeats until the registry says it is complete.
      GC_OPERATIONS_PER_RUN: "50",
      IMMUTABLE_TAGS: "release-*",
      RETENTION_JSON: JSON.stringify([{ repository: "e2e/ret", tagPattern: "v*", keepTags: 1, untaggedAfterSeconds: 0 }]),
    },
  });
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  for (const name of ["old", "new", "other"]) images[name] = sampleImage(`lifecycle-${name}`);
  layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, Object.entries(images).map(([ref, image]) => ({ ref, image })));
});

afterAll(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("storage lifecycle with skopeo", () => {
  test("an immutable tag refuses skopeo's overwrite and delete", async () => {
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:new`, `docker://${registry.ref("e2e/imm:release-1")}`]);
    const overwrite = await tools.skopeo(["copy", ...TLS, `oci:${layout}:other`, `docker://${registry.ref("e2e/imm:release-1")}`], { allowFailure: true });
    expect(overwrite.code).not.toBe(0);
    expect(overwrite.stderr).toMatch(/immutable|denied/i);
    const remove = await tools.skopeo(["delete", "--tls-verify=false", `docker://${registry.ref("e2e/imm:release-1")}`], { allowFailure: true });
    expect(remove.code).not.toBe(0);
    expect((await api.manifest("e2e/imm", "release-1")).digest).toBe(images.new!.manifestDigest);
  });

  test("retention keeps the newest v* tag; npm run gc --dry-run reports it, the run frees it, the rest pulls byte for byte", async () => {
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:old`, `docker://${registry.ref("e2e/ret:v1")}`]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // v2 is written later than v1
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:new`, `docker://${registry.ref("e2e/ret:v2")}`]);
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:other`, `docker://${registry.ref("e2e/ret:latest")}`]);
    expect((await api.tags("e2e/ret")).sort()).toEqual(["latest", "v1", "v2"]);

    const dry = await gc(["--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would free \d+ bytes/);
    expect(dry.stdout).toContain("repositories/e2e/ret/_tags/v1");
    expect((await api.tags("e2e/ret")).sort()).toEqual(["latest", "v1", "v2"]);

    const real = await gc([]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/freed \d+ bytes/);
    expect((await api.tags("e2e/ret")).sort()).toEqual(["latest", "v2"]);
    const gone = await api.request("GET", `/v2/e2e/ret/manifests/${images.old!.manifestDigest}`);
    expect(gone.status).toBe(404);

    for (const [repo, tag, image] of [["e2e/ret", "v2", images.new!], ["e2e/ret", "latest", images.other!], ["e2e/imm", "release-1", images.new!]] as const) {
      const m = await api.manifest(repo, tag);
      expect(m.bytes.equals(image.manifestBytes), `${repo}:${tag}`).toBe(true);
      for (const [digest, bytes] of image.blobs) {
        const got = await api.blob(repo, digest);
        expect(createHash("sha256").update(got).digest("hex"), digest).toBe(hex(digest));
        expect(got.length).toBe(bytes.length);
      }
    }
    const out = path.join(tmp.dir, "pulled");
    await tools.skopeo(["copy", ...TLS, `docker://${registry.ref("e2e/ret:v2")}`, `oci:${out}:v2`]);

    const usage = await gc(["usage", "--json"]);
    expect(usage.code, usage.stderr).toBe(0);
    const report = JSON.parse(usage.stdout) as { repositories: { name: string; tags: number; manifests: number }[] };
    expect(report.repositories.find((r) => r.name === "e2e/ret")).toMatchObject({ tags: 2, manifests: 2 });
  });
});

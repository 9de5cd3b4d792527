// docker: load a locally built multi-layer image, push it, remove it, pull it back, and check
// the image ID, layer diff IDs and file contents; second tag, cross-repo mount, manifest inspect.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDockerd, type Docker } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { MT, layerTar, sampleImage, writeDockerArchive, type BuiltImage } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { readTar, sha256 } from "./harness/tar";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let docker: Docker;
let api: RegistryApi;
let image: BuiltImage;
let ref: string;
/** Manifest digest `docker push` reported for v1. */
let pushedDigest: string;

interface Inspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Architecture: string;
  Os: string;
  RootFS: { Type: string; Layers: string[] };
  Config: { Labels: Record<string, string> | null };
}

async function inspect(name: string): Promise<Inspect> {
  const out = (await docker.docker(["image", "inspect", name])).stdout;
  return (JSON.parse(out) as Inspect[])[0]!;
}

/** "v1: digest: sha256:… size: 1234" from docker push output. */
function pushDigest(stdout: string, tag: string): string {
  const m = new RegExp(`${tag}: digest: (sha256:[0-9a-f]{64}) size: \\d+`).exec(stdout);
  if (!m) throw new Error(`no digest line for ${tag} in docker push output:\n${stdout}`);
  return m[1]!;
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("docker", "dockerd");
  tmp = makeTempDir("docker");
  registry = await startRegistry({ workDir: tmp.dir });
  docker = await startDockerd(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  // docker-archives carry uncompressed layers: diff_id == layer digest
  image = sampleImage("docker", undefined, { gzip: false });
  ref = registry.ref("e2e/docker/app:v1");
});

afterAll(async () => {
  await docker?.stop();
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("docker", () => {
  test("docker load + push: registry holds the config and the (re-compressed) layers", async () => {
    const archive = path.join(tmp.dir, "image.tar");
    await writeDockerArchive(archive, image, [ref]);
    const loaded = await docker.docker(["load", "-i", archive]);
    expect(loaded.stdout).toContain(`Loaded image: ${ref}`);
    const local = await inspect(ref);
    expect(local.Id).toBe(image.configDigest);
    expect(local.RootFS.Layers).toEqual(image.layers.map((l) => l.diffId));

    const push = await docker.docker(["push", ref]);
    pushedDigest = pushDigest(push.stdout, "v1");

    const m = await api.manifest("e2e/docker/app", "v1");
    expect(m.digest).toBe(pushedDigest);
    expect(sha256(m.bytes)).toBe(pushedDigest);
    expect(m.mediaType).toBe(MT.dockerManifest);
    expect(m.json.config.digest).toBe(image.configDigest);
    expect((await api.blob("e2e/docker/app", image.configDigest)).equals(image.configBytes)).toBe(true);
    expect(m.json.layers).toHaveLength(image.layers.length);
    for (const [i, desc] of (m.json.layers as { digest: string; size: number }[]).entries()) {
      const blob = await api.blob("e2e/docker/app", desc.digest);
      expect(blob.length).toBe(desc.size);
      expect(sha256(blob)).toBe(desc.digest);
      // docker gzips layers on push; uncompressed they must be our tars exactly
      expect(sha256(layerTar(blob))).toBe(image.layers[i]!.diffId);
    }
  });

  test("docker manifest inspect reads the pushed manifest", async () => {
    // The docker CLI (unlike dockerd, skopeo, podman) falls back from https:// to http:// only
    // when the TLS attempt fails with "server gave HTTP response to HTTPS client", so the
    // server in front of the registry must answer a TLS ClientHello with plain HTTP.
    const out = await docker.docker(["manifest", "inspect", "--insecure", ref], { allowFailure: true });
    expect(
      out.code,
      `docker manifest inspect failed:\n${out.stderr}\n(if "error pinging v2 registry: Get https://…: EOF": scripts/serve.mjs closes TLS ` +
        `handshakes without a word; the docker CLI needs an HTTP answer to fall back to plain HTTP)`,
    ).toBe(0);
    const m = JSON.parse(out.stdout);
    const stored = await api.manifest("e2e/docker/app", "v1");
    expect(m.config.digest).toBe(image.configDigest);
    expect(m.layers.map((l: { digest: string }) => l.digest)).toEqual(stored.json.layers.map((l: { digest: string }) => l.digest));
  });

  test("docker rmi + pull: same image ID, diff IDs, repo digest and files", async () => {
    await docker.docker(["rmi", ref]);
    const gone = await docker.docker(["image", "inspect", ref], { allowFailure: true });
    expect(gone.code, "image still present after rmi").not.toBe(0);
    expect((await docker.docker(["images", "-q"])).stdout.trim(), "image store should be empty").toBe("");

    const pull = await docker.docker(["pull", ref]);
    expect(pull.stdout).toContain(`Digest: ${pushedDigest}`);
    const local = await inspect(ref);
    expect(local.Id).toBe(image.configDigest);
    expect(local.RootFS.Layers).toEqual(image.layers.map((l) => l.diffId));
    expect(local.RepoDigests).toContain(`${registry.host}/e2e/docker/app@${pushedDigest}`);
    expect(local.Config.Labels?.["org.example.e2e.name"]).toBe("docker");

    // the unpacked filesystem has our files
    const cid = (await docker.docker(["create", ref])).stdout.trim();
    const exported = path.join(tmp.dir, "export.tar");
    await docker.docker(["export", "-o", exported, cid]);
    const files = new Map(readTar(await readFile(exported)).map((e) => [e.name.replace(/^\.?\//, ""), e]));
    expect(files.get("app/hello.txt")?.content.toString()).toBe(image.layers[1]!.files.get("app/hello.txt")!.toString());
    expect(files.get("app/data.bin")?.content.equals(image.layers[1]!.files.get("app/data.bin")!)).toBe(true);
    expect(files.get("app/version")?.content.toString()).toBe("docker-1\n");
    expect(files.get("app/link")?.linkname).toBe("hello.txt");
    await docker.docker(["rm", cid]);
  });

  test("second tag and a second repository (layers mounted, not re-uploaded)", async () => {
    const v2 = registry.ref("e2e/docker/app:v2");
    await docker.docker(["tag", ref, v2]);
    const push2 = await docker.docker(["push", v2]);
    expect(pushDigest(push2.stdout, "v2")).toBe(pushedDigest);
    expect(await api.tags("e2e/docker/app")).toEqual(["v1", "v2"]);
    expect((await api.manifest("e2e/docker/app", "v2")).digest).toBe(pushedDigest);

    const other = registry.ref("e2e/docker/other:latest");
    await docker.docker(["tag", ref, other]);
    const push3 = await docker.docker(["push", other]);
    expect(pushDigest(push3.stdout, "latest")).toBe(pushedDigest);
    // dockerd asks for a cross-repository mount for each layer it pushed to e2e/docker/app
    const mounted = push3.stdout.split("\n").filter((l) => l.includes("Mounted from e2e/docker/app"));
    expect(mounted, push3.stdout).toHaveLength(image.layers.length);
    expect(await api.tags("e2e/docker/other")).toEqual(["latest"]);
    const catalog = await api.catalog();
    expect(catalog).toEqual(expect.arrayContaining(["e2e/docker/app", "e2e/docker/other"]));
  });
});

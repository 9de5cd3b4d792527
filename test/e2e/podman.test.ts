// podman: push an image (from an OCI layout) to the registry, remove everything locally,
// pull it back from the registry, check `podman images`/`inspect`, push it under another name,
// and check the catalog and the stored manifests through the API.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { MT, layerTar, sampleImage, writeOciLayout, type BuiltImage } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { sha256 } from "./harness/tar";
import { readFile } from "node:fs/promises";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let image: BuiltImage;
let layout: string;
let policy: string[];

const hexOf = (d: string) => d.slice("sha256:".length);

interface PodmanImage {
  Id: string;
  Names?: string[];
  Digest: string;
  RepoDigests?: string[];
}

async function podmanImages(): Promise<PodmanImage[]> {
  return JSON.parse((await tools.podman(["images", "--format", "json"])).stdout || "[]");
}

/** The layers of a stored manifest, decompressed, must be our layer tars. */
async function expectStoredImage(repo: string, tag: string): Promise<string> {
  const m = await api.manifest(repo, tag);
  expect(m.json.config.digest).toBe(image.configDigest);
  expect((await api.blob(repo, image.configDigest)).equals(image.configBytes)).toBe(true);
  expect(m.json.layers).toHaveLength(image.layers.length);
  for (const [i, desc] of (m.json.layers as { digest: string }[]).entries()) {
    const blob = await api.blob(repo, desc.digest);
    expect(sha256(blob)).toBe(desc.digest);
    expect(sha256(layerTar(blob))).toBe(image.layers[i]!.diffId);
  }
  return m.digest!;
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("podman");
  tmp = makeTempDir("podman");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  policy = ["--signature-policy", tools.policy];
  api = new RegistryApi(registry.url);
  image = sampleImage("podman");
  layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, [{ ref: "v1", image }]);
});

afterAll(async () => {
  await tools?.podman(["rmi", "--all", "--force"], { allowFailure: true });
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("podman", () => {
  test("podman push to the registry", async () => {
    const pulled = await tools.podman(["pull", ...policy, `oci:${layout}:v1`]);
    expect(pulled.stdout.trim().split("\n").pop()).toBe(hexOf(image.configDigest));
    const digestFile = path.join(tmp.dir, "push1.digest");
    await tools.podman(["push", ...policy, "--tls-verify=false", "--digestfile", digestFile, hexOf(image.configDigest), `docker://${registry.ref("e2e/podman/app:v1")}`]);
    const pushed = (await readFile(digestFile, "utf8")).trim();
    expect(await expectStoredImage("e2e/podman/app", "v1")).toBe(pushed);
  });

  test("podman pull from the registry: podman images shows it with the registry's digest", async () => {
    await tools.podman(["rmi", "--all", "--force"]);
    expect(await podmanImages()).toEqual([]);

    const ref = registry.ref("e2e/podman/app:v1");
    const pulled = await tools.podman(["pull", ...policy, "--tls-verify=false", ref]);
    expect(pulled.stdout.trim().split("\n").pop()).toBe(hexOf(image.configDigest));
    const stored = await api.manifest("e2e/podman/app", "v1");

    const images = await podmanImages();
    expect(images).toHaveLength(1);
    expect(images[0]!.Id).toBe(hexOf(image.configDigest));
    expect(images[0]!.Names).toContain(ref);
    expect(images[0]!.Digest).toBe(stored.digest);

    const [inspect] = JSON.parse((await tools.podman(["image", "inspect", ref])).stdout);
    expect(inspect.RootFS.Layers).toEqual(image.layers.map((l) => l.diffId));
    expect(inspect.RepoDigests).toContain(`${registry.host}/e2e/podman/app@${stored.digest}`);
    expect(inspect.Labels["org.example.e2e.name"]).toBe("podman");
  });

  test("podman push to another name; catalog lists both repositories", async () => {
    const digestFile = path.join(tmp.dir, "push2.digest");
    await tools.podman([
      "push",
      ...policy,
      "--tls-verify=false",
      "--digestfile",
      digestFile,
      registry.ref("e2e/podman/app:v1"),
      `docker://${registry.ref("e2e/podman/copy:v1")}`,
    ]);
    const pushed = (await readFile(digestFile, "utf8")).trim();
    expect(await expectStoredImage("e2e/podman/copy", "v1")).toBe(pushed);
    expect((await api.manifest("e2e/podman/copy", "v1")).mediaType).toBe(MT.ociManifest);
    expect(await api.tags("e2e/podman/copy")).toEqual(["v1"]);
    expect(await api.catalog()).toEqual(expect.arrayContaining(["e2e/podman/app", "e2e/podman/copy"]));

    // and the copy pulls back into podman as the same image
    await tools.podman(["rmi", "--all", "--force"]);
    const pulled = await tools.podman(["pull", ...policy, "--tls-verify=false", registry.ref("e2e/podman/copy:v1")]);
    expect(pulled.stdout.trim().split("\n").pop()).toBe(hexOf(image.configDigest));
  });
});

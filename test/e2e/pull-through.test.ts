// Pull-through cache end to end: dockerd with this registry in `registry-mirrors` pulls docker.io
// images that exist only upstream (a Docker-Hub-like upstream: this registry, native, token mode,
// realm on another port, official images under library/); skopeo and podman through the cache
// as a registries.conf mirror of docker.io; then the upstream is stopped and pulls still work.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, startDockerd, type ContainersTools, type Docker } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { buildIndex, hostPlatform, sampleImage, type BuiltImage, type BuiltIndex } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { PASSWORD, USER, pushImage, startTokenUpstream, type PushableImage } from "../pull-through/upstreams";

let tmp: ReturnType<typeof makeTempDir>;
let upstream: Awaited<ReturnType<typeof startTokenUpstream>>;
let registry: Registry;
let docker: Docker;
let tools: ContainersTools;
let api: RegistryApi;
let alpine: BuiltImage;
let tool: BuiltImage;
let multi: BuiltIndex;

function pushable(image: BuiltImage): PushableImage {
  return {
    blobs: new Map([...image.blobs].map(([d, b]) => [d, new Uint8Array(b)])),
    manifests: [{ bytes: new Uint8Array(image.manifestBytes), mediaType: image.descriptor.mediaType, digest: image.manifestDigest }],
  };
}

function pushableIndex(index: BuiltIndex): PushableImage {
  const parts = index.images.map(pushable);
  return {
    blobs: new Map(parts.flatMap((p) => [...p.blobs])),
    manifests: [...parts.flatMap((p) => p.manifests), { bytes: new Uint8Array(index.indexBytes), mediaType: index.descriptor.mediaType, digest: index.indexDigest }],
  };
}

/** skopeo 1.9 reads registries.conf from its flag, not from CONTAINERS_REGISTRIES_CONF. */
const skopeoThroughMirror = (args: string[]) => tools.skopeo(["--registries-conf", tools.env.CONTAINERS_REGISTRIES_CONF!, ...args]);

const imageId = async (ref: string) => (await docker.docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout.trim();

beforeAll(async () => {
  requireRoot();
  requireBinaries("dockerd", "docker", "skopeo", "podman");
  tmp = makeTempDir("pullthrough");
  upstream = await startTokenUpstream();
  alpine = sampleImage("alpine");
  tool = sampleImage("tool");
  const host = hostPlatform();
  const other = host.architecture === "arm64" ? { architecture: "amd64", os: "linux" } : { architecture: "arm64", os: "linux" };
  multi = buildIndex([sampleImage("multi", host), sampleImage("multi", other)]);
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
  await pushImage(upstream.url, "library/alpine", pushable(alpine), "3", basic);
  await pushImage(upstream.url, "someuser/tool", pushable(tool), "1", basic);
  await pushImage(upstream.url, "library/multi", pushableIndex(multi), "latest", basic);
  // Every repository is served from the upstream, like a Docker Hub mirror; tags revalidated on every pull.
  registry = await startRegistry({
    workDir: tmp.dir,
    vars: { UPSTREAMS: JSON.stringify([{ url: upstream.url, library: true, tagCacheSeconds: 0 }]) },
  });
  api = new RegistryApi(registry.url);
  docker = await startDockerd(tmp.dir, [registry.host], { registryMirrors: [registry.url] });
  tools = await containersTools(tmp.dir, [registry.host], { mirrors: [{ prefix: "docker.io", mirror: registry.host }] });
});

afterAll(async () => {
  await docker?.stop();
  await registry?.stop();
  await upstream?.close();
  await tmp?.cleanup();
});

describe.sequential("pull-through cache as a Docker Hub mirror", () => {
  test("docker pull alpine:3 (docker.io/library/alpine) through registry-mirrors", async () => {
    await docker.docker(["pull", "alpine:3"]);
    expect(await imageId("alpine:3")).toBe(alpine.configDigest);
    // The mirror asked the upstream for library/alpine, and holds it now like a pushed image.
    expect(upstream.count("GET", /^\/v2\/library\/alpine\/manifests\/3$/)).toBeGreaterThanOrEqual(1);
    const catalog = JSON.parse((await api.request("GET", "/v2/_catalog")).body.toString()) as { repositories: string[] };
    expect(catalog.repositories).toContain("library/alpine");
  });

  test("docker pull of a user's image (docker.io/someuser/tool) and by digest", async () => {
    await docker.docker(["pull", "someuser/tool:1"]);
    expect(await imageId("someuser/tool:1")).toBe(tool.configDigest);
    await docker.docker(["rmi", "-f", "alpine:3"]);
    await docker.docker(["pull", `alpine@${alpine.manifestDigest}`]);
    expect(await imageId(`alpine@${alpine.manifestDigest}`)).toBe(alpine.configDigest);
  });

  test("docker pull of a multi-arch index picks this platform's image", async () => {
    await docker.docker(["pull", "multi:latest"]);
    expect(await imageId("multi:latest")).toBe(multi.images[0]!.configDigest);
    const index = await api.request("GET", "/v2/library/multi/manifests/latest", { headers: { Accept: multi.descriptor.mediaType } });
    expect(index.headers.get("docker-content-digest") ?? index.headers.get("Docker-Content-Digest")).toBe(multi.indexDigest);
  });

  test("skopeo and podman through the cache as a registries.conf mirror of docker.io", async () => {
    const raw = await skopeoThroughMirror(["inspect", "--raw", "docker://docker.io/someuser/tool:1"]);
    expect(raw.stdout.trim()).toBe(tool.manifestBytes.toString("utf8").trim());
    await tools.podman(["pull", "docker.io/library/multi:latest"]);
    const id = (await tools.podman(["image", "inspect", "--format", "{{.Id}}", "docker.io/library/multi:latest"])).stdout.trim();
    expect(`sha256:${id}`).toBe(multi.images[0]!.configDigest);
  });

  test("with the upstream stopped: cached tags and digests still pull (docker, podman, skopeo)", async () => {
    await upstream.stop();
    try {
      await docker.docker(["rmi", "-f", "someuser/tool:1", `alpine@${alpine.manifestDigest}`, "multi:latest"], { allowFailure: true });
      await docker.docker(["pull", "someuser/tool:1"]);
      expect(await imageId("someuser/tool:1")).toBe(tool.configDigest);
      await docker.docker(["pull", "alpine:3"]);
      expect(await imageId("alpine:3")).toBe(alpine.configDigest);
      await docker.docker(["pull", `alpine@${alpine.manifestDigest}`]);
      await docker.docker(["pull", "multi:latest"]);
      expect(await imageId("multi:latest")).toBe(multi.images[0]!.configDigest);
      // The tag answer says it was not revalidated.
      const tag = await api.request("GET", "/v2/library/alpine/manifests/3", { headers: { Accept: alpine.descriptor.mediaType } });
      expect(tag.status).toBe(200);
      expect(tag.headers.get("x-pull-through")).toBe("stale");
      await tools.podman(["rmi", "-f", "docker.io/library/multi:latest"]);
      await tools.podman(["pull", "docker.io/library/multi:latest"]);
      const raw = await skopeoThroughMirror(["inspect", "--raw", "docker://docker.io/library/alpine:3"]);
      expect(raw.stdout.trim()).toBe(alpine.manifestBytes.toString("utf8").trim());
    } finally {
      await upstream.start();
    }
  });
});

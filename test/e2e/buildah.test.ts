// buildah: build an image from scratch (one copied file, a label), commit, push to the
// registry; then read it back with other clients (skopeo, the HTTP API) and check the file.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { layerFiles } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { sha256 } from "./harness/tar";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let policy: string[];
const greeting = `hello from buildah ${randomBytes(8).toString("hex")}\n`;
let pushedDigest: string;
let imageId: string;

beforeAll(async () => {
  requireRoot();
  requireBinaries("buildah", "skopeo");
  tmp = makeTempDir("buildah");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  policy = ["--signature-policy", tools.policy];
  api = new RegistryApi(registry.url);
});

afterAll(async () => {
  await tools?.buildah(["rm", "--all"], { allowFailure: true });
  await tools?.buildah(["rmi", "--all", "--force"], { allowFailure: true });
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("buildah", () => {
  test("buildah from scratch + copy + commit + push", async () => {
    const file = path.join(tmp.dir, "hello.txt");
    await writeFile(file, greeting);
    const ctr = (await tools.buildah(["from", ...policy, "scratch"])).stdout.trim();
    expect(ctr).not.toBe("");
    await tools.buildah(["copy", ctr, file, "/hello.txt"]);
    await tools.buildah(["config", "--label", "org.example.e2e.name=buildah", "--cmd", "/hello", ctr]);
    imageId = (await tools.buildah(["commit", ...policy, "--format", "oci", ctr, "localhost/e2e-buildah:latest"])).stdout.trim().split("\n").pop()!;
    expect(imageId).toMatch(/^[0-9a-f]{64}$/);

    const digestFile = path.join(tmp.dir, "push.digest");
    await tools.buildah([
      "push",
      ...policy,
      "--tls-verify=false",
      "--digestfile",
      digestFile,
      "localhost/e2e-buildah:latest",
      `docker://${registry.ref("e2e/buildah/app:v1")}`,
    ]);
    pushedDigest = (await readFile(digestFile, "utf8")).trim();
    expect(pushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const m = await api.manifest("e2e/buildah/app", "v1");
    expect(m.digest).toBe(pushedDigest);
    expect(sha256(m.bytes)).toBe(pushedDigest);
    // buildah's image ID is the config digest
    expect(m.json.config.digest).toBe(`sha256:${imageId}`);
  });

  test("skopeo reads it back: the layer holds the copied file, the config the label", async () => {
    const out = path.join(tmp.dir, "out");
    await tools.skopeo(["copy", "--src-tls-verify=false", `docker://${registry.ref("e2e/buildah/app:v1")}`, `dir:${out}`]);
    const manifestBytes = await readFile(path.join(out, "manifest.json"));
    expect(sha256(manifestBytes)).toBe(pushedDigest);
    const manifest = JSON.parse(manifestBytes.toString("utf8"));
    expect(manifest.layers).toHaveLength(1);
    const layer = await readFile(path.join(out, manifest.layers[0].digest.slice(7)));
    expect(sha256(layer)).toBe(manifest.layers[0].digest);
    expect(layerFiles(layer).get("hello.txt")?.toString()).toBe(greeting);
    const config = JSON.parse(await readFile(path.join(out, manifest.config.digest.slice(7)), "utf8"));
    expect(config.config.Labels["org.example.e2e.name"]).toBe("buildah");
    expect(config.config.Cmd).toEqual(["/hello"]);

    const info = JSON.parse((await tools.skopeo(["inspect", "--tls-verify=false", `docker://${registry.ref("e2e/buildah/app:v1")}`])).stdout);
    expect(info.Digest).toBe(pushedDigest);
    expect(await api.tags("e2e/buildah/app")).toEqual(["v1"]);
  });

  test("buildah pull of its own push into a clean store gives the same image", async () => {
    await tools.buildah(["rm", "--all"]);
    await tools.buildah(["rmi", "--all", "--force"]);
    const id = (await tools.buildah(["pull", ...policy, "--tls-verify=false", registry.ref("e2e/buildah/app:v1")])).stdout.trim().split("\n").pop();
    expect(id).toBe(imageId);
  });
});

/// <reference path="../worker/provided.d.ts" />
// globalSetup of the worker suite (runs in Node): a Docker-Hub-like upstream (this registry,
// native, token mode, realm on another port) on the loopback port vitest.config.ts gave the
// worker's UPSTREAMS, with the images test/worker/pull-through.test.ts pulls through workerd.
// What is provided (ProvidedContext["pullThroughUpstream"]) is declared once, in test/worker/provided.d.ts.
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { image, sha256, startTokenUpstream } from "./upstreams";

const MiB = 1024 * 1024;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = Number(process.env.PULL_THROUGH_WORKER_UPSTREAM_PORT);
  const upstream = await startTokenUpstream(port);
  const large = new Uint8Array(randomBytes(12 * MiB));
  const abandoned = new Uint8Array(randomBytes(11 * MiB));
  const img = image([new Uint8Array(randomBytes(4000)), large, abandoned]);
  await upstream.push("library/app", img, "1");
  project.provide("pullThroughUpstream", {
    url: upstream.url,
    manifest: img.manifests.at(-1)!.digest,
    blobs: [...img.blobs].map(([digest, bytes]) => ({ digest, size: bytes.length })),
    large: { digest: sha256(large), size: large.length },
    abandoned: { digest: sha256(abandoned), size: abandoned.length },
  });
  return () => upstream.close();
}

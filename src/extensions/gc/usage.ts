// Storage usage per repository, for operators: what each repository links (bytes, blobs,
// manifests, tags) and what the store holds once (shared blobs count once there).
import { keys } from "../../storage/layout";
import type { ObjectStore } from "../../storage/object-store";
import { listAll } from "./collector";

export interface RepositoryUsage {
  name: string;
  /** Bytes of the blobs and manifests the repository links (a blob shared with another repository counts in both). */
  bytes: number;
  blobs: number;
  manifests: number;
  tags: number;
}

export interface StorageUsage {
  repositories: RepositoryUsage[];
  /** What the store holds: each blob and manifest once (pointers: the bytes they point at). */
  stored: { blobs: number; bytes: number };
}

export async function storageUsage(objects: ObjectStore): Promise<StorageUsage> {
  const sizes = new Map<string, number>();
  let storedBytes = 0;
  for (const o of await listAll(objects, keys.blobs, true)) {
    const size = o.metadata.location ? Number(o.metadata.size) || 0 : o.size;
    sizes.set(o.key.slice(keys.blobs.length), size);
    storedBytes += size;
  }
  const repositories: RepositoryUsage[] = [];
  for (const entry of await listAll(objects, keys.catalog)) {
    const name = entry.key.slice(keys.catalog.length);
    const layers = await listAll(objects, keys.layerLinks(name), true);
    const manifests = await listAll(objects, keys.manifestLinks(name), true);
    const tags = await listAll(objects, keys.tags(name));
    let bytes = 0;
    for (const l of layers) bytes += Number(l.metadata.size ?? sizes.get(l.key.slice(keys.layerLinks(name).length)) ?? 0) || 0;
    for (const m of manifests) bytes += Number(m.metadata.size ?? sizes.get(m.key.slice(keys.manifestLinks(name).length)) ?? 0) || 0;
    repositories.push({ name, bytes, blobs: layers.length, manifests: manifests.length, tags: tags.length });
  }
  return { repositories, stored: { blobs: sizes.size, bytes: storedBytes } };
}

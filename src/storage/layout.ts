// The key layout of the bucket: the one place that turns names and digests into keys.
//
//   blobs/<alg>/<hex>                         content store, shared by all repositories: the bytes
//                                             themselves, or (large uploads) an empty pointer object
//                                             whose metadata names the multipart object holding them
//   blob-data/<upload-id>                     bytes of a blob assembled by a multipart upload
//   repositories/<name>/_layers/<alg>/<hex>   link: the blob is visible in <name>
//   repositories/<name>/_manifests/<alg>/<hex> link: the manifest is in <name> (metadata: media type, size)
//   repositories/<name>/_tags/<tag>           tag -> manifest digest (metadata: digest, media type, size)
//   repositories/<name>/_referrers/<subject alg>/<subject hex>/<alg>/<hex>
//                                             a manifest whose subject is that digest (body: descriptor)
//   catalog/<name>                            one key per repository, for /v2/_catalog
//   uploads/<session-id>                      an unfinished multipart upload of that upload session
//                                             (metadata: key, multipartId, name), so the collector can
//                                             abort it once the session is gone
//   gc/cursor                                 where a collection that ran out of budget goes on
//   gc/reused/<alg>/<hex>                     a stored blob was just linked again (sweeps.ts)
//   gc/sweeps/<id>                            blob keys a collection is deleting now (body: JSON list)
//
// Name components cannot begin with "_", so "_layers" etc. never collide with a nested repository.
import type { Digest } from "../oci/digest";

const digestPath = (d: Digest) => `${d.algorithm}/${d.hex}`;
const repo = (name: string) => `repositories/${name}`;

export const keys = {
  blob: (d: Digest) => `blobs/${digestPath(d)}`,
  blobData: (uploadId: string) => `blob-data/${uploadId}`,
  layerLink: (name: string, d: Digest) => `${repo(name)}/_layers/${digestPath(d)}`,
  layerLinks: (name: string) => `${repo(name)}/_layers/`,
  manifestLink: (name: string, d: Digest) => `${repo(name)}/_manifests/${digestPath(d)}`,
  manifestLinks: (name: string) => `${repo(name)}/_manifests/`,
  tag: (name: string, tag: string) => `${repo(name)}/_tags/${tag}`,
  tags: (name: string) => `${repo(name)}/_tags/`,
  referrers: (name: string, subject: Digest) => `${repo(name)}/_referrers/${digestPath(subject)}/`,
  referrer: (name: string, subject: Digest, d: Digest) =>
    `${repo(name)}/_referrers/${digestPath(subject)}/${digestPath(d)}`,
  catalogEntry: (name: string) => `catalog/${name}`,
  catalog: "catalog/",
  upload: (sessionId: string) => `uploads/${sessionId}`,
  uploads: "uploads/",
  blobs: "blobs/",
  blobDataPrefix: "blob-data/",
  repositories: "repositories/",
  /** Where a garbage collection that ran out of budget goes on (src/extensions/gc/). */
  gcCursor: "gc/cursor",
  reuse: (d: Digest) => `gc/reused/${digestPath(d)}`,
  reuses: "gc/reused/",
  sweep: (id: string) => `gc/sweeps/${id}`,
  sweeps: "gc/sweeps/",
};

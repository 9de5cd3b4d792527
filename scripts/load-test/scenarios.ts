// The workloads. Each scenario runs against one registry and records into named recorders (one
// per table row); setup work it needs (a layer to pull, an image to read) is done untimed.
import { createHash } from "node:crypto";
import type { Options, ScenarioName } from "./args.ts";
import type { RegistryClient } from "./client.ts";
import { formatBytes } from "./report.ts";
import * as oci from "./registry.ts";
import { Recorder, runCount, runFor } from "./stats.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** What the progress display shows while a scenario runs. */
export interface Live {
  label: string;
  recorder: Recorder | null;
  /** Bytes moved so far, counted as they flow (a recorder only counts finished operations). */
  moved: number;
  totalOps: number | null;
}

export class Target {
  readonly label: string;
  readonly url: string;
  readonly client: RegistryClient;
  /** Unique per run, so runs never collide with earlier data. */
  readonly repo: string;
  readonly recorders = new Map<string, Recorder>();
  /** Rows written since the caller last cleared it: the rows of the scenario just run. */
  readonly touched = new Set<string>();
  readonly live: Live;
  large: { repo: string; blob: oci.Blob } | null = null;
  rateImage: oci.Image | null = null;
  mixedImage: oci.Image | null = null;

  constructor(label: string, url: string, client: RegistryClient, repo: string, live: Live) {
    this.label = label;
    this.url = url;
    this.client = client;
    this.repo = repo;
    this.live = live;
  }

  /** The recorder of one table row, shared across rounds; also shown live. */
  recorder(row: string, measuresBytes: boolean, totalOps: number | null = null): Recorder {
    let rec = this.recorders.get(row);
    if (!rec) {
      rec = new Recorder(measuresBytes);
      this.recorders.set(row, rec);
    }
    this.touched.add(row);
    this.live.label = row;
    this.live.recorder = rec;
    this.live.moved = 0;
    this.live.totalOps = totalOps;
    return rec;
  }

  /** Untimed preparation, shown as such. */
  setup(what: string): void {
    this.live.label = `setup: ${what}`;
    this.live.recorder = null;
    this.live.moved = 0;
    this.live.totalOps = null;
  }

  readonly onBytes = (n: number): void => {
    this.live.moved += n;
  };
}

type Scenario = (t: Target, o: Options) => Promise<void>;

const largeSize = (o: Options) => o.size ?? GiB;

async function pushStream(t: Target, o: Options): Promise<void> {
  const size = largeSize(o);
  const rec = t.recorder(`push-stream ${formatBytes(size)}`, true, o.count ?? 1);
  const repo = `${t.repo}/large`;
  rec.begin();
  await runCount(1, o.count ?? 1, async () => {
    await rec.time(async () => {
      const blob = await oci.pushStreamed(t.client, repo, size, t.onBytes);
      t.large = { repo, blob };
      return size;
    });
  });
  rec.end();
}

async function pushChunked(t: Target, o: Options): Promise<void> {
  const size = largeSize(o);
  const rec = t.recorder(`push-chunked ${formatBytes(size)} / ${formatBytes(o.chunkSize)}`, true, o.count ?? 1);
  const repo = `${t.repo}/large`;
  rec.begin();
  await runCount(1, o.count ?? 1, async () => {
    await rec.time(async () => {
      const blob = await oci.pushChunked(t.client, repo, size, o.chunkSize, t.onBytes);
      t.large ??= { repo, blob };
      return size;
    });
  });
  rec.end();
}

/** The large layer to pull: the one a push scenario left, or a new one. */
async function largeLayer(t: Target, o: Options): Promise<{ repo: string; blob: oci.Blob }> {
  if (!t.large) {
    t.setup(`push a ${formatBytes(largeSize(o))} layer to pull`);
    const repo = `${t.repo}/large`;
    t.large = { repo, blob: await oci.pushStreamed(t.client, repo, largeSize(o), t.onBytes) };
  }
  return t.large;
}

async function pull(t: Target, o: Options): Promise<void> {
  const { repo, blob } = await largeLayer(t, o);
  const rec = t.recorder(`pull ${formatBytes(blob.size)}`, true, o.count ?? 1);
  rec.begin();
  await runCount(1, o.count ?? 1, async () => {
    await rec.time(() => oci.pullBlob(t.client, repo, blob, t.onBytes));
  });
  rec.end();
}

/** Range pieces fetched at concurrency c, hashed in order to verify the whole layer. */
async function pullRange(t: Target, o: Options): Promise<void> {
  const { repo, blob } = await largeLayer(t, o);
  const pieces = Math.ceil(blob.size / o.rangeSize);
  const rec = t.recorder(`pull-range ${formatBytes(blob.size)} / ${formatBytes(o.rangeSize)}`, true, pieces);
  const hash = createHash("sha256");
  const waiting = new Map<number, Buffer>();
  let nextToHash = 0;
  let failed = false;
  rec.begin();
  await runCount(o.concurrency ?? 4, pieces, async (i) => {
    const offset = i * o.rangeSize;
    const length = Math.min(o.rangeSize, blob.size - offset);
    const ok = await rec.time(async () => {
      waiting.set(i, await oci.pullRange(t.client, repo, blob, offset, length, t.onBytes));
      return length;
    });
    if (!ok) failed = true;
    for (let piece = waiting.get(nextToHash); piece; piece = waiting.get(nextToHash)) {
      hash.update(piece);
      waiting.delete(nextToHash++);
    }
  });
  rec.end();
  const actual = `sha256:${hash.digest("hex")}`;
  if (!failed && actual !== blob.digest) rec.fail(new Error(`pull-range: pieces hash to ${actual}, expected ${blob.digest}`));
}

/** Per size: push count images (layer + config + manifest), then pull them all back. */
async function small(t: Target, o: Options): Promise<void> {
  const count = o.count ?? 16;
  const concurrency = o.concurrency ?? 8;
  for (const size of o.smallSizes) {
    const repo = `${t.repo}/small-${formatBytes(size).toLowerCase()}`;
    const images: (oci.Image | null)[] = new Array(count).fill(null);
    const push = t.recorder(`small ${formatBytes(size)} push (c=${concurrency})`, true, count);
    push.begin();
    await runCount(concurrency, count, async (i) => {
      await push.time(async () => {
        images[i] = await oci.pushImage(t.client, repo, `s${i}`, size);
        t.onBytes(size);
        return size;
      });
    });
    push.end();
    const pullRec = t.recorder(`small ${formatBytes(size)} pull (c=${concurrency})`, true, count);
    pullRec.begin();
    await runCount(concurrency, count, async (i) => {
      const image = images[i];
      if (!image) return; // its push failed and was counted there
      await pullRec.time(async () => {
        let bytes = await oci.getManifest(t.client, repo, image.tag, image.manifestDigest);
        bytes += await oci.pullBlob(t.client, repo, image.config);
        bytes += await oci.pullBlob(t.client, repo, image.layer, t.onBytes);
        return bytes;
      });
    });
    pullRec.end();
  }
}

async function concurrentPush(t: Target, o: Options): Promise<void> {
  const size = o.size ?? 64 * MiB;
  const concurrency = o.concurrency ?? 32;
  const count = o.count ?? 32;
  const repo = `${t.repo}/concurrent`;
  const rec = t.recorder(`concurrent-push ${count} x ${formatBytes(size)} (c=${concurrency})`, true, count);
  rec.begin();
  await runCount(concurrency, count, async () => {
    await rec.time(async () => (await oci.pushStreamed(t.client, repo, size, t.onBytes)).size);
  });
  rec.end();
}

const RATE_TAGS = 10;

/** A small image under several tags, for the request-rate scenarios. */
async function rateImage(t: Target): Promise<oci.Image> {
  if (!t.rateImage) {
    t.setup("push a small image to read");
    const repo = `${t.repo}/rates`;
    const image = await oci.pushImage(t.client, repo, "latest", 4 * KiB);
    for (let i = 1; i < RATE_TAGS; i++) await oci.pushManifest(t.client, repo, `v${i}`, image.layer, image.config);
    t.rateImage = image;
  }
  return t.rateImage;
}

function rateScenario(row: string, op: (t: Target, image: oci.Image) => Promise<number>): Scenario {
  return async (t, o) => {
    const image = await rateImage(t);
    const concurrency = o.concurrency ?? 16;
    const rec = t.recorder(`${row} (c=${concurrency})`, false);
    rec.begin();
    await runFor(concurrency, o.duration, async () => {
      await rec.time(() => op(t, image));
    });
    rec.end();
  };
}

/** Reads mostly, with some 1 MiB blob pulls and small pushes, as a busy registry sees. */
async function mixed(t: Target, o: Options): Promise<void> {
  const image = await rateImage(t);
  if (!t.mixedImage) {
    t.setup("push a 1 MiB image to read");
    t.mixedImage = await oci.pushImage(t.client, `${t.repo}/mixed`, "latest", MiB);
  }
  const big = t.mixedImage;
  const concurrency = o.concurrency ?? 16;
  const rec = t.recorder(`mixed (c=${concurrency})`, true);
  const c = t.client;
  // Cumulative weights out of 100.
  const ops: Array<[number, (i: number) => Promise<number>]> = [
    [40, () => oci.getManifest(c, image.repo, image.tag, image.manifestDigest)],
    [60, () => oci.headManifest(c, image.repo, image.tag, image.manifestDigest)],
    [80, () => oci.headBlob(c, image.repo, image.layer)],
    [95, () => oci.pullBlob(c, big.repo, big.layer, t.onBytes)],
    [100, async (i) => (await oci.pushImage(c, `${t.repo}/mixed`, `m${i}`, MiB)).layer.size],
  ];
  let seed = 0x9e3779b9;
  const pick = () => {
    // xorshift32: the same sequence of operations for every registry
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % 100;
  };
  rec.begin();
  await runFor(concurrency, o.duration, async (i) => {
    const r = pick();
    const op = ops.find(([upTo]) => r < upTo)![1];
    await rec.time(() => op(i));
  });
  rec.end();
}

export const scenarios: Record<ScenarioName, Scenario> = {
  "push-stream": pushStream,
  "push-chunked": pushChunked,
  pull,
  "pull-range": pullRange,
  small,
  "concurrent-push": concurrentPush,
  "manifest-get": rateScenario("manifest-get", (t, im) => oci.getManifest(t.client, im.repo, im.tag, im.manifestDigest)),
  "manifest-head": rateScenario("manifest-head", (t, im) => oci.headManifest(t.client, im.repo, im.tag, im.manifestDigest)),
  "blob-head": rateScenario("blob-head", (t, im) => oci.headBlob(t.client, im.repo, im.layer)),
  "tags-list": rateScenario("tags-list", (t, im) => oci.listTags(t.client, im.repo)),
  catalog: rateScenario("catalog", (t) => oci.listCatalog(t.client, 100)),
  mixed,
};

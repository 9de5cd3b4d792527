// Progress of a push: bars redrawn in place on a terminal, plain lines otherwise (CI logs), or
// nothing with --quiet. One bar per layer in flight and one for the whole image.
import type { BlobOutcome, PushEvents } from "./push.ts";
import type { Descriptor } from "./sources.ts";

const MiB = 1024 * 1024;
const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);
export const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

function bar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%`;
}

interface BlobState {
  blob: Descriptor;
  offset: number;
  note: string;
}

export interface Progress extends PushEvents {
  /** Stops redrawing (before the summary is printed). */
  stop(): void;
}

export function createProgress(mode: "tty" | "lines" | "quiet", out: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === "quiet") return { stop() {} };
  const active = new Map<string, BlobState>();
  let total = 0;
  let done = 0;
  const startedAt = Date.now();
  const overall = () => {
    const s = (Date.now() - startedAt) / 1000;
    return `total ${bar(done, total)} ${mib(done)} / ${mib(total)}  ${s > 0 ? mib(done / s) : "-"}/s`;
  };
  const lineFor = (b: BlobState) => `${short(b.blob.digest)} ${bar(b.offset, b.blob.size)} ${mib(b.offset)} / ${mib(b.blob.size)}${b.note ? `  ${b.note}` : ""}`;
  const say = (line: string) => out.write(`${line}\n`);

  // Terminal: redraw the block of bars every 200 ms.
  let drawn = 0;
  const redraw = () => {
    const lines = [...[...active.values()].map(lineFor), overall()];
    out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ""}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    drawn = lines.length;
  };
  const timer = mode === "tty" ? setInterval(redraw, 200) : null;
  // Above the bars on a terminal; a plain line otherwise.
  const event = (line: string) => {
    if (mode !== "tty") return say(line);
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
    say(line);
  };
  // Lines mode: a line per blob each time it passes another quarter.
  const quarters = new Map<string, number>();

  return {
    plan(blobs) {
      total = blobs.reduce((n, b) => n + b.size, 0);
      event(`${blobs.length} blobs, ${mib(total)}`);
    },
    blobStart(blob, offset, resumed) {
      active.set(blob.digest, { blob, offset, note: "" });
      done += offset;
      event(`${short(blob.digest)} ${resumed ? `resuming at ${mib(offset)} of` : "uploading"} ${mib(blob.size)}`);
    },
    blobProgress(blob, offset) {
      const b = active.get(blob.digest);
      if (!b) return;
      done += offset - b.offset;
      b.offset = offset;
      b.note = "";
      const q = Math.floor((4 * offset) / Math.max(1, blob.size));
      if (mode === "lines" && q !== quarters.get(blob.digest)) {
        quarters.set(blob.digest, q);
        say(`${lineFor(b)} | ${overall()}`);
      }
    },
    blobRetry(blob, err, attempt, delayMs) {
      const b = active.get(blob.digest);
      if (b) b.note = `retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`;
      event(`${short(blob.digest)} ${err.message}; retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`);
    },
    blobDone(blob, outcome: BlobOutcome) {
      const b = active.get(blob.digest);
      done += blob.size - (b?.offset ?? 0);
      active.delete(blob.digest);
      event(`${short(blob.digest)} ${outcome === "uploaded" ? "pushed" : outcome === "exists" ? "already there" : "mounted"} (${mib(blob.size)})`);
    },
    manifest(ref, digest) {
      event(`manifest ${ref === digest ? short(digest) : `${ref} -> ${digest}`}`);
    },
    stop() {
      if (timer) clearInterval(timer);
      if (mode === "tty") redraw();
    },
  };
}

// Peak resident memory of a registry running on this machine: VmRSS summed over its process and
// all descendants (for our local server: node scripts/serve.mjs and its workerd), sampled often.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
}

/** The process and all its descendants. */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const stat = readProc(`/proc/${pid}/stat`);
    // Field 4 is the parent pid; the command name (field 2) may hold spaces, so skip past ")".
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) : NaN;
    if (!Number.isNaN(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export function rssBytes(pid: number): number {
  const status = readProc(`/proc/${pid}/status`);
  const m = status ? /^VmRSS:\s+(\d+)\s+kB/m.exec(status) : null;
  return m ? Number(m[1]) * 1024 : 0;
}

/** The pid listening on a loopback TCP port, from /proc/net/tcp{,6} and the processes' sockets. */
export function listenerPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of (readProc(table) ?? "").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] = local address:port (hex), f[3] = state (0A = LISTEN), f[9] = socket inode
      if (f.length > 9 && f[3] === "0A" && parseInt(f[1]!.split(":")[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return pid;
    }
  }
  return null;
}

/** Registry processes to watch: the given pids, or whoever listens on a loopback URL's port. */
export function registryPids(url: string, given: number[] | null): number[] | null {
  if (given) return given;
  const u = new URL(url);
  if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(u.hostname)) return null;
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  const pid = listenerPid(port);
  return pid === null ? null : [pid];
}

export class RssSampler {
  private readonly roots: number[];
  private timer: NodeJS.Timeout | null = null;
  private tree: number[] = [];
  private ticks = 0;
  peak = 0;
  /** RSS at start(): the growth a scenario caused is peak - initial. */
  initial = 0;

  constructor(roots: number[]) {
    this.roots = roots;
  }

  start(intervalMs = 100): void {
    this.peak = 0;
    this.initial = this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): { peak: number; growth: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { peak: this.peak, growth: Math.max(0, this.peak - this.initial) };
  }

  private sample(): number {
    // Re-walk the tree now and then: a server may start worker processes while it runs.
    if (this.ticks++ % 10 === 0) this.tree = processTree(this.roots);
    let sum = 0;
    for (const pid of this.tree) sum += rssBytes(pid);
    if (sum > this.peak) this.peak = sum;
    return sum;
  }
}

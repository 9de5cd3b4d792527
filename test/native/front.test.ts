// The workerd front (scripts/workerd-front/, what scripts/serve.mjs runs) against a stand-in for
// workerd with workerd's habits made deterministic: an answer before the body is read followed
// by a reset, kept-alive connections closed just as a request arrives, requests that hang.
// Node only: the front runs where miniflare runs.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startFront, type RunningFront } from "../../scripts/workerd-front/front";
import { IDLE_REUSE_MS } from "../../scripts/workerd-front/upstream";
import { RawConnection, envelope, sleep } from "./raw";

interface Seen {
  connection: number;
  head: string;
  bodyBytes: number;
}

/** A workerd stand-in. Each request's path picks its behaviour. */
class FakeWorkerd {
  readonly server: net.Server;
  readonly seen: Seen[] = [];
  connections = 0;
  /** Close a kept-alive connection when its next request arrives (workerd's idle close, met by a request). */
  closeReused = false;
  private stalled: (() => void)[] = [];

  constructor() {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Answers every stalled request. */
  releaseStalled(): void {
    for (const release of this.stalled.splice(0)) release();
  }

  private serve(socket: net.Socket): void {
    const id = ++this.connections;
    let requests = 0;
    let buffer = Buffer.alloc(0);
    let current: (Seen & { need: number; chunked: boolean; path: string }) | null = null;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (current === null) {
          const end = buffer.indexOf("\r\n\r\n");
          if (end === -1) return;
          const head = buffer.toString("latin1", 0, end);
          buffer = buffer.subarray(end + 4);
          requests++;
          if (this.closeReused && requests > 1) return void socket.destroy();
          const path = head.split(" ")[1]!;
          const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
          current = { connection: id, head, bodyBytes: 0, need: cl ? Number(cl[1]) : 0, chunked: /\r\ntransfer-encoding: *chunked/i.test(head), path };
          this.seen.push(current);
          if (path.startsWith("/early")) {
            // Answer at once and close with the body unread: the kernel turns that into a reset.
            socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n{"errors":[{"code":"SIZE_INVALID","m":"x"}]}');
            return void socket.destroy();
          }
        }
        const req = current;
        if (req.chunked) {
          const end = buffer.indexOf("0\r\n\r\n");
          req.bodyBytes += end === -1 ? buffer.length : end;
          if (end === -1) return void (buffer = Buffer.alloc(0));
          buffer = buffer.subarray(end + 5);
        } else {
          const take = Math.min(req.need - req.bodyBytes, buffer.length);
          req.bodyBytes += take;
          buffer = buffer.subarray(take);
          if (req.bodyBytes < req.need) return;
        }
        current = null;
        const answer = () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(req.bodyBytes).length}\r\n\r\n${req.bodyBytes}`);
        if (req.path.startsWith("/stall")) this.stalled.push(answer);
        else answer();
      }
    });
  }
}

let workerd: FakeWorkerd;
let front: RunningFront;
beforeAll(async () => {
  workerd = new FakeWorkerd();
  const upstreamPort = await workerd.listen();
  front = await startFront({ host: "127.0.0.1", port: 0, upstream: { host: "127.0.0.1", port: upstreamPort }, maxBodies: 1, maxBodyless: 4 });
});
afterAll(async () => {
  await front?.close();
  workerd?.server.close();
});

async function connect(): Promise<RawConnection> {
  const conn = new RawConnection(front.port);
  await conn.ready();
  return conn;
}

describe("workerd front", () => {
  test("forwards end-to-end fields only, with the real peer address in CF-Connecting-IP", async () => {
    const conn = await connect();
    conn.write("GET /ok?x=1 HTTP/1.1\r\nHost: registry.example\r\nCF-Connecting-IP: 6.6.6.6\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-End: 2\r\n\r\n");
    const res = await conn.next();
    expect(res.status).toBe(200);
    const head = workerd.seen.at(-1)!.head;
    expect(head.split("\r\n")[0]).toBe("GET /ok?x=1 HTTP/1.1");
    expect(head.match(/cf-connecting-ip/gi)).toHaveLength(1);
    expect(head).toMatch(/\r\nCF-Connecting-IP: 127\.0\.0\.1(\r\n|$)/);
    expect(head).toMatch(/\r\nHost: registry\.example(\r\n|$)/);
    expect(head).toMatch(/\r\nx-end: 2(\r\n|$)/);
    expect(head).not.toMatch(/connection|keep-alive|x-hop/i);
    conn.destroy();
  });

  test("an answer before the body, then a reset: the client gets the answer every time", async () => {
    for (let i = 0; i < 20; i++) {
      const conn = await connect();
      conn.write(`PATCH /early HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
      void conn.pump(64 * 1024 * 1024);
      const res = await conn.next(5_000);
      expect(res.status).toBe(413);
      expect(envelope(res).code).toBe("SIZE_INVALID");
      expect(res.headers.connection).toBe("close");
      conn.destroy();
    }
  });

  test("a kept-alive connection closed as a bodyless request arrives: sent again on a fresh one", async () => {
    const conn = await connect();
    conn.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await conn.next()).status).toBe(200);
    const before = workerd.connections;
    workerd.closeReused = true;
    try {
      conn.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
      expect((await conn.next()).status).toBe(200);
    } finally {
      workerd.closeReused = false;
    }
    expect(workerd.connections).toBe(before + 1);
    conn.destroy();
  });

  test(`idle connections to workerd are reused only within ${IDLE_REUSE_MS} ms`, async () => {
    const conn = await connect();
    conn.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.next();
    const before = workerd.connections;
    conn.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.next();
    expect(workerd.connections).toBe(before);
    await sleep(IDLE_REUSE_MS + 100);
    conn.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.next();
    expect(workerd.connections).toBe(before + 1);
    conn.destroy();
  });

  test("bodies are paced, bodyless requests pass; a queued body whose client left is never forwarded", async () => {
    // maxBodies is 1: this one holds the slot until workerd answers.
    const holder = await connect();
    holder.write("PUT /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    await sleep(100);
    const queued = await connect();
    queued.write("PUT /queued HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
    await sleep(100);
    expect(front.stats().bodies).toEqual({ inFlight: 1, queued: 1 });
    const started = Date.now();
    const bodyless = await connect();
    bodyless.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await bodyless.next()).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
    queued.destroy();
    await sleep(100);
    expect(front.stats().bodies).toEqual({ inFlight: 1, queued: 0 });
    workerd.releaseStalled();
    expect((await holder.next()).body.toString()).toBe("3");
    await sleep(200);
    expect(workerd.seen.some((s) => s.head.startsWith("PUT /queued"))).toBe(false);
    expect(front.stats().bodies).toEqual({ inFlight: 0, queued: 0 });
    holder.destroy();
    bodyless.destroy();
  });

  test("Expect: 100-continue: a refusal comes before any body byte is asked for", async () => {
    const conn = await connect();
    conn.write(`PUT /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n`);
    const res = await conn.next();
    expect(res.status).toBe(413);
    conn.destroy();
    const ok = await connect();
    ok.write("PUT /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    expect((await ok.next()).status).toBe(100);
    ok.write("hello");
    expect((await ok.next()).body.toString()).toBe("5");
    ok.destroy();
  });

  test("workerd unreachable: 502 in the envelope", async () => {
    const dead = await startFront({ host: "127.0.0.1", port: 0, upstream: { host: "127.0.0.1", port: 1 }, maxBodies: 1, maxBodyless: 1 });
    try {
      const conn = new RawConnection(dead.port);
      await conn.ready();
      conn.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
      const res = await conn.next();
      expect(res.status).toBe(502);
      expect(envelope(res).message).toBe("registry worker unreachable");
      conn.destroy();
    } finally {
      await dead.close();
    }
  });
});

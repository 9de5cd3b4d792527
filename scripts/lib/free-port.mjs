// A free loopback TCP port for a server a script or test is about to start. Shared by the .mjs
// scripts (plain node), the tests (vitest) and the esbuild-bundled .ts scripts; types in free-port.d.mts.
import net from "node:net";

// Ports fetch() refuses to connect to (the Fetch standard's "bad ports", as undici has them): a
// server there could not be reached by the tests' and the load test's own clients.
const BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** A port the OS just handed out on 127.0.0.1, then closed again: free unless someone takes it meanwhile. */
function listenOnce() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A free port on 127.0.0.1 that fetch() can connect to. */
export async function freePort() {
  for (let i = 0; i < 20; i++) {
    const port = await listenOnce();
    if (port > 0 && !BAD_PORTS.has(port)) return port;
  }
  throw new Error("no usable free port found");
}

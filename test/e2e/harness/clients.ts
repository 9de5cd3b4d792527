// Client daemons and tool configuration, each isolated under the test file's temp dir:
// dockerd, containerd, and the containers/* tools (skopeo, podman, buildah) with their own
// storage, registries.conf and policy.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { run, type RunOptions, type RunResult } from "./exec";
import { ensureDir, startDaemon, waitFor, type Daemon } from "./proc";

// ---------------------------------------------------------------- dockerd

export interface Docker {
  readonly sock: string;
  readonly env: Record<string, string>;
  /** `docker -H unix://sock …` */
  docker(args: string[], opts?: RunOptions): Promise<RunResult>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** `registry-mirrors` of daemon.json: where dockerd pulls docker.io images from (e.g. "http://127.0.0.1:5000"). */
  registryMirrors?: string[];
}

/** Starts a private dockerd (vfs, no networking) that treats `insecureRegistries` as plain HTTP. */
export async function startDockerd(workDir: string, insecureRegistries: string[], options: DockerdOptions = {}): Promise<Docker> {
  const root = await ensureDir(path.join(workDir, "d"));
  const dataRoot = await ensureDir(path.join(root, "data"));
  const execRoot = await ensureDir(path.join(root, "x"));
  const cliConfig = await ensureDir(path.join(root, "cli"));
  const sock = path.join(root, "docker.sock");
  if (sock.length > 100) throw new Error(`docker socket path too long for a unix socket: ${sock}`);
  const args = [
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--storage-driver=vfs",
    "--data-root", dataRoot,
    "--exec-root", execRoot,
    "--host", `unix://${sock}`,
    "--pidfile", path.join(root, "docker.pid"),
    ...insecureRegistries.flatMap((r) => ["--insecure-registry", r]),
    ...(options.registryMirrors ?? []).flatMap((m) => ["--registry-mirror", m]),
  ];
  const daemon: Daemon = startDaemon("dockerd", "dockerd", args, { logFile: path.join(workDir, "dockerd.log") });
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: cliConfig, DOCKER_CLI_HINTS: "false" };
  const docker = (a: string[], opts: RunOptions = {}) => run("docker", a, { ...opts, env: { ...env, ...opts.env } });
  try {
    await waitFor(
      "dockerd to answer `docker version`",
      async () => {
        if (daemon.exited()) throw new Error(`dockerd exited:\n${daemon.logTail()}`);
        return (await docker(["version", "--format", "{{.Server.Version}}"], { allowFailure: true, timeoutMs: 10_000 })).code === 0;
      },
      60_000,
      500,
    );
  } catch (err) {
    await daemon.stop();
    throw new Error(`${(err as Error).message}\ndockerd log:\n${daemon.logTail(60)}`);
  }
  return { sock, env, docker, logTail: (n) => daemon.logTail(n), stop: () => daemon.stop(20_000) };
}

// ---------------------------------------------------------------- containerd

export interface Containerd {
  readonly address: string;
  /** `ctr --address … --namespace e2e …` */
  ctr(args: string[], opts?: RunOptions): Promise<RunResult>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Starts a private containerd (own root, state, socket; CRI disabled). */
export async function startContainerd(workDir: string): Promise<Containerd> {
  const base = await ensureDir(path.join(workDir, "c"));
  const address = path.join(base, "containerd.sock");
  if (address.length > 100) throw new Error(`containerd socket path too long: ${address}`);
  const config = path.join(base, "config.toml");
  await writeFile(
    config,
    [
      "version = 2",
      `root = ${JSON.stringify(path.join(base, "root"))}`,
      `state = ${JSON.stringify(path.join(base, "state"))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = ${JSON.stringify(address)}`,
      "[ttrpc]",
      `  address = ${JSON.stringify(address + ".ttrpc")}`,
      "[debug]",
      '  address = ""',
      "[metrics]",
      '  address = ""',
      "",
    ].join("\n"),
  );
  const daemon = startDaemon("containerd", "containerd", ["--config", config, "--log-level", "info"], { logFile: path.join(workDir, "containerd.log") });
  const ctr = (a: string[], opts: RunOptions = {}) => run("ctr", ["--address", address, "--namespace", "e2e", ...a], opts);
  try {
    await waitFor(
      "containerd to answer `ctr version`",
      async () => {
        if (daemon.exited()) throw new Error(`containerd exited:\n${daemon.logTail()}`);
        return (await ctr(["version"], { allowFailure: true, timeoutMs: 10_000 })).code === 0;
      },
      60_000,
      300,
    );
  } catch (err) {
    await daemon.stop();
    throw new Error(`${(err as Error).message}\ncontainerd log:\n${daemon.logTail(60)}`);
  }
  return { address, ctr, logTail: (n) => daemon.logTail(n), stop: () => daemon.stop(15_000) };
}

// ---------------------------------------------------------------- skopeo / podman / buildah

export interface ContainersTools {
  /** Env for every containers/* tool: private registries.conf, storage.conf, containers.conf. */
  readonly env: Record<string, string>;
  readonly policy: string;
  /** Global flags selecting the private vfs storage (podman, buildah). */
  readonly storageFlags: string[];
  skopeo(args: string[], opts?: RunOptions): Promise<RunResult>;
  podman(args: string[], opts?: RunOptions): Promise<RunResult>;
  buildah(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/**
 * Configuration for skopeo/podman/buildah that marks `insecureRegistries` as plain HTTP and
 * keeps images in vfs storage under workDir (never the machine's /var/lib/containers).
 */
export interface ContainersToolsOptions {
  /** registries.conf mirrors: pulls of `prefix` (e.g. "docker.io") go to `mirror` (host:port, plain HTTP) first. */
  mirrors?: { prefix: string; mirror: string }[];
}

export async function containersTools(workDir: string, insecureRegistries: string[], options: ContainersToolsOptions = {}): Promise<ContainersTools> {
  const base = await ensureDir(path.join(workDir, "ctrs"));
  const graphRoot = await ensureDir(path.join(base, "storage"));
  const runRoot = await ensureDir(path.join(base, "run"));
  const tmpDir = await ensureDir(path.join(base, "tmp"));
  const libpodTmp = await ensureDir(path.join(base, "libpod"));
  const networkDir = await ensureDir(path.join(base, "networks"));
  const registriesConf = path.join(base, "registries.conf");
  await writeFile(
    registriesConf,
    [
      'unqualified-search-registries = []',
      "",
      ...insecureRegistries.flatMap((r) => ["[[registry]]", `location = ${JSON.stringify(r)}`, "insecure = true", ""]),
      ...(options.mirrors ?? []).flatMap(({ prefix, mirror }) => [
        "[[registry]]",
        `prefix = ${JSON.stringify(prefix)}`,
        `location = ${JSON.stringify(prefix)}`,
        "[[registry.mirror]]",
        `location = ${JSON.stringify(mirror)}`,
        "insecure = true",
        "",
      ]),
    ].join("\n"),
  );
  const storageConf = path.join(base, "storage.conf");
  await writeFile(storageConf, ["[storage]", 'driver = "vfs"', `graphroot = ${JSON.stringify(graphRoot)}`, `runroot = ${JSON.stringify(runRoot)}`, ""].join("\n"));
  const containersConf = path.join(base, "containers.conf");
  await writeFile(
    containersConf,
    ["[engine]", 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', `events_logfile_path = ${JSON.stringify(path.join(base, "events.log"))}`, `tmp_dir = ${JSON.stringify(libpodTmp)}`, ""].join("\n"),
  );
  const policy = path.join(base, "policy.json");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const authFile = path.join(base, "auth.json");
  await writeFile(authFile, "{}");
  const env = {
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_CONF: containersConf,
    REGISTRY_AUTH_FILE: authFile,
    TMPDIR: tmpDir,
    BUILDAH_ISOLATION: "chroot",
  };
  const storageFlags = ["--storage-driver", "vfs", "--root", graphRoot, "--runroot", runRoot];
  const withEnv = (cmd: string, prefix: string[]) => (a: string[], opts: RunOptions = {}) => run(cmd, [...prefix, ...a], { ...opts, env: { ...env, ...opts.env } });
  return {
    env,
    policy,
    storageFlags,
    skopeo: withEnv("skopeo", ["--policy", policy]),
    podman: withEnv("podman", [...storageFlags, "--tmpdir", libpodTmp, "--network-config-dir", networkDir, "--cgroup-manager", "cgroupfs", "--events-backend", "file"]),
    buildah: withEnv("buildah", [...storageFlags, "--registries-conf", registriesConf]),
  };
}

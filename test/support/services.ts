import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real PostgreSQL and Redis for the suite: throwaway servers on free loopback ports in a temp dir. */
export type Service = { url: string; stop(): Promise<void> };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function which(name: string, extraDirs: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extraDirs]) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

export function findBinaries() {
  return {
    initdb: which('initdb', postgresBinDirs()),
    pgCtl: which('pg_ctl', postgresBinDirs()),
    redis: which('redis-server'),
    redisCli: which('redis-cli'),
  };
}

/** Postgres refuses to run as root: then every server command runs as the `postgres` user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[]) {
  const [c, a] = asPostgres(cmd, args);
  const result = spawnSync(c, a, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.stdout}`);
}

export async function startPostgres(): Promise<Service> {
  const { initdb, pgCtl } = findBinaries();
  if (!initdb || !pgCtl) throw new Error('PostgreSQL binaries (initdb, pg_ctl) not found');
  const dir = mkdtempSync(join(tmpdir(), 'gag-pg-'));
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres:postgres', dir]);
  const data = join(dir, 'data');
  const port = await freePort();
  run(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
  run(pgCtl, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function startRedis(): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'gag-redis-'));
  const port = await freePort();
  const child = await spawnRedis(dir, port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A redis-server on a loopback port, resolved once it accepts connections. */
async function spawnRedis(dir: string, port: number, extra: string[] = []): Promise<ChildProcess> {
  const { redis } = findBinaries();
  if (!redis) throw new Error('redis-server not found');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
  const child: ChildProcess = spawn(redis, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}

/**
 * A Redis Cluster of three masters (no replicas) on free loopback ports, each with its own
 * cluster bus port, created with `redis-cli --cluster create`; resolved at `cluster_state:ok`.
 * The URL lists every node comma-separated, as REDIS_URL does with REDIS_CLUSTER=true.
 */
export async function startRedisCluster(): Promise<Service> {
  const { redisCli } = findBinaries();
  if (!redisCli) throw new Error('redis-cli not found');
  const dir = mkdtempSync(join(tmpdir(), 'gag-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [port, bus] = [await freePort(), await freePort()];
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const conf = [
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(bus),
        '--cluster-config-file',
        join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
      ];
      children.push(await spawnRedis(nodeDir, port, conf));
      ports.push(port);
    }
    const create = spawnSync(redisCli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    await waitForClusterOk(redisCli, ports);
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForClusterOk(redisCli: string, ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = ports.every((port) => spawnSync(redisCli, ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'));
    if (ok) return;
    if (Date.now() > deadline) throw new Error('Redis Cluster did not reach cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

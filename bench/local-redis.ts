import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Cleanup } from './cleanup.js';
import { freePort, waitUntil } from './processes.js';

/** A throwaway redis-server on a loopback port: no persistence, stopped by `cleanup`. */
export async function startLocalRedis(dir: string, cleanup: Cleanup): Promise<string> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.add('stop redis', async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  await waitUntil('redis-server', () => pingRedis(port));
  return `redis://127.0.0.1:${port}`;
}

/** One inline PING over a raw socket: enough to know the server accepts commands. */
function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

// Runs the real command (dist/cli.js) as a user would, for the command-line tests.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const lines = (n, from = 1) => Array.from({ length: n }, (_, i) => `${i + from}\n`).join('');

/** Runs the CLI with `input` on stdin; resolves with its exit code and output. Killed after `timeout` ms. */
export function runCli(args, { input = '', timeout = 60_000, env } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
  return collect(child, timeout, () => {
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Collects a spawned CLI's output until it exits. */
export function collect(child, timeout = 60_000, start = () => {}) {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the CLI did not exit within ${timeout} ms; stderr: ${stderr}`));
    }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    start();
  });
}

/** Lines of text, without the empty string after the last newline. */
export const split = (text) => text.split('\n').filter((line) => line !== '');

// Child processes of the test: run a command to its end, or start one in the background and wait for a line of its
// output. Every background process is killed when the test ends, on any path (success, failure, signal, deadline).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const running = new Set();

export function killAll(signal = 'SIGKILL') {
  for (const child of running) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
  running.clear();
}

// Last resort: whatever is still running when node exits dies with it.
process.on('exit', () => killAll('SIGKILL'));

// Runs a command to its end; throws with its output unless it exits 0 (or with one of `okCodes`).
export function run(command, args, { input, okCodes = [0], timeoutMs = 60_000, env } = {}) {
  const result = spawnSync(command, args, {
    input,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error)
    throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (!okCodes.includes(result.status))
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`,
    );
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

// A process in the background with its stdout and stderr in files.
export class Background {
  constructor(name, command, args, { outFile, errFile, env } = {}) {
    this.name = name;
    this.outFile = outFile;
    this.errFile = errFile;
    const out = fs.openSync(outFile, 'w');
    const err = fs.openSync(errFile, 'w');
    this.child = spawn(command, args, { stdio: ['ignore', out, err], env: env ?? process.env });
    fs.closeSync(out);
    fs.closeSync(err);
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({ code, signal });
      });
      this.child.on('error', (error) => {
        running.delete(this.child);
        this.exitCode = -1;
        this.spawnError = error;
        resolve({ code: -1, signal: null, error });
      });
    });
  }

  get alive() {
    return this.exitCode === undefined;
  }

  output() {
    const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    return read(this.outFile) + read(this.errFile);
  }

  // Polls the output until `pattern` matches; returns the match. Fails early when the process ends.
  async waitFor(pattern, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output().match(pattern);
      if (match)
        return match;
      if (!this.alive)
        throw new Error(`${this.name} ended (${this.spawnError?.message ?? this.exitCode ?? this.exitSignal}) ` +
                        `before printing ${pattern}:\n${tail(this.output())}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${tail(this.output())}`);
      await sleep(100);
    }
  }

  // SIGTERM, then SIGKILL after `graceMs`; returns the exit code (or the signal's name).
  async stop(graceMs = 10_000) {
    if (!this.alive)
      return this.exitCode ?? this.exitSignal;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    return code ?? signal;
  }
}

export function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

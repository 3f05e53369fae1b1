// Test harness only (never used by scripts/stack.sh or production): preloaded with `node -r` into every
// service process that libs/testing starts. The service leaves when the process that started it goes
// away — a test or benchmark killed by a timeout or SIGKILL — so no orphan stays connected to NATS,
// sharing durable consumers and queue groups with the next run and silently taking its messages.
// Two signals: the IPC channel the harness opens closes when the parent dies (immediate), and the
// parent pid changes when the child is re-parented (a fallback, polled).
'use strict';

const parent = process.ppid;
let leaving = false;

function leave(why) {
  if (leaving) return;
  leaving = true;
  try {
    process.stderr.write(`die-with-parent: ${why}; shutting down\n`);
  } catch {
    // the parent's end of the pipe may be gone already
  }
  // A graceful stop first (NATS drained, ports released), a hard one if it hangs.
  setTimeout(() => process.exit(1), 5_000).unref();
  process.kill(process.pid, 'SIGTERM');
}

if (process.channel) {
  process.on('disconnect', () => leave('the harness process is gone (IPC closed)'));
  // The channel must not keep the service alive by itself.
  process.channel.unref();
}
const timer = setInterval(() => {
  if (process.ppid !== parent) leave(`parent ${parent} is gone (now ${process.ppid})`);
}, 500);
timer.unref();
// stdout/stderr are pipes to the harness: once it is gone, writes fail with EPIPE — not a crash reason
// before the graceful stop above runs.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => leave('output pipe closed'));

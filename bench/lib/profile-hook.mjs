// Loaded with `node --import` into a process to profile: the first SIGUSR2 starts the V8 CPU profiler
// (interval PROFILE_INTERVAL_US, default 1000 µs), the second stops it and writes the profile to
// PROFILE_OUT, then prints `profile-written` on stderr. Only the window between the two signals counts.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
let running = false;
process.on('SIGUSR2', async () => {
  if (!running) {
    running = true;
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', {
      interval: Number(process.env.PROFILE_INTERVAL_US ?? 1000),
    });
    await session.post('Profiler.start');
    return;
  }
  running = false;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.PROFILE_OUT ?? 'gateway.cpuprofile', JSON.stringify(profile));
  process.stderr.write('profile-written\n');
});

/** Waits `ms`, or less if `signal` aborts first; never rejects (an abort is a reason to stop waiting, not an error). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits for `p` to settle, or less if `signal` aborts first; never rejects, and leaves no listener behind. */
export function waitFor(p: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p.then(noop, noop);
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}

function noop(): void {}

import type { Random } from '../../util/random.js';
import type { SimClock } from '../clock.js';
import type { Kernel } from '../kernel.js';
import type { Network } from './network.js';

/** What the server side of a request does when it arrives. */
export type ServerReply<T> =
  /** The host is gone or wedged: nothing ever comes back. */
  | { hang: true }
  /** The process is down: the connection is refused at once. */
  | { refused: true }
  /** The server works for `ms`, then `apply` runs (its side effects happen then) and the reply leaves. */
  | { ms: number; apply: () => T };

export type RpcOutcome<T> =
  | { kind: 'ok'; value: T; latencyMs: number }
  | { kind: 'refused'; latencyMs: number }
  | { kind: 'timeout'; latencyMs: number }
  | { kind: 'aborted'; latencyMs: number };

export interface RpcDeps {
  kernel: Kernel;
  network: Network;
}

/**
 * One request from an observer to a region and its reply, over the simulated network. The
 * request's fate is drawn once: delivered, lost on the way out (the server never acts), or lost
 * on the way back (the server acts, the caller never hears) — an asymmetric cut does the same
 * deterministically. The caller's timeout and the reply both run on the caller's clock, so a
 * paused or crashed caller behaves as a real process would; the server side runs in world time.
 */
export function rpc<T>(
  deps: RpcDeps,
  path: { observer: string; region: string; clock: SimClock; random: Random },
  opts: { timeoutMs: number; signal?: AbortSignal | undefined },
  server: () => ServerReply<T>,
): Promise<RpcOutcome<T>> {
  const { kernel, network } = deps;
  const { clock, random } = path;
  const t0 = clock.monotonic();
  return new Promise<RpcOutcome<T>>((resolve) => {
    let done = false;
    const elapsed = () => clock.monotonic() - t0;
    const finish = (o: RpcOutcome<T>) => {
      if (done) return;
      done = true;
      clock.clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    // The scheduler aborts at its deadline with a TimeoutError: report that as the timeout it is.
    const onAbort = () =>
      finish({
        kind:
          (opts.signal?.reason as { name?: string } | undefined)?.name === 'TimeoutError'
            ? 'timeout'
            : 'aborted',
        latencyMs: elapsed(),
      });
    const deadline = clock.setTimeout(
      () => finish({ kind: 'timeout', latencyMs: elapsed() }),
      opts.timeoutMs,
    );
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const link = network.state(path.observer, path.region);
    const lost = random() < link.loss;
    const lostOnTheWayOut = lost && random() < 0.5;
    if (link.cutOut || lostOnTheWayOut) return;
    const out = network.jittered(link, random);
    const back = network.jittered(link, random);
    const reply = (value: RpcOutcome<T>) => {
      // The way back is judged when the reply leaves: a cut made meanwhile swallows it.
      if (network.state(path.observer, path.region).cutBack || lost) return;
      clock.setTimeout(() => finish({ ...value, latencyMs: elapsed() }), back);
    };
    kernel.after(
      out,
      () => {
        // The request arrives whether or not the caller still waits: the server acts on it.
        const r = server();
        if ('hang' in r) return;
        if ('refused' in r) {
          reply({ kind: 'refused', latencyMs: 0 });
          return;
        }
        kernel.after(r.ms, () => reply({ kind: 'ok', value: r.apply(), latencyMs: 0 }), { settle: false });
      },
      { settle: false },
    );
  });
}

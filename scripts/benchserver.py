"""What the benchmarks that drive a real gunicorn share: the production-settings environment
it runs with, waiting for it to listen, and a paced asyncio client (each call on a new
connection, as CI pipelines and webhook senders make them)."""

import os
import secrets
import socket
import time

# The end of the benchmarks' wrk scripts: each thread counts the statuses it got (`codes`, a
# table its init() creates; setup() keeps the threads in `threads`), and done() prints them and the
# summary in lines the scripts parse (WRK-STATUSES, WRK-SUMMARY).
WRK_REPORT = r"""
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("codes")) do out[code] = (out[code] or 0) + n end
  end
  io.write("WRK-STATUSES")
  for code, n in pairs(out) do io.write(string.format(" %d=%d", code, n)) end
  io.write(string.format("\nWRK-SUMMARY requests=%d duration_us=%d errors=%d p50=%d p95=%d p99=%d max=%d\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""

CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "1" if (os.cpu_count() or 1) >= 2 else "")


def production_env(*, database_url: str, redis_url: str) -> dict:
    """Production settings on loopback: no TLS redirect, quiet logs, persistent connections."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start on port {port}")


def raw_request(path: str, *, port: int, method: str, body: bytes, headers: dict) -> bytes:
    """An HTTP/1.1 request, ready to send, on a connection it closes."""
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def one_call(request: bytes, port: int) -> tuple[float, int]:
    """One call on a new connection, timed from the connect to the last byte of the answer."""
    import asyncio

    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await reader.read()
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed, int(answer.split(b" ", 2)[1])


def burst(request: bytes, port: int, calls: int) -> list[tuple[float, int]]:
    """`calls` calls sent at the same moment, each on its own connection; (seconds, status) of each,
    timed from its connect to the last byte of its answer. One epoll loop over plain non-blocking
    sockets: about half the CPU an asyncio stream costs a call (0.17-0.22 against 0.34 ms here),
    which on a 2-core machine is CPU the server under test does not get (CI pipelines call from
    other machines)."""
    import selectors

    poller = selectors.DefaultSelector()
    pending: dict[socket.socket, list] = {}
    out: list[tuple[float, int]] = []
    for _ in range(calls):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        started = time.perf_counter()
        sock.connect_ex(("127.0.0.1", port))
        pending[sock] = [started, b""]
        poller.register(sock, selectors.EVENT_WRITE)
    while pending:
        ready = poller.select(timeout=30)
        if not ready:
            raise TimeoutError(f"{len(pending)} of {calls} calls unanswered after 30 s")
        for key, events in ready:
            sock = key.fileobj
            state = pending[sock]
            if events & selectors.EVENT_WRITE:
                sock.sendall(request)  # a few hundred bytes: the socket's buffer takes them at once
                poller.modify(sock, selectors.EVENT_READ)
                continue
            chunk = sock.recv(65536)
            if chunk:
                state[1] += chunk
                continue
            out.append((time.perf_counter() - state[0], int(state[1].split(b" ", 2)[1])))
            poller.unregister(sock)
            sock.close()
            del pending[sock]
    poller.close()
    return out


def pinned(call):
    """Run `call()` pinned to BENCH_CLIENT_CPUS (default CPU 1), like wrk."""
    affinity = os.sched_getaffinity(0)
    if CLIENT_CPUS:
        os.sched_setaffinity(0, {int(c) for c in CLIENT_CPUS.split(",")})
    try:
        return call()
    finally:
        os.sched_setaffinity(0, affinity)


def on_client_cpus(coroutine):
    """Run an asyncio client pinned to BENCH_CLIENT_CPUS (default CPU 1), like wrk."""
    import asyncio

    return pinned(lambda: asyncio.run(coroutine))


def latency_figures(results: list[tuple[float, int]]) -> dict:
    """p50, p99 and max in ms, and the count of each status, of (seconds, status) results."""
    latencies = sorted(r[0] for r in results)
    statuses: dict[int, int] = {}
    for _, code in results:
        statuses[code] = statuses.get(code, 0) + 1

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000, "statuses": statuses}


def paced(requests: list[bytes], *, port: int, clients: int, rate: float, duration: int) -> dict:
    """`clients` senders calling concurrently, each on a new connection and again every clients / rate
    seconds (their starts spread over the first period): `rate` calls per second in all, whatever the
    answers' latency (an open load, the way CI pipelines and webhook senders call). Call n sends
    requests[n % len(requests)]: give as many distinct ones as must not repeat."""
    import asyncio

    period = clients / rate
    counter = iter(range(10**9))

    async def sender(n: int, deadline: float, out: list):
        await asyncio.sleep(period * n / clients)
        next_start = time.perf_counter()
        while next_start < deadline:
            out.append(await one_call(requests[next(counter) % len(requests)], port))
            next_start += period
            await asyncio.sleep(max(0.0, next_start - time.perf_counter()))

    async def all_senders():
        out: list = []
        started = time.perf_counter()
        await asyncio.gather(*(sender(n, started + duration, out) for n in range(clients)))
        return out, time.perf_counter() - started

    results, elapsed = on_client_cpus(all_senders())
    return {**latency_figures(results), "per_second": len(results) / elapsed, "calls": len(results)}

"""Infrastructure of the fault tests: our own Redis, Celery worker, TCP proxy and gunicorn.

Nothing here touches the machine's shared services (other test runs use them at the
same time): Redis is a private `redis-server` on a free port without persistence, the
worker and gunicorn are subprocesses pointed at this test's PostgreSQL database and
that private Redis, and "PostgreSQL unreachable" is a proxy we cut, not the server.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def database_url(host=None, port=None) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = host or db.get("HOST") or "127.0.0.1", port or db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class RedisServer:
    """A private redis-server with no persistence: a restart loses every queued message."""

    def __init__(self, workdir: Path):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(self.binary).exists():
            pytest.fail("redis-server is not installed: run scripts/install-system-deps.sh")
        self.port = free_port()
        self.workdir = workdir
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        log = open(self.workdir / "redis.log", "a")  # noqa: SIM115 - kept open for the process' life
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        assert wait_for(self._ping, 15), (self.workdir / "redis.log").read_text()[-2000:]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self):
        self.stop()
        self.start()

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def queued(self, queue="celery") -> int:
        import redis

        return redis.Redis.from_url(self.url).llen(queue)


def service_env(redis_url: str, db_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "faults",
        "PYTHONUNBUFFERED": "1",
    }


class Worker:
    """`celery worker` with a prefork pool of one child: the child can be killed like an OOM kill."""

    def __init__(self, redis_url: str, workdir: Path, name: str = "faults"):
        self.redis_url, self.workdir, self.name = redis_url, workdir, name
        self.process = None
        self.log_path = workdir / f"worker-{name}.log"

    def start(self):
        log = open(self.log_path, "a")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "celery"),
                "-A",
                "config.celery_app",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname={self.name}-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=service_env(self.redis_url, database_url()),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert wait_for(lambda: "ready." in self.log(), 60), self.log()[-3000:]

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def children(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.process.pid).children()]

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class TcpProxy:
    """127.0.0.1:<port> -> target. `cut()` drops every open connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()  # unreachable: the connection is refused as it arrives
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self):
        self.open.clear()
        with self.lock:
            for s in self.connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.connections.clear()

    def restore(self):
        self.open.set()

    def close(self):
        self.stopped = True
        self.cut()
        self.listener.close()


class Gunicorn:
    def __init__(self, redis_url: str, db_url: str, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "gunicorn.log"
        log = open(self.log_path, "a")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=service_env(redis_url, db_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert wait_for(self._up, 60), self.log_path.read_text()[-3000:]

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310 - local
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _reset_producers():
    """Forget the cached connection and producer pools, so the next send uses the current broker_url."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(redis_server):
    """Point this process' Celery producer at the private Redis (and stop running tasks inline)."""
    previous = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    _reset_producers()
    celery_app.conf.update(broker_url=redis_server.url, task_always_eager=False)
    yield redis_server
    _reset_producers()
    celery_app.conf.update(**previous)


@pytest.fixture
def make_worker(redis_server, tmp_path):
    started = []

    def make(name="faults"):
        worker = Worker(redis_server.url, tmp_path, name=name)
        worker.start()
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
    connection.close()

"""One K2 query-engine replica for poolwatch's end-to-end scenario (tests/it/e2e_k2.rs).

A small DuckDB connection pool in K2's shape, exporting K2's pool metrics through the real
prometheus_client, served with a few control endpoints on 127.0.0.1:

    GET /metrics                    the exposition
    GET /query?seconds=0.01         one query on a pooled connection (200, or 503 when the
                                    acquisition timed out or a connection could not be made)
    GET /load?clients=4&seconds=6   `clients` threads each run queries of `seconds`, one
                                    after the other, until /release
    GET /release                    ends the load; running queries return at once

The metric names, types, labels and buckets are K2's, as its metrics registry is recorded
in poolwatch's specs/k2.yaml (`catalog:`), and the pool settings are the environment
variables of K2's runbook (../shared/k2-runbook/connection-pool-tuning.md, "Environment
Variables"): K2_QUERY_ENGINE_POOL_SIZE (default 5), K2_QUERY_ENGINE_POOL_TIMEOUT (30 s),
K2_QUERY_ENGINE_MEMORY_LIMIT (4GB, DuckDB's memory_limit of each connection). Like K2 the
pool creates connections lazily, up to the size; an acquisition that times out is counted
and not observed in the wait histogram.

A slow query is a real DuckDB query, `SELECT k2_sleep(seconds)`, whose scalar function is a
Python UDF that sleeps: the query holds its connection for that long without using a core.

It prints "listening on ADDR" once serving, and exits when its standard input closes (the
test that started it is gone) or after --lifetime seconds.
"""

import argparse
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import duckdb
from duckdb.typing import DOUBLE
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

# The labels K2 puts on every pool metric (specs/k2.yaml: "Every K2 pool metric carries
# `service`, `environment` (always "dev" today) and `component`").
LABELS = ["service", "environment", "component"]
VALUES = {"service": "k2", "environment": "dev", "component": "query-engine"}

# specs/k2.yaml, catalog: names, types, help and buckets as K2 exports them.
SIZE = Gauge(
    "k2_connection_pool_size",
    "Configured number of connections of one K2 process (K2_QUERY_ENGINE_POOL_SIZE).",
    LABELS,
).labels(**VALUES)
ACTIVE = Gauge(
    "k2_connection_pool_active_connections",
    "Connections currently checked out and running a query.",
    LABELS,
).labels(**VALUES)
AVAILABLE = Gauge(
    "k2_connection_pool_available_connections",
    "Idle created connections ready to be acquired.",
    LABELS,
).labels(**VALUES)
WAIT = Histogram(
    "k2_connection_pool_wait_time_seconds",
    "Time a query waited to acquire a connection (timed-out acquisitions are not observed).",
    LABELS,
    buckets=[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
).labels(**VALUES)
TIMEOUTS = Counter(
    "k2_connection_pool_acquisition_timeouts_total",
    "Acquisitions that gave up after K2_QUERY_ENGINE_POOL_TIMEOUT (30s).",
    LABELS,
).labels(**VALUES)
CREATION_ERRORS = Counter(
    "k2_connection_pool_creation_errors_total",
    "Failures to open a new DuckDB connection.",
    LABELS,
).labels(**VALUES)
QUERY = Histogram(
    "k2_query_duration_seconds",
    "Query execution time (K2_QUERY_ENGINE_QUERY_TIMEOUT is 60s).",
    LABELS,
    buckets=[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
).labels(**VALUES)

# Set by /release: slow queries return early and load threads stop.
RELEASE = threading.Event()


def k2_sleep(seconds):
    """The UDF behind a slow query: sleeps in short steps, ending early on /release."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not RELEASE.is_set():
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return seconds


class PoolTimeout(Exception):
    """No connection within K2_QUERY_ENGINE_POOL_TIMEOUT."""


class Pool:
    """K2's pool: at most `size` connections checked out, created lazily on demand."""

    def __init__(self, size, timeout, memory_limit):
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.slots = threading.BoundedSemaphore(size)
        self.idle = queue.LifoQueue()
        SIZE.set(size)
        AVAILABLE.set(0)

    def _create(self):
        conn = duckdb.connect(":memory:", config={"memory_limit": self.memory_limit, "threads": 1})
        conn.create_function("k2_sleep", k2_sleep, [DOUBLE], DOUBLE)
        return conn

    def acquire(self):
        start = time.monotonic()
        if not self.slots.acquire(timeout=self.timeout):
            TIMEOUTS.inc()
            raise PoolTimeout()
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            try:
                conn = self._create()
            except duckdb.Error:
                CREATION_ERRORS.inc()
                self.slots.release()
                raise
        WAIT.observe(time.monotonic() - start)
        ACTIVE.inc()
        AVAILABLE.set(self.idle.qsize())
        return conn

    def release(self, conn):
        self.idle.put(conn)
        ACTIVE.dec()
        AVAILABLE.set(self.idle.qsize())
        self.slots.release()

    def query(self, seconds):
        conn = self.acquire()
        start = time.monotonic()
        try:
            conn.execute("SELECT k2_sleep(?)", [seconds]).fetchall()
        finally:
            QUERY.observe(time.monotonic() - start)
            self.release(conn)


def load(pool, seconds):
    while not RELEASE.is_set():
        try:
            pool.query(seconds)
        except (PoolTimeout, duckdb.Error):
            time.sleep(0.05)


def handler(pool):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", content_type="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlparse(self.path)
            args = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                seconds = float(args.get("seconds", "0.01"))
                clients = int(args.get("clients", "1"))
            except ValueError:
                return self.reply(400, b"seconds and clients are numbers")
            if not (0 <= seconds <= 60 and 1 <= clients <= 20):
                return self.reply(400, b"seconds in 0..60, clients in 1..20")
            if url.path == "/metrics":
                return self.reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            if url.path == "/query":
                try:
                    pool.query(seconds)
                except (PoolTimeout, duckdb.Error) as e:
                    return self.reply(503, repr(e).encode())
                return self.reply(200, b"ok")
            if url.path == "/load":
                RELEASE.clear()
                for _ in range(clients):
                    threading.Thread(target=load, args=(pool, seconds), daemon=True).start()
                return self.reply(202, b"started")
            if url.path == "/release":
                RELEASE.set()
                return self.reply(204)
            return self.reply(404, b"not found")

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument("--lifetime", type=float, default=300.0, help="exit after this many seconds")
    args = parser.parse_args()
    if args.listen not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("--listen must be a loopback address")
    pool = Pool(
        int(os.environ.get("K2_QUERY_ENGINE_POOL_SIZE", "5")),
        float(os.environ.get("K2_QUERY_ENGINE_POOL_TIMEOUT", "30")),
        os.environ.get("K2_QUERY_ENGINE_MEMORY_LIMIT", "4GB"),
    )
    server = ThreadingHTTPServer((args.listen, 0), handler(pool))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)

    def leave_with_stdin():
        sys.stdin.read()
        os._exit(0)

    def leave_after_lifetime():
        time.sleep(args.lifetime)
        print("lifetime over", file=sys.stderr, flush=True)
        os._exit(0)

    threading.Thread(target=leave_with_stdin, daemon=True).start()
    threading.Thread(target=leave_after_lifetime, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The keeper's Prometheus metrics and health endpoint (``prometheus_client``; off unless a port is set).

One HTTP server per keeper (:meth:`KeeperMetrics.serve`) answers:

* ``/metrics`` — the Prometheus text format, every series prefixed ``ringfence_keeper_``:
  ``liquidations_total{kind="full"|"partial"}``, ``bonus_total{pool}`` (settlement-token units,
  scaled by the token's decimals), ``bad_debt_total{pool}``, ``insurance_fund_used_total{pool}``,
  ``gas_used_total``, ``gas_spent_native_total`` (native token, scaled by 10^18),
  ``transactions_total``, ``top_ups_total`` (MarginGuard top-ups done), ``rpc_errors_total``, ``steps_total{result="ok"|"failed"}``,
  ``vaults_tracked`` and ``markets_tracked`` (the index), ``decision_seconds`` (histogram: price reads
  to confirmed vaults), ``step_seconds`` (histogram: the whole pass), ``last_step_timestamp_seconds``
  and ``last_success_timestamp_seconds`` (Unix time);
* ``/health`` — 200 while the last pass succeeded within ``max_age`` seconds, 503 otherwise (a
  pass that raised, or none for too long: the node is down or the keeper is stuck).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from ringfence.keeper.report import StepReport

if TYPE_CHECKING:
    from ringfence.keeper.keeper import Keeper

__all__ = ["KeeperMetrics"]

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class KeeperMetrics:
    """The keeper's counters and gauges in a registry of their own, and the server exposing them."""

    def __init__(self, *, max_age: float = 60.0, clock: Any = time.time) -> None:
        self.max_age = max_age
        self.clock = clock
        self.registry = CollectorRegistry()
        self.last_success: float | None = None
        self.last_failed = False
        self._server: ThreadingHTTPServer | None = None
        r, p = self.registry, "ringfence_keeper_"
        self.liquidations = Counter(p + "liquidations", "Vaults liquidated by this keeper", ["kind"], registry=r)
        self.bonus = Counter(p + "bonus", "Keeper bonus earned, in settlement tokens", ["pool"], registry=r)
        self.bad_debt = Counter(p + "bad_debt", "Bad debt of the vaults this keeper liquidated, in settlement "
                                "tokens", ["pool"], registry=r)
        self.fund_used = Counter(p + "insurance_fund_used", "What the insurance fund paid in this keeper's "
                                 "liquidations (bonus top-up and bad debt), in settlement tokens", ["pool"], registry=r)
        self.gas_used = Counter(p + "gas_used", "Gas used by this keeper's liquidation transactions", registry=r)
        self.gas_native = Counter(p + "gas_spent_native", "Gas paid for liquidations, in the native token", registry=r)
        self.transactions = Counter(p + "transactions", "Liquidation transactions sent", registry=r)
        self.top_ups = Counter(p + "top_ups", "Vaults topped up through the MarginGuard", registry=r)
        self.rpc_errors = Counter(p + "rpc_errors", "Failures that were not a contract revert", registry=r)
        self.steps = Counter(p + "steps", "Keeper passes", ["result"], registry=r)
        self.vaults = Gauge(p + "vaults_tracked", "Open vaults in the keeper's index", registry=r)
        self.markets = Gauge(p + "markets_tracked", "Markets in the keeper's index", registry=r)
        self.decision = Histogram(p + "decision_seconds", "Price reads to confirmed vaults, per pass",
                                  buckets=_LATENCY_BUCKETS, registry=r)
        self.step_time = Histogram(p + "step_seconds", "One keeper pass, wall clock", buckets=_LATENCY_BUCKETS,
                                   registry=r)
        self.last_step = Gauge(p + "last_step_timestamp_seconds", "When the last pass ended", registry=r)
        self.last_ok = Gauge(p + "last_success_timestamp_seconds", "When the last successful pass ended",
                             registry=r)
        for kind in ("full", "partial"):
            self.liquidations.labels(kind=kind)
        for result in ("ok", "failed"):
            self.steps.labels(result=result)

    # ------------------------------------------------------------------ recording
    def step_done(self, report: StepReport, keeper: Keeper) -> None:
        """A pass that returned (market-level errors are in its report, not a failure of the pass)."""
        if report.skipped:
            return
        now = self.clock()
        self.steps.labels(result="ok").inc()
        self.last_step.set(now)
        self.last_ok.set(now)
        self.last_success, self.last_failed = now, False
        self.vaults.set(report.indexed)
        self.markets.set(len(keeper.index.markets))
        self.decision.observe(report.decision_seconds)
        self.step_time.observe(report.seconds)
        if report.rpc_errors:
            self.rpc_errors.inc(report.rpc_errors)
        for tx in report.sent:
            self._transaction(tx, keeper)
        if report.topped_up:
            self.top_ups.inc(report.topped_up)

    def _transaction(self, tx: Any, keeper: Keeper) -> None:
        self.transactions.inc()
        self.gas_used.inc(tx.gas_used)
        out = tx.outcome
        if out is None:
            return
        self.gas_native.inc(out.gas_cost / 10**18)
        self.liquidations.labels(kind="full").inc(out.full)
        self.liquidations.labels(kind="partial").inc(out.partial)
        for pool, sums in out.pools.items():
            scale = 10 ** keeper.token(pool)[0]
            self.bonus.labels(pool=pool).inc(sums.bonus / scale)
            self.bad_debt.labels(pool=pool).inc(sums.bad_debt / scale)
            self.fund_used.labels(pool=pool).inc(sums.fund_used / scale)

    def step_failed(self, *, rpc: bool = True) -> None:
        """A pass that raised (the node down, an unexpected error)."""
        now = self.clock()
        self.steps.labels(result="failed").inc()
        self.last_step.set(now)
        self.last_failed = True
        if rpc:
            self.rpc_errors.inc()

    def rpc_error(self) -> None:
        self.rpc_errors.inc()

    # ------------------------------------------------------------------ serving
    def healthy(self) -> bool:
        """The last pass succeeded, within ``max_age`` seconds."""
        return (not self.last_failed and self.last_success is not None
                and self.clock() - self.last_success <= self.max_age)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Starts the HTTP server in a daemon thread; returns the port (``0`` picks a free one)."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/metrics":
                    self._answer(200, metrics.render(), CONTENT_TYPE_LATEST)
                elif path in ("/health", "/healthz"):
                    ok = metrics.healthy()
                    self._answer(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", "text/plain")
                else:
                    self._answer(404, b"not found\n", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="keeper-metrics", daemon=True).start()
        return int(self._server.server_address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

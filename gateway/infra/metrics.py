"""Prometheus metrics, in a registry per app so that tests can build many apps in one process.

Under `cpgw serve` the counts are made in three processes (the web app, the effects process that
stores USSD reports, the worker that sends and escalates), and /metrics must show them all: serve
gives them prometheus_client's multiprocess mode, where each process writes its values to files
in one directory (`infra.children.share_metrics`), and /metrics adds them up (`exposition`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from gateway.infra.children import METRICS_DIR


def exposition(registry: CollectorRegistry) -> bytes:
    """The text /metrics serves: this registry's, or every process's under `cpgw serve`."""
    directory = os.environ.get(METRICS_DIR)
    if not directory:
        return generate_latest(registry)  # type: ignore[no-any-return]
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path=directory)
    return generate_latest(combined)  # type: ignore[no-any-return]


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.ussd_hops = Counter("cpgw_ussd_hops_total", "USSD hops answered", ["kind"], registry=r)
        self.ussd_store_failures = Counter(
            "cpgw_ussd_store_failures_total", "Reports that could not be stored (villager told to call)", registry=r
        )
        self.cases_created = Counter("cpgw_cases_created_total", "Cases created", ["channel"], registry=r)
        self.sms_sent = Counter("cpgw_sms_send_total", "SMS send attempts by outcome", ["outcome"], registry=r)
        self.sms_dead_letters = Counter("cpgw_sms_dead_letters_total", "SMS given up after retries", registry=r)
        self.escalations = Counter("cpgw_escalations_total", "Ladder steps taken", ["reason"], registry=r)
        self.acknowledgements = Counter("cpgw_acknowledgements_total", "Cases acknowledged", ["via"], registry=r)
        self.deadlines_repaired = Counter(
            "cpgw_deadlines_repaired_total", "Open cases found without a scheduled next step and repaired", registry=r
        )
        self.sms_received = Counter("cpgw_sms_received_total", "Incoming SMS by outcome", ["outcome"], registry=r)
        self.http_latency = Histogram(
            "cpgw_http_request_seconds", "HTTP request latency", ["route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

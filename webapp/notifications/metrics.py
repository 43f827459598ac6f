"""Delivery metrics of the notification functions: CloudWatch metrics in EMF log lines.

The notifier, reminders and bounces handlers count what they did in plain Python
(`Tally`) and, at the end of each invocation, write the counts as one Embedded Metric
Format line with Powertools for AWS Lambda (Metrics); CloudWatch turns it into metrics
in the `ClinicAppointments` namespace, dimension `service` (the function). Nothing is
sent over the network, and a metrics failure never fails an invocation.

Powertools is imported only here, on first publish (about 65 ms): never by the web
function, and not by the in-process notifier path.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger(__name__)

NAMESPACE = "ClinicAppointments"
SENT = "EmailsSent"
FAILED = "EmailsFailed"
SUPPRESSED = "EmailsSuppressed"  # not sent: SES reported the address
ADDRESSES_SUPPRESSED = "AddressesSuppressed"  # recorded by the bounces function


class Tally(Counter):
    """Counts of one invocation, by metric name."""


def publish(service: str, tally: Tally) -> None:
    """Write the counts as one EMF line (zeros included, so graphs show quiet runs)."""
    try:
        from aws_lambda_powertools.metrics import Metrics, MetricUnit

        metrics = Metrics(namespace=NAMESPACE, service=service)
        for name, value in sorted(tally.items()):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.flush_metrics(raise_on_empty_metrics=False)
    except Exception as error:  # metrics must never fail the invocation
        log.warning("metrics not published: %s", type(error).__name__)

"""Delivery: the outbox loop, the one planner of messages, digests and the retry policy.

`plan` groups claimed rows into messages (instant, flood, digest, backfill),
`outbox.Deliverer` claims, sends through `notifiers` and marks rows, `digest`
sends digests and backfill alerts, `retry` says when to try again. May import
`notifiers`, `storage` and `monitor.metrics`; never the pipeline.
"""

from monitor.delivery.outbox import Deliverer, DeliveryReport, SendOutcome

__all__ = ["Deliverer", "DeliveryReport", "SendOutcome"]

"""Prometheus metrics, on a registry of our own (so tests can build several bots in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_handled = Counter(
            "logibot_updates_handled", "Telegram updates handled", ["type"], registry=self.registry
        )
        self.handler_latency = Histogram(
            "logibot_handler_latency_seconds",
            "Time to handle one update",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "logibot_handler_errors", "Updates whose handler raised", registry=self.registry
        )
        self.upstream_calls = Counter(
            "logibot_upstream_calls",
            "Calls to an integration",
            ["integration"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "logibot_upstream_errors",
            "Failed calls to an integration",
            ["integration"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "logibot_outbox_depth", "Alerts waiting to be sent", registry=self.registry
        )
        self.messages_sent = Counter(
            "logibot_messages_sent",
            "Messages the bot sent to Telegram",
            ["method"],
            registry=self.registry,
        )
        self.alerts_dropped = Counter(
            "logibot_alerts_dropped",
            "Queued alerts their chat no longer wanted at send time (muted, unsubscribed...)",
            registry=self.registry,
        )
        self.storm_chats = Gauge(
            "logibot_alert_storm_chats",
            "Chats in an alert storm: their alerts go out summarized",
            registry=self.registry,
        )
        self.alerts_summarized = Counter(
            "logibot_alerts_summarized",
            "Alerts sent in storm summaries (a line per subject or per kind)",
            registry=self.registry,
        )
        self.escalation_steps = Counter(
            "logibot_escalation_steps",
            "Escalation steps performed, by whom they reached",
            ["to"],
            registry=self.registry,
        )
        self.escalation_acks = Histogram(
            "logibot_escalation_ack_seconds",
            "Time from an escalated alert to the person who took it",
            buckets=(60, 300, 600, 1200, 1800, 3600, 7200, 21600),
            registry=self.registry,
        )
        self.escalations_open = Gauge(
            "logibot_escalations_open", "Escalation chains still running", registry=self.registry
        )
        self.telegram_429 = Counter(
            "logibot_telegram_429", "Flood-control answers from Telegram", registry=self.registry
        )
        self.telegram_errors = Counter(
            "logibot_telegram_errors",
            "Telegram API calls that failed",
            ["method"],
            registry=self.registry,
        )

        self.leader = Gauge(
            "logibot_leader",
            "1 while this process is the leader (runs watchers, the sender and the jobs)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Event sources (cron, MQTT, NATS, webhooks, bucket events, HTTP routes) and the CloudEvents
envelope every event reaches a handler in."""

from yun.events._cloudevents import CloudEvent, from_http, new_event

__all__ = ["CloudEvent", "from_http", "new_event"]

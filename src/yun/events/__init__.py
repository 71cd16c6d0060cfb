"""Event sources (cron, MQTT, NATS, webhooks, bucket events, HTTP routes) and the CloudEvents
envelope every event reaches a handler in."""

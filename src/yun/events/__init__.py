"""Event sources (cron, MQTT, NATS, webhooks, bucket events, HTTP routes) and the CloudEvents
envelope every event reaches a handler in."""

from yun.events._bucket import MAX_DEPTH, BucketSource, Refusal, trigger_id
from yun.events._cloudevents import CloudEvent, data_of, from_http, new_event
from yun.events._cron import CronSource
from yun.events._httpevent import http_event
from yun.events._manager import TriggerManager
from yun.events._mqtt import MqttSource, device_of, topic_matches
from yun.events._nats import NatsSource, Run
from yun.events._routes import RouteMatch, RouteTable
from yun.events._schedule import Due, Schedule
from yun.events._source import WallClock

__all__ = [
    "MAX_DEPTH",
    "BucketSource",
    "CloudEvent",
    "CronSource",
    "Due",
    "MqttSource",
    "NatsSource",
    "Refusal",
    "RouteMatch",
    "RouteTable",
    "Run",
    "Schedule",
    "TriggerManager",
    "WallClock",
    "data_of",
    "device_of",
    "from_http",
    "http_event",
    "new_event",
    "topic_matches",
    "trigger_id",
]

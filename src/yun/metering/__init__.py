"""Activation records and usage: every invocation billed in milliseconds and GB-seconds."""

from yun.metering._recorder import Recorder

__all__ = ["Recorder"]

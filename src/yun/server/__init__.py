"""The embedded profile: everything in one `yun up` process."""

from yun.server._config import Config, load_config
from yun.server._platform import Platform
from yun.server._run import run

__all__ = ["Config", "Platform", "load_config", "run"]

"""The built-in FSDP2 trainer: `redraft train CONFIG [--set k=v] [--nproc N]` (see trainer/README.md)."""

from .config import ConfigError, TrainConfig, load_config
from .launch import train

__all__ = ["ConfigError", "TrainConfig", "load_config", "train"]

"""Threshold: share data into one governed lake, explore it through one gateway, promote what is used."""

from threshold.client import Client, connect
from threshold.errors import ThresholdError

__all__ = ["connect", "Client", "ThresholdError"]
__version__ = "0.1.0"

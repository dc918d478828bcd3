from .base import DURATIONS, TelemetryError, TelemetrySource, TelemetryTimeout, TelemetryUnavailable, parse_duration

__all__ = ["DURATIONS", "TelemetryError", "TelemetrySource", "TelemetryTimeout", "TelemetryUnavailable",
           "parse_duration"]

"""The mock webhook receiver: answers any path as it is told, and records every request."""

from __future__ import annotations

from receiver.app import create_app
from receiver.behaviours import FAULTS, PARAMETERS, Behaviour, behaviour_from_query
from receiver.exceptions import (
    BehaviourError,
    ConfigurationError,
    ReceiverError,
    ScriptError,
    ServerError,
    WaitTimeout,
)
from receiver.recording import OUTCOMES, RecordedRequest, RequestLog
from receiver.scripts import ScriptBook, load_script
from receiver.server import MockReceiver
from receiver.settings import Settings
from receiver.signatures import SIGNATURES

__all__ = [
    "FAULTS",
    "OUTCOMES",
    "PARAMETERS",
    "SIGNATURES",
    "Behaviour",
    "BehaviourError",
    "ConfigurationError",
    "MockReceiver",
    "ReceiverError",
    "RecordedRequest",
    "RequestLog",
    "ScriptBook",
    "ScriptError",
    "ServerError",
    "Settings",
    "WaitTimeout",
    "behaviour_from_query",
    "create_app",
    "load_script",
]

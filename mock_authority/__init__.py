"""A local, faithful mock of the Microsoft identity platform (Entra ID v2.0) and Microsoft Graph."""

from .config import MockConfig
from .server import MockAuthority, create_app, run_in_thread
from .state import FAULT_KINDS, MockState, RequestRecord
from .users import DemoUser

__all__ = [
    "DemoUser",
    "FAULT_KINDS",
    "MockAuthority",
    "MockConfig",
    "MockState",
    "RequestRecord",
    "create_app",
    "run_in_thread",
]

"""A local, faithful mock of the Microsoft identity platform (Entra ID v2.0) and Microsoft Graph."""

from .config import MockConfig
from .faults import FAULT_KINDS
from .models import RequestRecord
from .server import MockAuthority, create_app, run_in_thread
from .state import MockState
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

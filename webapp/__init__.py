"""Sign in with Microsoft for Flask: the `EntraSignIn` extension, `login_required`, `requires_role`,
`requires_group` and `current_user`."""

from .errors import GraphFailure, NeedsSignIn, SignInFailure
from .extension import EntraSignIn, current_user, login_required, requires_group, requires_role
from .settings import Settings

__all__ = [
    "EntraSignIn",
    "GraphFailure",
    "NeedsSignIn",
    "Settings",
    "SignInFailure",
    "current_user",
    "login_required",
    "requires_group",
    "requires_role",
]

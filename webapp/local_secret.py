"""A SECRET_KEY for local runs, generated once into the instance folder so restarts and workers share it."""

import os
import secrets


def local_secret_key(instance_path: str) -> str:
    """A key generated once and kept in the instance folder, so restarts and workers share it."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        # Write aside, then link into place: link fails if another worker won the race, and
        # nobody ever reads a half-written key.
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as new:
            new.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path, encoding="ascii") as existing:
        return existing.read().strip()

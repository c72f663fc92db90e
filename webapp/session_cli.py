"""`flask sessions ...`: count sessions, end all of a user's, delete expired session files."""

import click
from flask.cli import AppGroup

from .session_store import FileStore, SessionStore, StoreUnavailable
from .sessions import EncryptedSessions
from .sweeper import Sweeper


def command(sessions: EncryptedSessions, store: SessionStore) -> AppGroup:
    group = AppGroup("sessions", help="Inspect and end signed-in sessions (either store).")

    @group.command("stats")
    def stats() -> None:
        """Count live sessions and the users they belong to."""
        try:
            live, users = store.count()
        except StoreUnavailable as error:
            raise click.ClickException(f"the session store is unavailable: {error}") from None
        click.echo(f"{live} live session(s) of {users} user(s) in the {type(store).__name__}.")

    @group.command("revoke")
    @click.option(
        "--user", "oid", required=True, help="The user's object id (the ID token's oid claim; sub if it has none)."
    )
    def revoke(oid: str) -> None:
        """End every session of a user, on every server, at once."""
        user = oid.strip()
        try:
            ended = sessions.end_all("u", user.lower())
            if user != user.lower():  # a sub (case-sensitive), where the authority has no oid
                ended += sessions.end_all("u", user)
        except StoreUnavailable as error:
            raise click.ClickException(f"the session store is unavailable; nothing was revoked: {error}") from None
        click.echo(f"Ended {ended} session(s) of user {oid}.")

    @group.command("sweep")
    def sweep() -> None:
        """Delete expired session files now (for a cron job; Redis expires sessions itself)."""
        if not isinstance(store, FileStore):
            click.echo("Sessions are in Redis, which deletes expired ones itself: nothing to sweep.")
            return
        result = Sweeper(store, 0).sweep()
        if result is None:
            click.echo("Another process is sweeping the session files right now.")
        else:
            removed, kept = result
            click.echo(f"Deleted {removed} expired file(s) from {store.directory}; {kept} session(s) remain.")

    return group

"""Expired session files are deleted off the request path; live ones never; several sweepers never clash."""

import concurrent.futures
import shutil
import threading
import time

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser
from tests.support.store import app_store, session_files
from webapp.sealing import Ticket
from webapp.session_store import FileStore
from webapp.sweeper import SWEEP_GRACE, Sweeper


def expired_sessions(store: FileStore, count, seconds_ago):
    for _ in range(count):
        ticket = Ticket.new()
        store.create(ticket.store_key, ticket.seal(b"{}", int(time.time() - seconds_ago)), 1)


def test_sweep_command_deletes_long_expired_files_and_nothing_else(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        browser = ScriptedBrowser(url)
        browser.sign_in()
        store, directory = app_store(app), tmp_path / "sessions"
        expired_sessions(store, 300, SWEEP_GRACE + 60)
        expired_sessions(store, 5, 10)  # within the grace period: kept
        legacy = directory / ("ab" * 32)  # a Flask-Session file of an earlier version: plaintext tokens
        legacy.write_bytes(b"\0" * 8)

        result = app.test_cli_runner().invoke(args=["sessions", "sweep"])

        assert "Deleted 301 expired file(s)" in result.output and "6 session(s) remain" in result.output, result.output
        assert len(session_files(directory)) == 6 and not legacy.exists()
        assert browser.get("/").h1.startswith("Welcome"), "a live session must survive the sweep"


def test_each_server_process_sweeps_in_the_background(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path, SESSION_SWEEP_INTERVAL=1)) as (app, url):
        directory = tmp_path / "sessions"
        expired_sessions(app_store(app), 50, SWEEP_GRACE + 60)
        browser = ScriptedBrowser(url)
        browser.sign_in()  # the first request starts the sweeper thread
        deadline = time.monotonic() + 10
        while len(session_files(directory)) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(session_files(directory)) == 1, "the expired files were not swept"
        assert browser.get("/").h1.startswith("Welcome")
        assert sum(thread.name == "session-sweeper" for thread in threading.enumerate()) >= 1
    shutil.rmtree(directory)  # the sweeper thread ends when its directory is gone


def test_concurrent_sweeps_neither_fail_nor_double_count(tmp_path):
    """Four sweeps of one directory at once, as from four workers: one sweeps, the others see the lock."""
    directory = tmp_path / "sessions"
    store = FileStore(str(directory))
    expired_sessions(store, 2000, SWEEP_GRACE + 60)
    start = threading.Barrier(4)

    def sweep(_):
        start.wait(timeout=10)
        return Sweeper(store, 0).sweep()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = [result for result in pool.map(sweep, range(4)) if result is not None]

    assert sum(removed for removed, _kept in results) == 2000
    assert len(session_files(directory)) == 0


def test_a_sweep_right_after_another_is_skipped(tmp_path):
    directory = tmp_path / "sessions"
    directory.mkdir()
    store = FileStore(str(directory))
    assert Sweeper(store, 60).sweep(skip_if_swept_within=30) == (0, 0)
    assert Sweeper(store, 60).sweep(skip_if_swept_within=30) is None, "another process swept just now"

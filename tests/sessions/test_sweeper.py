"""Expired session files are deleted off the request path; live ones never; several sweepers never clash."""

import concurrent.futures
import os
import shutil
import threading
import time

import pytest

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser
from tests.support.store import session_files
from webapp import sessions
from webapp.sessions import SWEEP_GRACE, Sweeper


def expired_sessions(cache, count, seconds_ago, tag="old"):
    for index in range(count):
        cache.set(f"session:{tag}-{index}", {"n": index}, timeout=-seconds_ago)


def test_sweep_command_deletes_long_expired_files_and_nothing_else(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cache, directory = app.config["SESSION_CACHELIB"], tmp_path / "sessions"
        expired_sessions(cache, 300, SWEEP_GRACE + 60)
        expired_sessions(cache, 5, 10, tag="recent")  # a request may be saving one of these back right now
        debris = directory / "tmpabandoned.__wz_cache"  # what a worker killed mid-write leaves
        debris.write_bytes(b"\0")
        os.utime(debris, (time.time() - 7200,) * 2)

        result = app.test_cli_runner().invoke(args=["sessions-sweep"])

        assert "Deleted 301 expired file(s)" in result.output and "6 session(s) remain" in result.output, result.output
        assert len(session_files(directory)) == 6 and not debris.exists()
        assert browser.get("/").h1.startswith("Welcome"), "a live session must survive the sweep"


def test_each_server_process_sweeps_in_the_background(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path, SESSION_SWEEP_INTERVAL=1)) as (app, url):
        directory = tmp_path / "sessions"
        expired_sessions(app.config["SESSION_CACHELIB"], 50, SWEEP_GRACE + 60)
        browser = ScriptedBrowser(url)
        browser.sign_in()  # the first request starts the sweeper thread
        deadline = time.monotonic() + 10
        while len(session_files(directory)) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(session_files(directory)) == 1, "the expired files were not swept"
        assert browser.get("/").h1.startswith("Welcome")
        assert sum(thread.name == "session-sweeper" for thread in threading.enumerate()) >= 1
    shutil.rmtree(directory)  # the sweeper thread ends when its directory is gone


@pytest.mark.parametrize("locking", [True, False], ids=["with-lock", "without-lock"])
def test_concurrent_sweeps_neither_fail_nor_double_count(tmp_path, monkeypatch, locking):
    """Four sweeps of one directory at once, as from four workers; without the lock they race file by file."""
    if not locking:
        monkeypatch.setattr(sessions, "fcntl", None)
    directory = tmp_path / "sessions"
    from cachelib.file import FileSystemCache

    expired_sessions(FileSystemCache(str(directory), threshold=0), 2000, SWEEP_GRACE + 60)
    start = threading.Barrier(4)

    def sweep(_):
        start.wait(timeout=10)
        return Sweeper(str(directory), 0).sweep()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = [result for result in pool.map(sweep, range(4)) if result is not None]

    assert sum(removed for removed, _kept in results) == 2000
    assert len(session_files(directory)) == 0


def test_a_sweep_right_after_another_is_skipped(tmp_path):
    directory = tmp_path / "sessions"
    directory.mkdir()
    assert Sweeper(str(directory), 60).sweep(skip_if_swept_within=30) == (0, 0)
    assert Sweeper(str(directory), 60).sweep(skip_if_swept_within=30) is None, "another process swept just now"

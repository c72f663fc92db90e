"""A local run without SECRET_KEY makes one key, keeps it private, and every process reads the same one."""

import os
import stat
from concurrent.futures import ThreadPoolExecutor

from webapp.local_secret import local_secret_key


def test_the_key_is_made_once_and_kept(tmp_path):
    first = local_secret_key(str(tmp_path))
    assert len(first) == 64 and local_secret_key(str(tmp_path)) == first, "restarts must keep sessions"
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_workers_starting_together_agree_on_one_key(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: local_secret_key(str(tmp_path)), range(32)))
    assert len(keys) == 1
    assert sorted(os.listdir(tmp_path)) == ["secret_key"], "no temporary files left behind"

"""The deploy/ files as files: the systemd unit passes `systemd-analyze verify` and its sandbox rates "OK" in
`systemd-analyze security` (the topology runs its command, environment and readiness, not systemd itself), and
README's "Running in production" names every file in deploy/."""

import re
import subprocess

import pytest

from tests.support import servers
from tests.support.topology import DEPLOY, NGINX_TEMPLATE, PLACEHOLDER, SYSTEMD_UNIT

pytestmark = pytest.mark.topology

EXPOSURE_THRESHOLD = 2  # systemd-analyze's scale: 0 (fully sandboxed) to 10; "OK" is below 2


@pytest.fixture
def unit_file(tmp_path):
    """The unit as installed for instance 8000, its paths pointing at this checkout (verify checks ExecStart)."""
    path = tmp_path / "webapp@8000.service"
    path.write_text(SYSTEMD_UNIT.read_text().replace("/srv/webapp", str(servers.ROOT)))
    return path


def analyze(*args) -> subprocess.CompletedProcess:
    binary = servers.require("systemd-analyze", "apt-get install systemd; .ci/run installs it")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_systemd_unit_verifies(unit_file):
    result = analyze("verify", "--man=no", str(unit_file))
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_systemd_unit_sandbox_rates_ok(unit_file):
    result = analyze("security", "--offline=true", "--no-pager", str(unit_file))
    [exposure] = re.findall(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout) or [None]
    assert exposure is not None, result.stdout[-3000:] + result.stderr
    assert float(exposure) < EXPOSURE_THRESHOLD, f"exposure {exposure}:\n{result.stdout[-3000:]}"


def test_readme_names_every_deploy_file():
    readme = (servers.ROOT / "README.md").read_text()
    section = readme[readme.index("## Running in production") :]
    section = section[: section.index("\n## ", 1)]
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert str(path.relative_to(servers.ROOT)) in section, f"README's production section omits {path.name}"


def test_the_documented_envsubst_command_names_every_placeholder():
    """The render command in the nginx file's header lists exactly its placeholders: envsubst leaves a name it
    is not given as it is, and then nginx would read `${NAME}` as a variable of its own."""
    template = NGINX_TEMPLATE.read_text()
    header = "\n".join(line.lstrip("# ") for line in template.splitlines() if line.startswith("#"))
    [listed] = re.findall(r"envsubst '([^']*)'", header)
    assert set(re.findall(r"\$\{(\w+)\}", listed)) == set(PLACEHOLDER.findall(template))

"""gunicorn settings for production: `make serve`, or `gunicorn -c gunicorn.conf.py app:app`.

Every value comes from the environment (or .env): BIND or PORT, WEB_CONCURRENCY, GUNICORN_THREADS.
"""

import logging
import multiprocessing
import os
import sys
import tempfile

from dotenv import load_dotenv

load_dotenv()  # gunicorn does not read .env itself; the values then reach the workers too

# Prometheus multiprocess mode (webapp/metrics.py): each worker writes its counts to files in this directory and a
# scrape adds them up. It must be set before anything imports prometheus_client; by default a fresh directory
# per start, so no count survives a restart. A directory you set is emptied of its counts at each start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="webapp-metrics-")
for name in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
    if name.endswith(".db"):
        os.unlink(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], name))

from prometheus_client import multiprocess  # noqa: E402  (after PROMETHEUS_MULTIPROC_DIR)

from webapp.log_hygiene import DropQueryStrings  # noqa: E402

if not os.environ.get("SECRET_KEY", "").strip():
    # Checked here, in the master, so the server refuses to start instead of each worker failing on its own.
    sys.exit(
        "SECRET_KEY is not set. A production server needs Flask's secret key set explicitly, the same on "
        "every server (a key generated on each machine would differ between them): set SECRET_KEY in the "
        "environment or in .env, e.g. to the output of "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`. "
        "Only local runs (`make run`, `flask run`) generate one into instance/secret_key."
    )

# Loopback by default: a reverse proxy on this machine terminates TLS. In a container, BIND=0.0.0.0:8000.
bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# Threads, because a request mostly waits on Entra or Graph (each call has its own HTTP timeouts).
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# A worker that stops answering gunicorn's heartbeat for this long is restarted. It is longer than the worst
# request: discovery, token and Graph calls of HTTP_CONNECT_TIMEOUT + HTTP_READ_TIMEOUT seconds each.
timeout = 60
graceful_timeout = 30  # on restart or deploy, requests in flight get this long to finish
keepalive = 5

# Forwarded headers are the app's business (TRUSTED_PROXIES, through ProxyFix), not gunicorn's: by default
# gunicorn believes X-Forwarded-Proto from 127.0.0.1, so any local client could claim https.
forwarded_allow_ips = ""
secure_scheme_headers = {}
forwarder_headers = ""

# Access log on stdout, without query strings: the sign-in callback's query holds the authorization code.
# %(U)s is the path alone; the Referer is left out too, as it can be a URL with a query.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss %(p)s "%(a)s"'
errorlog = "-"


def post_worker_init(worker):
    # gunicorn logs the full URI of a request that failed outside the app: cut its query string.
    logging.getLogger("gunicorn.error").addFilter(DropQueryStrings())


def child_exit(server, worker):
    # A dead worker's counters stay in the sum; only its live gauges are dropped.
    multiprocess.mark_process_dead(worker.pid)

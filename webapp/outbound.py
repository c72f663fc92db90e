"""One pooled HTTP session per app for every outbound call, each with connect and read timeouts."""

import requests


class TimeoutSession(requests.Session):
    """A requests.Session that keeps connections alive and never waits without a timeout."""

    def __init__(self, connect_timeout: float, read_timeout: float, ca_bundle: str = ""):
        super().__init__()
        self.default_timeout = (connect_timeout, read_timeout)
        self.ca_bundle = ca_bundle

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if self.ca_bundle and kwargs.get("verify") is None:
            # Per request, because requests lets the environment's bundle override session.verify.
            kwargs["verify"] = self.ca_bundle
        return super().request(method, url, **kwargs)

"""The cloud a host name belongs to: what its discovery documents say about it (cloud_instance_name, Graph hosts).

With fake DNS (tests/support/fake_dns.py) the mock can answer as a national cloud's login host; its documents then
name that cloud as the cloud publishes (https://learn.microsoft.com/graph/deployments#app-registration-and-token-service-root-endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    instance_name: str  # cloud_instance_name
    graph_host: str  # cloud_graph_host_name (Azure AD Graph)
    msgraph_host: str | None  # None: the mock's own host, where it serves Graph


PUBLIC = Cloud("microsoftonline.com", "graph.windows.net", "graph.microsoft.com")
LOCAL = Cloud("microsoftonline.com", "graph.windows.net", None)
CLOUDS = {
    "login.microsoftonline.com": PUBLIC,
    "login.microsoftonline.us": Cloud("microsoftonline.us", "graph.windows.net", "graph.microsoft.us"),
    "login.partner.microsoftonline.cn": Cloud(
        "partner.microsoftonline.cn", "graph.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"
    ),
}


def cloud_for(host: str) -> Cloud:
    """A known login host's cloud; any other host (localhost, *.ciamlogin.com) serves Graph itself."""
    return CLOUDS.get(host.lower(), LOCAL)

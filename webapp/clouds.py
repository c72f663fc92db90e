"""Microsoft's clouds, known by their sign-in host: each has its own Microsoft Graph host.

https://learn.microsoft.com/graph/deployments lists the national cloud deployments.
"""

GLOBAL_GRAPH_HOST = "graph.microsoft.com"
GRAPH_HOST_OF_LOGIN_HOST = {
    "login.microsoftonline.com": GLOBAL_GRAPH_HOST,
    "login.microsoftonline.us": "graph.microsoft.us",  # US Government (L4); DoD (L5) uses dod-graph.microsoft.us
    "login.partner.microsoftonline.cn": "microsoftgraph.chinacloudapi.cn",  # China, operated by 21Vianet
}


def graph_host_for(login_host: str) -> str:
    """The Graph host of the cloud whose sign-in host this is; the global Graph for any other host."""
    return GRAPH_HOST_OF_LOGIN_HOST.get(login_host.lower(), GLOBAL_GRAPH_HOST)

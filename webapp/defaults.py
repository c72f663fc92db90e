"""Every setting's default, as the text a `.env` line would hold; each one explained (.env.sample says the same)."""

DEFAULTS: dict[str, str] = {
    "CLIENT_ID": "",
    # The credential: exactly one of these four (see README, Credentials).
    "CLIENT_SECRET": "",
    # A PEM (private key and certificate) or a .pfx/.p12; the password if the file is encrypted.
    "CLIENT_CERTIFICATE_PATH": "",
    "CLIENT_CERTIFICATE_PASSWORD": "",
    # true: send the certificate chain (x5c) too, for Subject Name/Issuer authentication.
    "CLIENT_CERTIFICATE_SEND_X5C": "false",
    # A federated token file, read at each token request; AZURE_FEDERATED_TOKEN_FILE (AKS) is read when unset.
    "CLIENT_ASSERTION_FILE": "",
    "AZURE_FEDERATED_TOKEN_FILE": "",
    # The client id of a user-assigned managed identity trusted by the app as a federated credential.
    "MANAGED_IDENTITY_CLIENT_ID": "",
    # The authority: exactly one of AUTHORITY, OIDC_AUTHORITY, B2C_TENANT_NAME (see README, Authorities).
    "AUTHORITY": "",
    # Any OpenID provider (or an External ID custom domain), by its issuer URL.
    "OIDC_AUTHORITY": "",
    # Azure AD B2C: the tenant's name (contoso for contoso.onmicrosoft.com) and its user flows.
    "B2C_TENANT_NAME": "",
    # B2C's host when it is not <B2C_TENANT_NAME>.b2clogin.com (a custom domain), as https://host.
    "B2C_INSTANCE": "",
    "SIGNUPSIGNIN_USER_FLOW": "",
    "EDITPROFILE_USER_FLOW": "",
    "RESETPASSWORD_USER_FLOW": "",
    "REDIRECT_URI": "http://localhost:5000/getAToken",
    # Space-separated; openid, profile and offline_access are added by MSAL itself.
    "SCOPE": "User.ReadBasic.All",
    # Empty: /v1.0/users on the Graph host of AUTHORITY's cloud (graph.microsoft.com, graph.microsoft.us, ...).
    "ENDPOINT": "",
    # Tenant ids (GUIDs, comma or space separated) allowed to sign in through a multi-tenant AUTHORITY.
    "ALLOWED_TENANTS": "",
    # App role values (comma or space separated): a user must hold one of them to sign in. Empty: no role needed.
    "REQUIRED_ROLES": "",
    # Group object ids (comma or space separated): a user must be a member of one of them to sign in. Empty: any.
    "ALLOWED_GROUPS": "",
    "SECRET_KEY": "",
    # "filesystem" (one machine) or "redis" (several servers).
    "SESSION_TYPE": "filesystem",
    "SESSION_FILE_DIR": "",  # empty: <instance folder>/sessions
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    # Seconds. Idle: a session unused this long ends (8 h: longer than an access token's 60-90 min, so nobody is
    # dropped while their token is still good). Absolute: this long after sign-in the user signs in again, however
    # active (7 days: well inside the refresh token's 90-day window, and a bound on what a stolen cookie is worth).
    "SESSION_IDLE_TIMEOUT": "28800",
    "SESSION_ABSOLUTE_TIMEOUT": "604800",
    # Seconds between deletions of expired session files by each server process; 0 leaves it to a scheduled
    # `flask sessions-sweep` instead.
    "SESSION_SWEEP_INTERVAL": "900",
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host/-Port (0: trust none).
    "TRUSTED_PROXIES": "0",
    # auto: Secure cookies (named __Host-session) when REDIRECT_URI is https; or true / false.
    "COOKIE_SECURE": "auto",
    # Seconds; connect and read (between two packets) timeouts for every outbound call.
    "HTTP_CONNECT_TIMEOUT": "3.05",
    "HTTP_READ_TIMEOUT": "10",
    # Seconds; the most one outbound call may take in all (connect, headers and the whole body).
    "HTTP_TOTAL_TIMEOUT": "15",
    # Bytes a request body may hold; larger ones get a 413 page before anything parses them.
    "MAX_CONTENT_LENGTH": "16384",
    # The signed-in user's last sign-in, step by step, at /signin-trace. auto: on in the local demo only.
    "SIGNIN_TRACE": "auto",
    # A PEM bundle to trust for Entra and Graph (the demo and tests trust the mock's throwaway CA this way).
    "REQUESTS_CA_BUNDLE": "",
    # Set by the local demo entry point so pages can say they run against the mock authority.
    "LOCAL_MOCK_AUTHORITY": "",
    # text: one readable line per record; json: one JSON object per line, for a log pipeline (see README, Logs).
    "LOG_FORMAT": "text",
    # true: Prometheus metrics at /metrics on the app (see README, Metrics).
    "METRICS": "false",
    # A separate listener for the metrics: a port (on 127.0.0.1) or host:port; empty: none.
    "METRICS_PORT": "",
}

"""Entra's AADSTS error codes in plain words: what happened, the likely cause, and the fix in the admin center.

The one place each code's text lives: the error pages, the credential refusals (errors.py), the challenge pages
(challenges.py) and the README's Troubleshooting table (checked against `markdown_table()` by a test) read it
here. Codes come from Entra's reference (https://learn.microsoft.com/entra/identity-platform/reference-error-codes);
any other code links to Microsoft's lookup page for it, which the reference names as the current source.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Built from the code's digits, never taken from the answer's error_uri: an authorize error arrives in the
# browser's query string, where anyone can put a link.
LOOKUP = "https://login.microsoftonline.com/error?code={code}"
REGISTRATION = "Entra admin center > App registrations > (this app)"
_AADSTS = re.compile(r"AADSTS(\d+)")


@dataclass(frozen=True)
class Explanation:
    """One AADSTS code for people: what happened, why it usually does, and what to change."""

    code: str
    what: str
    cause: str
    fix: str
    credential: bool = False  # Entra refused the app itself: the operator's to fix, nobody can sign in
    redirect_uri: bool = False  # about the redirect URI: the page also shows the one this app sends

    @property
    def lookup_url(self) -> str:
        return lookup_url(self.code)


def _entries(*explanations: Explanation) -> dict[str, Explanation]:
    return {e.code: e for e in explanations}


TABLE = _entries(
    Explanation(
        "50011",
        "Microsoft would not send you back to this site: the address it was asked to return to (the redirect "
        "URI) is not registered for this app.",
        "REDIRECT_URI differs from every redirect URI in the app's registration: http instead of https, another "
        "host or port (often behind a proxy), or a different path or trailing slash. Entra shows this on its own "
        "page; the app never sees it.",
        f"{REGISTRATION} > Authentication > Web > Redirect URIs: add the redirect URI this app sends, exactly, "
        "or set REDIRECT_URI to one registered there.",
        redirect_uri=True,
    ),
    Explanation(
        "500112",
        "The redirect URI of the token request differs from the one the sign-in started with.",
        "The instances behind one address have different REDIRECT_URI settings, or a proxy changes the host or "
        "scheme between the two requests.",
        "Give every instance the same REDIRECT_URI, and register it under "
        f"{REGISTRATION} > Authentication > Web > Redirect URIs.",
        redirect_uri=True,
    ),
    Explanation(
        "500113",
        "The app has no redirect URI registered, so Microsoft has nowhere to send you back to.",
        "The registration has no Web platform, or its list of redirect URIs is empty.",
        f"{REGISTRATION} > Authentication > Add a platform > Web, and add the redirect URI this app sends.",
        redirect_uri=True,
    ),
    Explanation(
        "90102",
        "Microsoft rejected the redirect URI: it is not a valid absolute URI.",
        "REDIRECT_URI is malformed: no scheme or host, a fragment (#), or characters that need escaping.",
        "Set REDIRECT_URI to a full https:// URL (http://localhost for development) and register the same URI "
        f"under {REGISTRATION} > Authentication > Web > Redirect URIs.",
        redirect_uri=True,
    ),
    Explanation(
        "700016",
        "Microsoft knows no app with this client ID in the tenant the sign-in went to.",
        "CLIENT_ID is mistyped or belongs to a deleted app, or AUTHORITY names another tenant than the one the "
        "app is registered in.",
        "Entra knows no app with this CLIENT_ID in this tenant: copy the Application (client) ID from the "
        f"{REGISTRATION} > Overview page, and check the tenant in AUTHORITY (its Directory (tenant) ID is on the "
        "same page).",
        credential=True,
    ),
    Explanation(
        "7000215",
        "Microsoft rejected this app's client secret.",
        "CLIENT_SECRET holds the secret's ID instead of its value, a secret of another app, or a mistyped value.",
        "CLIENT_SECRET is not a valid secret of this app: copy the secret's Value (shown once, when it is "
        f"created), not its Secret ID, from {REGISTRATION} > Certificates & secrets > Client secrets. Create a "
        "new secret if the Value is lost.",
        credential=True,
    ),
    Explanation(
        "7000222",
        "This app's client secret has expired.",
        "Every client secret has an expiry date, chosen when it was created; this one has passed.",
        f"CLIENT_SECRET has expired: create a new secret under {REGISTRATION} > Certificates & secrets > Client "
        "secrets, set its Value as CLIENT_SECRET, then delete the expired one.",
        credential=True,
    ),
    Explanation(
        "7000218",
        "The app's token request carried no credential.",
        "None of the app's credential settings is set, so it sent neither a secret nor a client assertion.",
        "The token request carried no credential: set exactly one of CLIENT_SECRET, CLIENT_CERTIFICATE_PATH, "
        "CLIENT_ASSERTION_FILE or MANAGED_IDENTITY_CLIENT_ID.",
        credential=True,
    ),
    Explanation(
        "700027",
        "Microsoft did not accept the certificate that signed this app's client assertion.",
        "The certificate in CLIENT_CERTIFICATE_PATH is not uploaded to the registration, was replaced there, "
        "or has expired.",
        "Entra does not accept the certificate that signed the client assertion: upload its public part "
        f"(the .cer/.pem, not the key) under {REGISTRATION} > Certificates & secrets > Certificates, and check "
        "that the thumbprint shown there matches the certificate in CLIENT_CERTIFICATE_PATH (the app logs it "
        "at start-up).",
        credential=True,
    ),
    Explanation(
        "700021",
        "The client assertion names another app.",
        "Its issuer and subject must be the app's CLIENT_ID; the certificate or federated token belongs to "
        "another app registration.",
        "The client assertion's issuer and subject must be the app's CLIENT_ID: use the certificate or federated "
        "token of this app registration, or set CLIENT_ID to the app it belongs to.",
        credential=True,
    ),
    Explanation(
        "700023",
        "The client assertion was made for another token endpoint.",
        "Its audience is not this tenant's token endpoint, usually because AUTHORITY names another tenant.",
        "The client assertion's audience is not this tenant's token endpoint: check the tenant in AUTHORITY.",
        credential=True,
    ),
    Explanation(
        "700024",
        "The client assertion is outside its validity period.",
        "This server's clock is wrong, or the federated token in CLIENT_ASSERTION_FILE was not refreshed.",
        "Check this server's clock (NTP), and that CLIENT_ASSERTION_FILE is being refreshed before its token expires.",
        credential=True,
    ),
    Explanation(
        "700211",
        "No federated credential of the app trusts the issuer of the token the app presented.",
        "The federated credential's issuer differs from the token's iss (e.g. the cluster's OIDC issuer URL).",
        f"Under {REGISTRATION} > Certificates & secrets > Federated credentials the issuer must be exactly the "
        "token's iss (e.g. the cluster's OIDC issuer URL).",
        credential=True,
    ),
    Explanation(
        "700212",
        "No federated credential of the app accepts the audience of the token the app presented.",
        "The token or the federated credential has an audience other than api://AzureADTokenExchange.",
        "The audience must be api://AzureADTokenExchange, in the federated credential and in the token.",
        credential=True,
    ),
    Explanation(
        "700213",
        "No federated credential of the app matches the subject of the token the app presented.",
        "The federated credential names another subject (namespace, service account or managed identity).",
        "Make the federated credential's subject match the token's: for AKS it is "
        "system:serviceaccount:<namespace>:<service account>; for a managed identity, add it as a federated "
        "credential (managed identity) of the app.",
        credential=True,
    ),
    Explanation(
        "65001",
        "Nobody has consented yet to the permissions this app asks for.",
        "You have not consented to them, or your organization lets only administrators consent to this app "
        "(user consent is turned off, or a permission needs an administrator).",
        f"An administrator grants consent: {REGISTRATION} > API permissions > Grant admin consent for the "
        "tenant (or Enterprise applications > (this app) > Permissions), or opens the admin consent link.",
    ),
    Explanation(
        "65004",
        "You declined the permissions this app asked for.",
        "The consent screen was cancelled, or a permission was not accepted.",
        "Sign in again and accept the permissions; an administrator can grant them for everyone under "
        f"{REGISTRATION} > API permissions > Grant admin consent.",
    ),
    Explanation(
        "90094",
        "These permissions need an administrator's approval.",
        "Your organization's user consent settings do not let users consent to this app, or a permission it asks "
        "for needs an administrator.",
        f"An administrator grants consent under {REGISTRATION} > API permissions > Grant admin consent, or "
        "allows users to consent under Enterprise applications > Consent and permissions > User consent settings.",
    ),
    Explanation(
        "90095",
        "These permissions need an administrator's approval, and you can ask for it.",
        "Your organization has an admin consent workflow: a request goes to its reviewers.",
        "Send the request from Microsoft's page; a reviewer approves it under Enterprise applications > Admin "
        "consent requests.",
    ),
    Explanation(
        "50076",
        "Your organization requires multi-factor authentication for this sign-in.",
        "A Conditional Access policy (or per-user MFA) requires MFA, and this session did not use it: for "
        "example a new location, or a policy that changed.",
        "Sign in again and complete multi-factor authentication (the app asks for it by itself). An administrator "
        "finds the policy in Entra admin center > Monitoring & health > Sign-in logs, by the correlation ID.",
    ),
    Explanation(
        "50079",
        "You must register for multi-factor authentication before you can sign in.",
        "Your organization requires MFA (security defaults or a policy), and your account has no method yet.",
        "Register a method at https://aka.ms/mysecurityinfo, then sign in again. An administrator manages this "
        "under Entra admin center > Protection > Authentication methods.",
    ),
    Explanation(
        "53003",
        "A Conditional Access policy of your organization does not allow you to use this app from here, now. "
        "Signing in again will not change that.",
        "A policy blocks this app for this user, device, location or client app.",
        "Ask your organization's IT help desk or Entra administrator: they can see which policy applied in the "
        "Entra admin center (Monitoring & health > Sign-in logs > Conditional Access), using the ids below.",
    ),
    Explanation(
        "50020",
        "Your account belongs to another organization (tenant), and this app does not admit it.",
        "The app accepts accounts of its own tenant only, and you are neither a member nor a guest there, or you "
        "used a personal Microsoft account.",
        "An administrator invites you as a guest (Entra admin center > Users > Invite external user), or makes the "
        f"app multi-tenant ({REGISTRATION} > Authentication > Supported account types) and sets AUTHORITY to "
        "/organizations (or /common for personal accounts too).",
    ),
    Explanation(
        "50194",
        "This app accepts one organization's accounts only, but it sent the sign-in to the multi-tenant endpoint.",
        "AUTHORITY ends in /common or /organizations while the registration's Supported account types is "
        "'Accounts in this organizational directory only'.",
        "Set AUTHORITY to https://login.microsoftonline.com/<tenant id>, or change "
        f"{REGISTRATION} > Authentication > Supported account types to a multitenant one.",
    ),
    Explanation(
        "50105",
        "Your account is not assigned to this app.",
        "The app requires assignment, and neither you nor a group of yours is assigned to it.",
        "An administrator assigns you under Entra admin center > Enterprise applications > (this app) > Users and "
        "groups, or turns Assignment required off under its Properties.",
    ),
    Explanation(
        "50058",
        "Microsoft could not sign you in silently: it has no session for you in this browser.",
        "You are signed out of Microsoft, or the browser blocks its cookies.",
        "Sign in again; nothing to change in the admin center.",
    ),
    Explanation(
        "70008",
        "The one-time code from Microsoft expired before the site used it.",
        "The sign-in page was left open too long, or this server's clock or the network was very slow.",
        "Sign in again; if it keeps happening, check this server's clock and its connection to Microsoft.",
    ),
    Explanation(
        "54005",
        "The one-time code from Microsoft was already used.",
        "The callback page was reloaded or opened twice.",
        "Sign in again; nothing to change in the admin center.",
    ),
    Explanation(
        "700082",
        "Your sign-in expired because it went unused for a long time.",
        "The refresh token expired by inactivity (90 days by default) or was revoked, for example after a "
        "password change.",
        "Sign in again. An administrator can check a shorter sign-in frequency under Entra admin center > "
        "Protection > Conditional Access > (policy) > Session.",
    ),
    Explanation(
        "9002313",
        "Microsoft rejected the request as malformed or invalid.",
        "The one-time code was altered or cut short on its way (a proxy, a URL length limit), belongs to another "
        "app, or a parameter was malformed.",
        "Sign in again. If it persists, check that proxies pass the callback's query string intact and that "
        f"CLIENT_ID is the Application (client) ID on {REGISTRATION} > Overview.",
    ),
)


def lookup_url(code: str | int) -> str:
    """Microsoft's error lookup page for this code."""
    return LOOKUP.format(code=int(code))


def explain(code: str | int | None) -> Explanation | None:
    """The explanation of an AADSTS code (digits, with or without the AADSTS prefix), or None if there is none."""
    if code is None:
        return None
    return TABLE.get(str(code).removeprefix("AADSTS").strip())


def codes_of(result: Mapping[str, Any]) -> list[str]:
    """The AADSTS codes of an OAuth error, first one first: its error_codes, then those in error_description."""
    codes = result.get("error_codes")
    found = [str(c) for c in codes if str(c).isdigit()] if isinstance(codes, list) else []
    found += [c for c in _AADSTS.findall(str(result.get("error_description") or "")) if c not in found]
    return found


def code_of(result: Mapping[str, Any]) -> str | None:
    """The AADSTS code that names an OAuth error, or None."""
    codes = codes_of(result)
    return codes[0] if codes else None


def markdown_table() -> str:
    """The README's Troubleshooting table: code, what happened, fix."""
    rows = ["| Code | What happened | How to fix |", "|---|---|---|"]
    rows += [f"| AADSTS{e.code} | {e.what} | {e.fix} |" for e in sorted(TABLE.values(), key=lambda e: int(e.code))]
    return "\n".join(rows) + "\n"

// An independent, OpenID Certified OpenID Provider (panva's oidc-provider) for the tests: one confidential client,
// code flow with PKCE (S256, required), refresh tokens for offline_access, RP-initiated logout, over TLS on 127.0.0.1.
//
// Configuration (environment): CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_REDIRECT_URIS (space-separated),
// TLS_CERT and TLS_KEY (PEM files), PORT (0 = any free port), EXTRA_SCOPES (space-separated scopes besides OpenID's the
// client may be granted, e.g. an API's; access tokens stay opaque and the userinfo endpoint accepts them),
// HOST (the issuer's host name; default 127.0.0.1), ISSUER_PATH (where the provider is mounted, e.g. /oidc; default none:
// the issuer is the origin itself), ACCESS_TOKEN_TTL (seconds; default 3600).
// Once listening it prints one JSON line on stdout, {"issuer": "https://127.0.0.1:<port>"}; it exits when stdin
// closes (the test that started it is gone) or on SIGTERM.
//
// Interactions: no devInteractions (development pages with a consent step). GET /interaction/<uid> is one HTML form,
// "login" (the user name, any non-empty value; it becomes sub) and "password" (must equal the user name, so a test can
// see a refusal), POSTed to /interaction/<uid>/login. Signing in also grants what the client asked for: the client is
// first party, as an app registration's own admin-consented permissions are.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const words = (value) => value.split(/\s+/).filter(Boolean);
const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const host = env('HOST', '127.0.0.1');
const mountPath = env('ISSUER_PATH', '').replace(/\/+$/, '');
const extraScopes = words(env('EXTRA_SCOPES', ''));
const client = {
  client_id: env('CLIENT_ID'),
  client_secret: env('CLIENT_SECRET'),
  redirect_uris: words(env('REDIRECT_URIS')),
  post_logout_redirect_uris: words(env('POST_LOGOUT_REDIRECT_URIS', '')),
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  // msal sends the secret in the form body (client_secret_post), never in an Authorization header.
  token_endpoint_auth_method: 'client_secret_post',
};

// Registered before the provider exists: it is built once the port (and so the issuer) is known.
let handle = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer(
  { cert: readFileSync(env('TLS_CERT')), key: readFileSync(env('TLS_KEY')) },
  (req, res) => handle(req, res),
);

function loginPage(uid, params, error) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in to ${escapeHtml(params.client_id)}</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(mountPath)}/interaction/${escapeHtml(uid)}/login">
<input name="login" autocomplete="username" autofocus>
<input name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// OIDC Core §11: offline_access needs prompt=consent "unless other conditions for processing the request permitting
// offline access to the requested resources are in place", and oidc-provider drops it otherwise. Neither msal nor the
// app sends that prompt (Entra and most providers need none), so here the condition is that the client is first
// party: an authorization request for offline_access without a prompt is handled as if it said prompt=consent (our
// sign-in form answers login and consent at once).
function consentForOfflineAccess(url) {
  const [path, query = ''] = url.split('?', 2);
  if (path !== '/auth') return url;
  const params = new URLSearchParams(query);
  if (params.has('prompt') || !(params.get('scope') ?? '').split(' ').includes('offline_access')) return url;
  params.set('prompt', 'consent');
  return `${path}?${params}`;
}

// Mounted the way express mounts it: oidc-provider reads the mount path from req.originalUrl minus req.url.
function mounted(next) {
  return (req, res) => {
    const path = req.url.split('?', 1)[0];
    if (path !== mountPath && !path.startsWith(`${mountPath}/`)) {
      res.statusCode = 404;
      return res.end();
    }
    req.url = consentForOfflineAccess(req.url.slice(mountPath.length) || '/');
    req.originalUrl = `${mountPath}${req.url}`;
    return next(req, res);
  };
}

function interactions(provider) {
  const callback = provider.callback();
  return async (req, res) => {
    const match = /^\/interaction\/([^/?]+)(\/login)?(?:\?|$)/.exec(req.url);
    if (!match) return callback(req, res);
    res.setHeader('Cache-Control', 'no-store');
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== match[1]) throw new Error('interaction mismatch');
      const page = (status, error) => {
        res.statusCode = status;
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(loginPage(details.uid, details.params, error));
      };
      if (!match[2]) return page(200);
      if (req.method !== 'POST') {
        res.statusCode = 405;
        return res.end();
      }
      const form = await readForm(req);
      const login = form.get('login') ?? '';
      if (!login || form.get('password') !== login) return page(401, 'Wrong user name or password.');
      const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const result = { login: { accountId: login }, consent: { grantId: await grant.save() } };
      return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } catch (error) {
      res.statusCode = 400;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`interaction failed: ${error.message}`);
    }
  };
}

server.listen(Number(env('PORT', '0')), '127.0.0.1', () => {
  const issuer = `https://${host}:${server.address().port}${mountPath}`;
  const provider = new Provider(issuer, {
    clients: [client],
    scopes: ['openid', 'profile', 'offline_access', ...extraScopes],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: `Test User ${sub}`, preferred_username: `${sub}@provider.test` }),
    }),
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    pkce: { methods: ['S256'], required: () => true },
    ttl: { AccessToken: Number(env('ACCESS_TOKEN_TTL', '3600')) },
    features: {
      devInteractions: { enabled: false },
      // The default pages load a web font from Google: these load nothing from elsewhere.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body>
<h1>Sign out of ${escapeHtml(ctx.host)}?</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1></body></html>';
        },
      },
    },
    issueRefreshToken: async (_ctx, c, code) =>
      c.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    cookies: { keys: [randomUUID()] },
    renderError: (ctx, out) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out.error}: ${out.error_description ?? ''}`;
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('server_error', error));
  // One stderr line per token grant, so a test can tell a refresh happened.
  provider.on('grant.success', (ctx) => console.error(`grant.success ${ctx.oidc.params.grant_type}`));
  handle = mounted(interactions(provider));
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref();
process.on('SIGTERM', stop);
process.stdin.on('end', stop).on('close', stop).resume();

// Test-only OpenID Connect provider (panva/oidc-provider) for integration tests.
//
// Environment:
//   OIDC_PORT            listen on 127.0.0.1:OIDC_PORT, issuer http://127.0.0.1:OIDC_PORT
//                        (0 = pick a free port; the `ready` line tells which)
//   OIDC_CLIENT_ID       the one registered client (confidential web client)
//   OIDC_CLIENT_SECRET   its secret (client_secret_basic or client_secret_post)
//   OIDC_REDIRECT_URIS   comma-separated list of its redirect URIs
//   OIDC_IGNORE_STDIN=1  optional: do not exit when stdin closes (manual use)
//
// Prints exactly one line `ready http://127.0.0.1:PORT` on stdout once listening.
// Exits when stdin closes (the parent test died or dropped the pipe), on SIGTERM
// or on SIGINT. Everything else it logs goes to stderr.
//
// Uses the built-in development interactions (login + consent forms) of
// oidc-provider; see FLOW.md for the HTTP sequence a test client performs.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as querystring from 'node:querystring';

// oidc-provider prints its notices with console.info (stdout); stdout is
// reserved for the single `ready` line, so send every other log to stderr.
console.log = console.error;
console.info = console.error;

const { default: Provider } = await import('oidc-provider');

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`provider.mjs: missing required environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(required('OIDC_PORT'), 10);
if (!/^[0-9]+$/.test(process.env.OIDC_PORT) || port < 0 || port > 65535) {
  console.error(`provider.mjs: invalid OIDC_PORT ${process.env.OIDC_PORT}`);
  process.exit(2);
}
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = required('OIDC_REDIRECT_URIS')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

// Fixed test users; the key is the login typed into the dev login form.
const USERS = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    preferred_username: 'alice',
    name: 'Alice',
    groups: ['mpdp-admins', 'staff'],
  },
  bob: {
    email: 'bob@example.com',
    email_verified: false,
    preferred_username: 'bob',
    name: 'Bob',
    groups: [],
  },
  carol: {
    email: 'carol@elsewhere.test',
    email_verified: true,
    preferred_username: 'carol',
    name: 'Carol',
    groups: [],
  },
  dave: {
    email: 'dave@example.com',
    email_verified: true,
    preferred_username: 'dave',
    name: 'Dave',
    groups: ['staff'],
  },
};

function isKnownUser(id) {
  return typeof id === 'string' && Object.hasOwn(USERS, id);
}

async function findAccount(_ctx, id) {
  if (!isKnownUser(id)) {
    return undefined;
  }
  const user = USERS[id];
  return {
    accountId: id,
    // The provider filters these by the granted scopes / claims.
    async claims() {
      return { sub: id, ...structuredClone(user) };
    },
  };
}

// A fresh signing key per run (avoids the library's published dev keys).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });
signingKey.use = 'sig';
signingKey.alg = 'RS256';
signingKey.kid = 'test-rs256';

// Bind first so that OIDC_PORT=0 yields the real port for the issuer.
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handler(req, res));
server.on('error', (err) => {
  console.error('provider.mjs: listen error:', err);
  process.exit(1);
});
await new Promise((resolve) => { server.listen(port, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      application_type: 'web',
      // client_secret_post is accepted as well for any client with a secret.
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
  },
  // With the default conformIdTokenClaims, scope-derived claims are returned
  // from userinfo (the ID token carries them only when no access token is
  // issued). The relying party reads them from userinfo.
  conformIdTokenClaims: true,
  findAccount,
  pkce: {
    // PKCE (S256, the only method oidc-provider 9 supports) for every request.
    required: () => true,
  },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    // Plain http on 127.0.0.1: never mark cookies `secure`.
    long: { httpOnly: true, sameSite: 'lax', secure: false },
    short: { httpOnly: true, sameSite: 'lax', secure: false },
  },
  jwks: { keys: [signingKey] },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  renderError(ctx, out) {
    const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><body><h1>oops</h1><pre>error=${esc(out.error)}\nerror_description=${esc(out.error_description)}</pre></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// The dev login form accepts any login and does not call findAccount; an
// unknown login would then fail later with a server_error. Refuse it here
// instead: the login form is shown again (303 back to the same interaction).
const INTERACTION_SUBMIT = /^\/interaction\/[^/]+$/;
provider.use(async (ctx, next) => {
  if (
    ctx.method === 'POST'
    && INTERACTION_SUBMIT.test(ctx.path)
    && ctx.is('application/x-www-form-urlencoded')
  ) {
    const chunks = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += chunk.length;
      if (size > 56 * 1024) ctx.throw(413, 'request entity too large');
      chunks.push(chunk);
    }
    const body = querystring.parse(Buffer.concat(chunks).toString('utf8'));
    // Hand the parsed body on to the dev interaction handler.
    ctx.req.body = body;
    if (body.prompt === 'login' && !isKnownUser(body.login)) {
      console.error(`provider.mjs: login refused for unknown user ${JSON.stringify(body.login)}`);
      ctx.set('Cache-Control', 'no-store');
      ctx.set('X-Test-Login-Refused', 'unknown user');
      ctx.status = 303;
      ctx.redirect(`${issuer}${ctx.path}`);
      return;
    }
  }
  await next();
});

provider.on('server_error', (_ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

handler = provider.callback();

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  console.error(`provider.mjs: stopping (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

if (process.env.OIDC_IGNORE_STDIN !== '1') {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('close', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.on('data', () => {});
  process.stdin.resume();
}

process.stdout.write(`ready ${issuer}\n`);

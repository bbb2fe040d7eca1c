import { defineConfig } from "@playwright/test";
import { resolve } from "node:path";

// The console under test: the release binary, on its own port and a fresh data directory.
const port = Number(process.env.MPDP_E2E_PORT ?? 3310);
const dataDir = `.data/run-${Date.now()}`;
// Releases are published to a directory beside it, as a CDN's origin would be.
const publishDir = resolve(`${dataDir}-published`);
export const OPERATOR_PASSWORD = "steady lantern 7";
// Passkeys belong to a domain name, never an IP address: a second console, at localhost.
export const PASSKEY_PORT = port + 1;
export const PASSKEY_BASE = `http://localhost:${PASSKEY_PORT}`;
// A real OpenID Connect provider (tests/oidc: panva's oidc-provider) for single sign-on, with a
// redirect URI for each project's provider in the console.
export const OIDC_PORT = port + 2;
export const OIDC_ISSUER = `http://127.0.0.1:${OIDC_PORT}`;
export const OIDC_CLIENT = { id: "mpdp-e2e", secret: "e2e provider secret" };
const oidcRedirects = ["javascript", "no-javascript"].map((p) => `http://127.0.0.1:${port}/sso/e2e-${p}/callback`).join(",");

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "javascript", use: { browserName: "chromium", javaScriptEnabled: true } },
    { name: "no-javascript", use: { browserName: "chromium", javaScriptEnabled: false } },
  ],
  webServer: [{
    // A platform operator first (password on stdin, as the README shows), then the console.
    command:
      `sh -c 'echo "${OPERATOR_PASSWORD}" | ../target/release/mpdp operator create --email operator@example.com ` +
      `--username operator --data-dir ${dataDir} && ` +
      `MPDP_LOG=warn MPDP_ACCOUNT_REQUESTS_PER_ADDRESS=1000 MPDP_FLEET_FLUSH_MS=200 exec ../target/release/mpdp serve --listen 127.0.0.1:${port} --data-dir ${dataDir} --publish-to file://${publishDir}'`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  }, {
    command:
      `sh -c 'MPDP_LOG=warn MPDP_ACCOUNT_REQUESTS_PER_ADDRESS=1000 exec ../target/release/mpdp serve ` +
      `--listen 127.0.0.1:${PASSKEY_PORT} --public-url ${PASSKEY_BASE} --data-dir ${dataDir}-passkeys'`,
    url: `http://127.0.0.1:${PASSKEY_PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  }, {
    command:
      `sh -c 'cd ../tests/oidc && (test -d node_modules/oidc-provider || npm ci --no-audit --no-fund --loglevel=error) && ` +
      `OIDC_PORT=${OIDC_PORT} OIDC_CLIENT_ID=${OIDC_CLIENT.id} OIDC_CLIENT_SECRET="${OIDC_CLIENT.secret}" ` +
      `OIDC_REDIRECT_URIS=${oidcRedirects} OIDC_IGNORE_STDIN=1 exec node provider.mjs'`,
    url: `${OIDC_ISSUER}/.well-known/openid-configuration`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "ignore",
  }],
});

import type { Page } from "@playwright/test";
import { PASSKEY_BASE } from "../playwright.config";
import { confirmAction, expect, expectCheckInbox, jsEnabled, logIn, logOut, open, PASSWORD, signUp, test, uniqueName } from "./helpers";

// The console at localhost: a passkey belongs to a domain name, never to an IP address.
test.use({ baseURL: PASSKEY_BASE });

/** Chromium's virtual authenticator (CDP WebAuthn): a platform authenticator that keeps
 * passkeys and verifies the person at once, as a laptop's fingerprint reader would. */
async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

test("passkeys: added on the account page, sign in with one alone or after the password, deleted", async ({ page }, info) => {
  const name = uniqueName();
  await signUp(page, info, `${name}@example.com`, name);
  await expectCheckInbox(page, `${name}@example.com`);
  await logIn(page, info, name, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();

  await open(page, info, "/account");
  const panel = page.getByRole("region", { name: "Passkeys" });
  await expect(panel.getByText("No passkeys yet.")).toBeVisible();
  if (!jsEnabled(info)) {
    // Without JavaScript the browser can't be asked for a passkey, and the page says so.
    await expect(panel.getByText("this needs JavaScript")).toBeVisible();
    await logOut(page);
    await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeVisible();
    await expect(page.getByText("this needs JavaScript")).toBeVisible();
    return;
  }
  const { cdp, authenticatorId } = await virtualAuthenticator(page);

  // A name is required before the browser is asked.
  await panel.getByRole("button", { name: "Add a passkey" }).click();
  await expect(panel.getByRole("alert")).toContainText("Passkey name");
  await panel.getByLabel("Passkey name").fill("This browser");
  await panel.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The passkey This browser is added" })).toBeVisible();
  await expect(panel.getByRole("row", { name: /This browser/ })).toBeVisible();
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);

  // Signing in with the passkey alone: no username, no password.
  await logOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await open(page, info, "/account");
  await expect(page.getByRole("region", { name: "Where you are signed in" })).toContainText("Passkey");

  // The password now asks for the second step, which the passkey answers.
  await logOut(page);
  await logIn(page, info, name, PASSWORD);
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  await expect(page.getByText("Use one of your passkeys.")).toBeVisible();
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await open(page, info, "/account");
  await expect(page.getByRole("region", { name: "Where you are signed in" })).toContainText("Password and passkey");

  // Deleted behind a confirmation: it signs nobody in any more.
  const row = panel.getByRole("row", { name: /This browser/ });
  await confirmAction(page, info, row.getByRole("button", { name: "Delete This browser" }), "Delete passkey", "stops working at once", "Delete");
  await expect(page.getByRole("status").filter({ hasText: "The passkey is deleted" })).toBeVisible();
  await expect(panel.getByText("No passkeys yet.")).toBeVisible();
  await logOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Passkey" })).toContainText("is not registered with this console");
});

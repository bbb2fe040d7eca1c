import { OIDC_CLIENT, OIDC_ISSUER } from "../playwright.config";
import type { Page } from "@playwright/test";
import { expect, jsEnabled, logInAsOperator, open, test } from "./helpers";

/** The provider's own pages ask for web fonts from the internet, which this machine can't
 * reach: those requests are answered empty, so only the console's errors count. */
async function offline(page: Page) {
  await page.context().route((url) => !["127.0.0.1", "localhost"].includes(url.hostname), (route) => route.fulfill({ status: 204, body: "" }));
}

test("single sign-on: the operator adds a provider, and a person signs in at it — or declines", async ({ page, newPage }, info) => {
  const id = `e2e-${info.project.name}`;
  const label = `Test IdP ${info.project.name}`;

  // The operator adds the provider (Operator → Single sign-on).
  await logInAsOperator(page, info);
  await open(page, info, "/operator/sign-in");
  await page.getByRole("button", { name: "Add provider" }).click();
  const form = page.getByRole("dialog", { name: "Add provider" });
  await form.getByLabel("ID", { exact: true }).fill(id);
  await form.getByLabel("Button label").fill(label);
  await form.getByLabel("Issuer URL").fill("http://idp.example");
  await form.getByLabel("Client ID").fill(OIDC_CLIENT.id);
  await form.getByLabel("Client secret").fill(OIDC_CLIENT.secret);
  await form.getByLabel("Allowed email domains").fill("example.com");
  await form.getByRole("button", { name: "Save provider" }).click();
  // Plain http only on this machine: refused, naming the field.
  await expect(page.getByText(/must be an https:\/\/ URL/).first()).toBeVisible();
  const again = page.getByRole("dialog", { name: "Add provider" });
  if (!jsEnabled(info)) {
    // Without JavaScript the refused form comes back empty.
    await again.getByLabel("ID", { exact: true }).fill(id);
    await again.getByLabel("Button label").fill(label);
    await again.getByLabel("Client ID").fill(OIDC_CLIENT.id);
    await again.getByLabel("Client secret").fill(OIDC_CLIENT.secret);
    await again.getByLabel("Allowed email domains").fill("example.com");
  }
  await again.getByLabel("Issuer URL").fill(OIDC_ISSUER);
  await again.getByRole("button", { name: "Save provider" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The provider is saved." })).toBeVisible();
  const row = page.getByRole("row", { name: new RegExp(label) });
  await expect(row).toContainText(`/sso/${id}/callback`);

  // A person signs in at the provider and comes back signed in, with a new account.
  const person = await newPage();
  await offline(person);
  await open(person, info, "/login");
  await person.getByRole("link", { name: `Sign in with ${label}` }).click();
  await person.getByPlaceholder("Enter any login").fill("dave");
  await person.getByPlaceholder("and password").fill("anything");
  await person.getByRole("button", { name: "Sign-in" }).click();
  await person.getByRole("button", { name: "Continue" }).click();
  await expect(person.getByRole("heading", { name: "Welcome, dave" })).toBeVisible();
  await open(person, info, "/account");
  await expect(person.getByRole("region", { name: "Where you are signed in" })).toContainText(`Single sign-on (${label})`);

  // Someone who cancels at the provider comes back to the login page, told so, signed out.
  const other = await newPage();
  await offline(other);
  await open(other, info, "/login");
  await other.getByRole("link", { name: `Sign in with ${label}` }).click();
  await other.getByRole("link", { name: "[ Cancel ]" }).click();
  await expect(other.getByRole("alert").filter({ hasText: "declined" })).toContainText("The sign-in was declined at the single sign-on provider.");
  await expect(other.getByRole("heading", { name: "Log in to MPDP" })).toBeVisible();
});

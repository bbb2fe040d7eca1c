import * as OTPAuth from "otpauth";
import type { Page, TestInfo } from "@playwright/test";
import {
  applyAndWait,
  confirmAction,
  expect,
  generateWorkspace,
  jsEnabled,
  logIn,
  logInAsOperator,
  logOut,
  newMember,
  open,
  operatorsOwnWorkspace,
  signUpVerified,
  test,
  uniqueName,
} from "./helpers";

/** The code an authenticator app holding `key` (as the account page shows it) shows now. */
function codeFor(key: string): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key.replace(/\s+/g, "")) }).generate();
}

/** Turns two-factor authentication on from the account page, as a person with an authenticator app would. */
async function turnOnSecondFactor(page: Page, info: TestInfo) {
  await open(page, info, "/account");
  const panel = page.getByRole("region", { name: "Two-factor authentication" });
  await panel.getByRole("button", { name: "Set up an authenticator app" }).click();
  const key = (await panel.locator("code.secret-key").innerText()).trim();
  await panel.getByLabel("Code from the app").fill(codeFor(key));
  await panel.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Two-factor authentication is on" })).toBeVisible();
}

test("two-factor authentication: set up with a QR code, log in with a code or a recovery code, turn it off; the operator resets it", async ({ page, newPage }, info) => {
  const name = uniqueName();
  await signUpVerified(page, newPage, info, `${name}@example.com`, name);

  // Setting up: a QR code and its key, confirmed with a code from the app.
  await open(page, info, "/account");
  const panel = page.getByRole("region", { name: "Two-factor authentication" });
  await expect(panel.getByText("Login asks for your password only.")).toBeVisible();
  await panel.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(panel.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  const key = (await panel.locator("code.secret-key").innerText()).trim();
  await panel.getByLabel("Code from the app").fill("12345");
  await panel.getByRole("button", { name: "Turn on" }).click();
  await expect(panel.getByRole("alert")).toContainText("must be the six digits your authenticator app shows");
  const code = codeFor(key);
  await panel.getByLabel("Code from the app").fill(code);
  await panel.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Two-factor authentication is on" })).toBeVisible();
  const codes = panel.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recovery = [(await codes.nth(0).innerText()).trim(), (await codes.nth(1).innerText()).trim()];
  await expect(panel.getByText("Recovery codes left")).toBeVisible();

  // Logging in asks for a code after the password: the code already used is refused, a
  // recovery code lets the person in.
  await logOut(page);
  await logIn(page, info, name, "amber otter 17");
  await expect(page).toHaveURL(/\/login\/code$/);
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  await expect(page.getByText(`Signing in as ${name}.`)).toBeVisible();
  await page.getByLabel("Authentication code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("has been used already");
  await page.getByLabel("Authentication code").fill(recovery[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();

  // The session says how it was made; one recovery code is spent.
  await open(page, info, "/account");
  await expect(page.getByRole("table", { name: "Your sessions" }).getByRole("cell", { name: "Password and recovery code" })).toBeVisible();
  await expect(panel.getByRole("definition").filter({ hasText: /^9$/ })).toBeVisible();

  // Turning it off takes a code; then the password alone signs in.
  await panel.getByLabel("Authentication code").fill(recovery[1]);
  await panel.getByRole("button", { name: "Turn off" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Two-factor authentication is off" })).toBeVisible();
  await expect(panel.getByRole("button", { name: "Set up an authenticator app" })).toBeVisible();

  // On again, and the operator resets it for a person who lost their phone.
  await panel.getByRole("button", { name: "Set up an authenticator app" }).click();
  const again = (await panel.locator("code.secret-key").innerText()).trim();
  await panel.getByLabel("Code from the app").fill(codeFor(again));
  await panel.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Two-factor authentication is on" })).toBeVisible();

  const operator = await newPage();
  await logInAsOperator(operator, info);
  await open(operator, info, `/operator/accounts?q=${name}`);
  const row = operator.getByRole("row").filter({ hasText: `${name}@example.com` });
  await expect(row.getByText("On", { exact: true })).toBeVisible();
  await confirmAction(
    operator,
    info,
    row.getByRole("button", { name: `Reset two-factor authentication of ${name}` }),
    "Reset two-factor authentication",
    "login asks for their password alone",
    "Reset",
  );
  await expect(operator.getByRole("status").filter({ hasText: "Two-factor authentication is reset" })).toBeVisible();
  await expect(operator.getByRole("row").filter({ hasText: `${name}@example.com` }).getByText("Off", { exact: true })).toBeVisible();

  await logOut(page);
  await logIn(page, info, name, "amber otter 17");
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
});

test("the code step without a password step first says so and grants nothing", async ({ page }, info) => {
  await open(page, info, "/login/code");
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  await expect(page.getByText("There is no sign-in waiting for a code in this browser")).toBeVisible();
  await expect(page.getByRole("main").getByRole("link", { name: "Log in" })).toBeVisible();
});

test("a workspace that requires two factors sends a member without one to set it up first", async ({ page, newPage }, info) => {
  const name = uniqueName();
  const workspace = `Tfa${uniqueName()}`;
  await signUpVerified(page, newPage, info, `${name}@example.com`, name);
  await applyAndWait(page, info, workspace, [`${name} <${name}@example.com>`]);
  const operator = await newPage();
  await logInAsOperator(operator, info);
  await generateWorkspace(operator, info, workspace);
  const [member] = await newMember(page, newPage, info, workspace, "Workspace Developer");

  // The admin can't require it before they have it themselves.
  await open(page, info, `/w/${workspace}/general`);
  const panel = page.getByRole("region", { name: "Sign-in requirements" });
  await expect(panel.getByText("Not required")).toBeVisible();
  await panel.getByRole("button", { name: "Require two-factor authentication" }).click();
  await expect(panel.getByRole("alert")).toContainText("must be on for your own account");
  await turnOnSecondFactor(page, info);
  await open(page, info, `/w/${workspace}/general`);
  await panel.getByRole("button", { name: "Require two-factor authentication" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The sign-in requirement is changed." })).toBeVisible();
  await expect(panel.getByText("Required of every member")).toBeVisible();

  // The member without one is sent to set it up, and gets in once they have.
  await open(member, info, `/w/${workspace}`);
  await expect(member.getByRole("alert").first()).toContainText(`${workspace} requires two-factor authentication`);
  await member.getByRole("link", { name: "Set up two-factor authentication" }).first().click();
  await expect(member).toHaveURL(/\/account#two-factor$/);
  await turnOnSecondFactor(member, info);
  await open(member, info, `/w/${workspace}`);
  await expect(member.getByRole("heading", { level: 1, name: workspace })).toBeVisible();
});

test("personal access tokens: made for a workspace with scopes, shown once, listed, revoked", async ({ page }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Tok");
  await open(page, info, "/account");
  const panel = page.getByRole("region", { name: "Personal access tokens" });
  // (The operator is shared by the tests: other tokens of theirs may be listed.)
  await panel.getByRole("button", { name: "Create a token" }).click();
  const dialog = jsEnabled(info) ? page.getByRole("dialog", { name: "Create a token" }) : panel;
  await dialog.getByLabel("Name").fill(`release ${workspace}`);
  await dialog.getByLabel("Workspace").selectOption(workspace);
  await dialog.getByLabel("Expires in").fill("400");
  await dialog.getByRole("button", { name: "Create token" }).click();
  await expect(dialog.getByRole("alert")).toContainText("Scopes");
  // (Without JavaScript the form comes back empty with its error: filled again.)
  await dialog.getByLabel("Name").fill(`release ${workspace}`);
  await dialog.getByLabel("Workspace").selectOption(workspace);
  await dialog.getByLabel("Upload versions").check();
  await dialog.getByLabel("Expires in").fill("30");
  await dialog.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copy your new token now." })).toBeVisible();
  await expect(page.getByLabel("New access token")).toHaveText(/^mppat_[A-Za-z0-9_-]{43}$/);

  // Shown once: loaded again, the page lists the token but no longer shows it.
  await open(page, info, "/account");
  await expect(page.getByLabel("New access token")).toHaveCount(0);
  const row = page.getByRole("table", { name: "Your access tokens" }).getByRole("row").filter({ hasText: `release ${workspace}` });
  await expect(row.getByRole("cell", { name: "Upload versions" })).toBeVisible();
  await expect(row.getByText("Active", { exact: true })).toBeVisible();
  await confirmAction(
    page,
    info,
    row.getByRole("button", { name: `Revoke the token release ${workspace}` }),
    "Revoke access token",
    "The token stops working at once",
    "Revoke",
  );
  await expect(page.getByRole("status").filter({ hasText: "The token is revoked." })).toBeVisible();
  await expect(row.getByText("Revoked", { exact: true })).toBeVisible();
});

test("the command line's sign-in is approved on /device with the token's terms, and its code works once", async ({ page, request }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Dev");
  // What `mpdp studio login` does: ask for a code, then poll.
  const started = await (await request.post("/api/device/v1/code", { form: { client_id: "mpdp-cli" } })).json();
  const poll = async () =>
    request.post("/api/device/v1/token", {
      form: { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: started.device_code, client_id: "mpdp-cli" },
    });
  expect((await (await poll()).json()).error).toBe("authorization_pending");

  await open(page, info, "/device");
  const code = page.getByRole("textbox", { name: "Code" });
  await code.fill("AAAA-AAAA");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("alert").first()).toContainText("must be the eight letters");
  await code.fill(started.user_code.toLowerCase());
  await page.getByRole("button", { name: "Continue" }).click();
  const approval = page.getByRole("region", { name: "Approve this sign-in" });
  await expect(approval.getByText(started.user_code, { exact: true })).toBeVisible();
  await approval.getByLabel("Workspace").selectOption(workspace);
  await approval.getByLabel("Upload versions").check();
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Approved: the command line gets its token" })).toBeVisible();

  // An approved code is answered at the next poll, however soon (only a pending one is told to
  // slow down), and once: asked again, it is unknown.
  const answer = await (await poll()).json();
  expect(answer.access_token).toMatch(/^mppat_/);
  expect(answer.workspace).toBe(workspace);
  expect((await (await poll()).json()).error).toBe("invalid_grant");
  await open(page, info, "/account");
  await expect(page.getByRole("table", { name: "Your access tokens" }).getByRole("row").filter({ hasText: workspace })).toBeVisible();
});

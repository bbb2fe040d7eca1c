import {
  expect,
  expectCheckInbox,
  linkIn,
  logIn,
  logOut,
  MAIL,
  NEW_PASSWORD,
  open,
  OPERATOR,
  PASSWORD,
  readMail,
  signUp,
  signUpVerified,
  test,
  uniqueName,
  verificationLink,
  verifyEmail,
} from "./helpers";

test("sign up unverified: the banner, a new link from the account page, verify, then change the password", async ({ page, newPage }, info) => {
  const name = uniqueName();
  const email = `${name}@example.com`;

  // Signing up signs nobody in: it sends a link.
  await signUp(page, info, email, name);
  await expectCheckInbox(page, email);
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Log in" })).toBeVisible();
  const firstLink = await verificationLink(newPage, info, email);

  // Logged in, the unverified person is told so under the top bar, on every page.
  await logIn(page, info, email, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  const banner = page.getByRole("status").filter({ hasText: "Verify your email address" });
  await expect(banner).toContainText(`Verify your email address ${email}:`);
  await banner.getByRole("link", { name: "Send a new link" }).click();
  await expect(page).toHaveURL(/\/account#email$/);
  const emailSection = page.getByRole("region", { name: "Email address" });
  await expect(emailSection.getByText("Unverified", { exact: true })).toBeVisible();
  await emailSection.getByRole("button", { name: "Send a new verification link" }).click();
  await expect(page.getByRole("status").filter({ hasText: "We sent a new verification link" })).toBeVisible();

  // The new link replaces the first one.
  const newLink = await verificationLink(newPage, info, email);
  expect(newLink).not.toBe(firstLink);
  await verifyEmail(page, info, firstLink);
  await expect(page.getByRole("alert").filter({ hasText: "Verification link" })).toBeVisible();
  await verifyEmail(page, info, newLink);
  await expect(page).toHaveURL(/\/\?verified=1$/);
  await expect(page.getByRole("status").filter({ hasText: "Your email address is verified." })).toBeVisible();
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await expect(banner).toHaveCount(0);

  // Loaded afresh, the account page says so and the banner is gone.
  await open(page, info, "/account");
  await expect(page.getByRole("region", { name: "Email address" }).getByText("Verified", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Send a new verification link" })).toHaveCount(0);
  await expect(page.getByText(`Verify your email address ${email}`)).toHaveCount(0);
  await expect(page.getByRole("table", { name: "Security events" }).getByRole("cell", { name: "Email address verified" })).toBeVisible();

  await logOut(page);
  await logIn(page, info, email, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Password changed" })).toBeVisible();

  await logOut(page);

  // The old password no longer works; the new one does.
  await logIn(page, info, name, PASSWORD);
  await expect(page.getByRole("alert").filter({ hasText: "do not match an account" })).toBeVisible();
  await logIn(page, info, name, NEW_PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
});

test("sign-up refusals name the field and the rule; a registered email gets the same answer as a new one", async ({ page }, info) => {
  const name = uniqueName();
  await signUp(page, info, `${name}@example.com`, name, "password123");
  const password = page.getByLabel("Password", { exact: true });
  await expect(page.getByText("Password: is one of the most commonly used passwords")).toBeVisible();
  await expect(password).toHaveAttribute("aria-invalid", "true");

  // The operator's address is registered (in other case here); the answer doesn't tell.
  const registered = OPERATOR.email.toUpperCase();
  await signUp(page, info, registered, name);
  await expectCheckInbox(page, registered);
  await expect(page.getByText("already registered")).toHaveCount(0);

  // … and no account was made with it.
  await logIn(page, info, name, PASSWORD);
  await expect(page.getByRole("alert").filter({ hasText: "do not match an account" })).toBeVisible();
});

test("forgot password: the mailed link sets a new one and signs out every session", async ({ page, newPage }, info) => {
  const name = uniqueName();
  const email = `${name}@example.com`;
  await signUp(page, info, email, name);
  await expectCheckInbox(page, email);

  // Signed in elsewhere, with the password about to be forgotten.
  const elsewhere = await newPage();
  await logIn(elsewhere, info, name, PASSWORD);
  await expect(elsewhere.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();

  await open(page, info, "/");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page.getByRole("heading", { name: "Forgot your password?" })).toBeVisible();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status").filter({ hasText: "If an account uses that address, we sent it a link" })).toBeVisible();

  const link = linkIn(await readMail(newPage, info, email, MAIL.reset), "reset-password");
  await open(page, info, link);
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/\?password_reset=1$/);
  await expect(page.getByRole("status").filter({ hasText: "Your password has been changed and every session signed out" })).toBeVisible();

  // The other browser's session is over: its next page asks it to log in.
  await open(elsewhere, info, "/account");
  await expect(elsewhere).toHaveURL(/\/login\?next=%2Faccount$/);
  await expect(elsewhere.getByRole("heading", { name: "Log in to MPDP" })).toBeVisible();

  // The old password is refused, the new one works; the link proved the address.
  await logIn(page, info, email, PASSWORD);
  await expect(page.getByRole("alert").filter({ hasText: "do not match an account" })).toBeVisible();
  await logIn(page, info, email, NEW_PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await open(page, info, "/account");
  await expect(page.getByRole("region", { name: "Email address" }).getByText("Verified", { exact: true })).toBeVisible();
  await expect(page.getByRole("table", { name: "Security events" }).getByRole("cell", { name: "Password reset", exact: true })).toBeVisible();

  // A link that is not a reset link is refused by name.
  await open(page, info, "/reset-password/not-a-link");
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Reset link" })).toBeVisible();
});

test("pages for signed-in people send visitors to log in and back; unknown pages say so", async ({ page }, info) => {
  const name = uniqueName();
  await signUp(page, info, `${name}@example.com`, name);
  await expectCheckInbox(page, `${name}@example.com`);
  // A protected page: to log in, then back to it.
  await open(page, info, "/account?page=1");
  await expect(page).toHaveURL(/\/login\?next=%2Faccount%3Fpage%3D1$/);
  await page.getByLabel("Email or username").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/account\?page=1$/);
  await expect(page.getByRole("heading", { level: 1, name: "Account" })).toBeVisible();
  await logOut(page);
  // A crafted return target leads home, never elsewhere.
  for (const target of ["//evil.example/", "https://evil.example/", "javascript:alert(1)"]) {
    await open(page, info, `/login?next=${encodeURIComponent(target)}`);
    await page.getByLabel("Email or username").fill(name);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
    expect(new URL(page.url()).host).toBe(new URL(info.project.use.baseURL!).host);
    await logOut(page);
  }
  await open(page, info, "/operator");
  await expect(page).toHaveURL(/\/login\?next=%2Foperator$/);
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

import { expect, logIn, logOut, NEW_PASSWORD, open, PASSWORD, signUp, test, uniqueName } from "./helpers";

test("sign up, log out, log in, change password, log in with the new password", async ({ page }, info) => {
  const name = uniqueName();
  const email = `${name}@example.com`;

  await signUp(page, info, email, name);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" })).toContainText("Account");

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
  await expect(page.getByRole("status")).toContainText("Password changed");

  await logOut(page);

  // The old password no longer works; the new one does.
  await logIn(page, info, name, PASSWORD);
  await expect(page.getByRole("alert").filter({ hasText: "do not match an account" })).toBeVisible();
  await logIn(page, info, name, NEW_PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
});

test("sign-up refusals name the field and the rule", async ({ page }, info) => {
  const name = uniqueName();
  await signUp(page, info, `${name}@example.com`, name, "password123");
  const password = page.getByLabel("Password", { exact: true });
  await expect(page.getByText("Password: is one of the most commonly used passwords")).toBeVisible();
  await expect(password).toHaveAttribute("aria-invalid", "true");

  await signUp(page, info, `${name}@example.com`, name);
  await expect(page.getByRole("heading", { name: `Welcome, ${name}` })).toBeVisible();
  await logOut(page);

  await signUp(page, info, `${name.toUpperCase()}@EXAMPLE.COM`, `${name}x`);
  await expect(page.getByText("Email: is already registered to an account")).toBeVisible();
});

test("pages for signed-in people ask visitors to log in, and unknown pages say so", async ({ page }, info) => {
  await open(page, info, "/account");
  await expect(page.getByRole("heading", { name: "Please log in" })).toBeVisible();
  await open(page, info, "/operator");
  await expect(page.getByRole("alert")).toContainText("You are not signed in");
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

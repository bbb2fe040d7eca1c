import { applyForWorkspace, expect, generateWorkspace, logInAsOperator, open, OPERATOR, test, uniqueName } from "./helpers";

// The main refusal of each form, shown near its field or as the form's alert — with JavaScript on
// and off (the refusals of sign-up, log-in, reset, verification, invitations and Members have
// their own tests in the other files).

test("forgot password: an address the rules refuse is named", async ({ page }, info) => {
  await open(page, info, "/forgot-password");
  await page.getByLabel("Email", { exact: true }).fill("ann@localhost");
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByText("Email: must be an address like name@example.com")).toBeVisible();
  await expect(page.getByText("If an account uses that address")).toHaveCount(0);
});

test("account: a wrong current password and a taken email address are refused by name", async ({ page }, info) => {
  await logInAsOperator(page, info);
  await open(page, info, "/account");
  await page.getByLabel("Current password").fill("not my password");
  await page.getByLabel("New password", { exact: true }).fill("violet canyon 88");
  await page.getByLabel("Confirm new password").fill("violet canyon 88");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Current password: is not correct")).toBeVisible();
  await expect(page.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");

  await open(page, info, "/account");
  await page.getByLabel("New email").fill(OPERATOR.email.toUpperCase());
  await page.getByLabel("Password", { exact: true }).fill(OPERATOR.password);
  await page.getByRole("button", { name: "Send confirmation link" }).click();
  await expect(page.getByText("New email: is already your email address")).toBeVisible();
});

test("apply and the operator's edit: a bad name and an unchanged edit are refused by name", async ({ page }, info) => {
  await logInAsOperator(page, info);
  await applyForWorkspace(page, info, "Bad Name", [`Operator <${OPERATOR.email}>`]);
  await expect(page.getByText(/Workspace Name: may contain only the letters/).first()).toBeVisible();

  const workspace = `Ref${uniqueName()}`;
  await applyForWorkspace(page, info, workspace, [`Operator <${OPERATOR.email}>`]);
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  await generateWorkspace(page, info, workspace);
  await open(page, info, `/operator/workspaces?q=${workspace}`);
  await page.getByRole("link", { name: workspace }).click();
  await page.getByRole("button", { name: "Save changes" }).click();
  // No field is called "Registered information": the form's alert says it.
  await expect(page.getByRole("alert").filter({ hasText: "Registered information: is unchanged; edit a field first" })).toBeVisible();
});

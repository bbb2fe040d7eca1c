import { expect, logInAsOperator, open, test } from "./helpers";

// Every console page, loaded afresh while signed in, renders and (with JavaScript) hydrates
// without an error in the browser console.
const pages: [string, string][] = [
  ["/", "Home"],
  ["/account", "Account"],
  ["/workspaces", "Workspaces"],
  ["/workspaces/apply", "Apply for a workspace"],
  ["/operator", "Operator"],
  ["/operator/applications", "Workspace applications"],
  ["/operator/workspaces", "Workspaces"],
  ["/operator/change-requests", "Change requests"],
  ["/operator/accounts", "Accounts"],
  ["/operator/outbox", "Outbox"],
  ["/operator/audit", "Audit log"],
  ["/invitations/0000000000000000000000000000000000000000000000000000000000000000", "Invitation"],
];

for (const [path, heading] of pages) {
  test(`${path} renders for a signed-in operator`, async ({ page }, info) => {
    await logInAsOperator(page, info);
    await open(page, info, path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  });
}

// The pages behind emailed links and the sign-up page render for visitors.
const visitorPages: [string, string][] = [
  ["/sign-up", "Create your MPDP account"],
  ["/forgot-password", "Forgot your password?"],
  ["/verify-email/0000000000000000000000000000000000000000000000000000000000000000", "Verify your email address"],
  ["/reset-password/0000000000000000000000000000000000000000000000000000000000000000", "Choose a new password"],
];

for (const [path, heading] of visitorPages) {
  test(`${path} renders for a visitor`, async ({ page }, info) => {
    await open(page, info, path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  });
}

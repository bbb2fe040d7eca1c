import { expect, logIn, open, test } from "./helpers";

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
  ["/operator/outbox", "Outbox"],
  ["/operator/audit", "Audit log"],
  ["/invitations/0000000000000000000000000000000000000000000000000000000000000000", "Invitation"],
];

for (const [path, heading] of pages) {
  test(`${path} renders for a signed-in operator`, async ({ page }, info) => {
    await logIn(page, info, "operator", "steady lantern 7");
    await expect(page.getByRole("heading", { name: "Welcome, operator" })).toBeVisible();
    await open(page, info, path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  });
}

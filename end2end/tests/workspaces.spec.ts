import { expect, logIn, logOut, open, signUp, test, uniqueName } from "./helpers";

const OPERATOR_PASSWORD = "steady lantern 7";

test("a user applies, the operator generates the workspace, the representative opens General", async ({ page }, info) => {
  const person = uniqueName();
  const email = `${person}@example.com`;
  const workspace = `Acme${uniqueName()}`;

  await signUp(page, info, email, person);
  await expect(page.getByRole("heading", { name: `Welcome, ${person}` })).toBeVisible();

  // Apply.
  await open(page, info, "/workspaces/apply");
  await page.getByLabel("Workspace Name").fill(workspace);
  await page.getByLabel("Scope of Business").fill("5812 — Eating places and restaurants");
  await page.getByLabel("Business Address").fill("1 Harbour Road, Singapore");
  await page.getByLabel("Business Representatives").fill(`Ann Lee <${email}>`);
  await page.getByRole("button", { name: "Submit application" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: workspace });
  await expect(row.getByText("Pending")).toBeVisible();

  // The same name in other case is refused with a clear message.
  await open(page, info, "/workspaces/apply");
  await page.getByLabel("Workspace Name").fill(workspace.toUpperCase());
  await page.getByLabel("Scope of Business").fill("5812");
  await page.getByLabel("Business Address").fill("2 Bay Road");
  await page.getByLabel("Business Representatives").fill(`Ann Lee <${email}>`);
  await page.getByRole("button", { name: "Submit application" }).click();
  await expect(page.getByText("Workspace Name: is already taken by a workspace or a pending application")).toBeVisible();
  await open(page, info, "/");
  await logOut(page);

  // The operator generates it.
  await logIn(page, info, "operator", OPERATOR_PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operator" }).click();
  await page.getByRole("navigation", { name: "Operator" }).getByRole("link", { name: "Applications" }).click();
  await page.getByLabel("Search by Workspace Name").fill(workspace);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByRole("heading", { name: workspace })).toBeVisible();
  await page.getByRole("button", { name: "Generate workspace" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Workspace generated" })).toBeVisible();
  await expect(page.getByText("Generated", { exact: true })).toBeVisible();
  await logOut(page);

  // The representative opens the workspace's General page.
  await logIn(page, info, person, "amber otter 17");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workspaces" }).click();
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByText("Workspace Admin · Assigned to Mini Program: unassigned")).toBeVisible();
  await page.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "General" }).click();
  await expect(page.getByRole("heading", { name: "Registered information" })).toBeVisible();
  await expect(page.getByText("5812 — Eating places and restaurants")).toBeVisible();
  await expect(page.getByText("Active", { exact: true })).toBeVisible();
  await expect(page.getByText("1 Harbour Road, Singapore")).toBeVisible();

  // Loaded afresh, the workspace's pages render (and hydrate) too; the switcher lists it.
  await open(page, info, `/w/${workspace}/general`);
  await expect(page.getByRole("heading", { name: "Request a change" })).toBeVisible();
  await open(page, info, `/w/${workspace}/audit`);
  await expect(page.getByRole("cell", { name: "workspace.generated" })).toBeVisible();
  await page.getByText(`Workspace: ${workspace}`).click();
  await expect(page.getByRole("link", { name: `${workspace} (Workspace Admin)` })).toBeVisible();
});

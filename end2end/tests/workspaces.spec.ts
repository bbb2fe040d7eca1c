import {
  applyForWorkspace,
  expect,
  expectCheckInbox,
  logIn,
  logInAsOperator,
  logOut,
  open,
  PASSWORD,
  signUp,
  test,
  uniqueName,
  jsEnabled,
  rowActions,
  signUpVerified,
} from "./helpers";

const LAST_ADMIN = "is the last active Workspace Admin of this workspace; make another member Workspace Admin first";

test("an unverified user is told to verify first; verified, they apply, the operator generates the workspace, and the representative opens General and, as the only admin, cannot step down", async ({ page }, info) => {
  const person = uniqueName();
  const email = `${person}@example.com`;
  const other = `${uniqueName()}@example.com`;
  const workspace = `Acme${uniqueName()}`;

  // An unverified person may not apply yet: the form says what to do.
  await signUp(page, info, email, person);
  await expectCheckInbox(page, email);
  await logIn(page, info, person, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${person}` })).toBeVisible();
  await applyForWorkspace(page, info, workspace, [`Ann Lee <${email}>`], "5812 — Eating places and restaurants", "1 Harbour Road, Singapore");
  await expect(page.getByText(`Verify your email address ${email} first`)).toBeVisible();
  await logOut(page);

  // Without SMTP, the operator marks the address verified (after checking it is the person's).
  await logInAsOperator(page, info);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operator" }).click();
  await page.getByRole("navigation", { name: "Operator" }).getByRole("link", { name: "Accounts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Accounts" })).toBeVisible();
  await page.getByLabel("Search username or email").fill(email);
  await page.getByRole("button", { name: "Apply" }).click();
  const account = page.getByRole("row").filter({ hasText: email });
  await expect(account.getByText("Unverified", { exact: true })).toBeVisible();
  await account.getByRole("button", { name: `Mark verified: ${email}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "The address is marked verified." })).toBeVisible();
  await expect(account.getByText("Verified", { exact: true })).toBeVisible();
  await expect(account.getByRole("button", { name: `Mark verified: ${email}` })).toHaveCount(0);
  await logOut(page);

  // Verified, the person applies, naming themselves and someone without an account.
  await logIn(page, info, person, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${person}` })).toBeVisible();
  await expect(page.getByText(`Verify your email address ${email}`)).toHaveCount(0);
  await applyForWorkspace(page, info, workspace, [`Ann Lee <${email}>`, `Bo Chen <${other}>`], "5812 — Eating places and restaurants", "1 Harbour Road, Singapore");
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: workspace });
  await expect(row.getByText("Pending")).toBeVisible();

  // The same name in other case, while it is pending, is refused with a clear message.
  await applyForWorkspace(page, info, workspace.toUpperCase(), [`Ann Lee <${email}>`], "5812", "2 Bay Road");
  await expect(page.getByText("Workspace Name: you already have a pending application for this name")).toBeVisible();
  await open(page, info, "/");
  await logOut(page);

  // The operator generates it.
  await logInAsOperator(page, info);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operator" }).click();
  // The overview says where releases are published, and that nothing waits.
  const publishing = page.getByRole("region", { name: "Release publishing" });
  await expect(publishing.getByText(/^file:\/\/.*-published$/)).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(publishing.getByText("Up to date")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await page.getByRole("navigation", { name: "Operator" }).getByRole("link", { name: "Applications" }).click();
  await page.getByLabel("Search by Workspace Name").fill(workspace);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByRole("heading", { name: workspace })).toBeVisible();
  await page.getByRole("button", { name: "Generate workspace" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Workspace generated" })).toBeVisible();
  await expect(page.getByText("Generated", { exact: true })).toBeVisible();
  await logOut(page);

  // The representative, verified, is a Workspace Admin at once and opens its General page.
  await logIn(page, info, person, PASSWORD);
  await expect(page.getByRole("heading", { name: `Welcome, ${person}` })).toBeVisible();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workspaces" }).click();
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByText("Workspace Admin · Assigned to Mini Program: unassigned")).toBeVisible();
  await page.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "General" }).click();
  await expect(page.getByRole("heading", { name: "Registered information" })).toBeVisible();
  await expect(page.getByText("5812 — Eating places and restaurants")).toBeVisible();
  await expect(page.getByText("Active", { exact: true })).toBeVisible();
  await expect(page.getByText("1 Harbour Road, Singapore")).toBeVisible();

  // On Members: the other representative waits for a verified address …
  await open(page, info, `/w/${workspace}/members`);
  const waiting = page.getByRole("table", { name: "Admissions waiting for a verified address" });
  await expect(waiting.getByRole("row").filter({ hasText: other })).toContainText("Workspace Admin");

  // … and the only active Workspace Admin can neither step down nor block themselves.
  const me = page.getByRole("row").filter({ hasText: email });
  await rowActions(me, person);
  await me.getByLabel(`Role of ${person}`).selectOption({ label: "Workspace Developer" });
  await me.getByRole("button", { name: "Set role" }).click();
  await expect(page.getByRole("alert").filter({ hasText: LAST_ADMIN })).toBeVisible();
  await open(page, info, `/w/${workspace}/members`);
  await expect(me.getByRole("cell", { name: /^Workspace Admin/ })).toBeVisible();
  await rowActions(me, person);
  await me.getByRole("button", { name: `Block ${person}` }).click();
  const refusal = page.getByRole("alert").filter({ hasText: "Member: you can't block yourself" });
  if (jsEnabled(info)) {
    const dialog = page.getByRole("dialog", { name: "Block member" });
    await dialog.getByRole("button", { name: "Block", exact: true }).click();
    // The refusal shows in the dialog, which stays open.
    await expect(dialog.getByRole("alert").filter({ hasText: "Member: you can't block yourself" })).toBeVisible();
    await dialog.getByRole("button", { name: "Cancel" }).click();
  } else {
    await page.getByRole("button", { name: "Block", exact: true }).click();
    await expect(refusal.first()).toBeVisible();
  }
  await open(page, info, `/w/${workspace}/members`);
  await expect(me.getByText("Active", { exact: true })).toBeVisible();
  await expect(me.getByRole("cell", { name: /^Workspace Admin/ })).toBeVisible();

  // Revoked, the waiting admission is gone.
  await waiting.getByRole("button", { name: `Revoke the admission of ${other}` }).click();
  await expect(page.getByText("Nobody is waiting.")).toBeVisible();

  // Loaded afresh, the workspace's pages render (and hydrate) too; the switcher lists it.
  await open(page, info, `/w/${workspace}/general`);
  await expect(page.getByRole("heading", { name: "Request a change" })).toBeVisible();
  await open(page, info, `/w/${workspace}/audit`);
  await expect(page.getByRole("cell", { name: "workspace.generated" })).toBeVisible();
  await page.getByText(`Workspace: ${workspace}`).click();
  await expect(page.getByRole("link", { name: `${workspace} (Workspace Admin)` })).toBeVisible();
});

test("the application form: a combobox for the Scope of Business, one row per representative", async ({ page, newPage }, info) => {
  const name = uniqueName();
  await signUpVerified(page, newPage, info, `${name}@example.com`, name);
  await open(page, info, "/workspaces/apply");
  const workspace = `Form${uniqueName()}`;
  await page.getByLabel("Workspace Name").fill(workspace);
  const scope = page.getByRole("combobox", { name: "Scope of Business" });
  if (jsEnabled(info)) {
    // Escape closes the list without choosing.
    await scope.fill("5812");
    await expect(scope).toHaveAttribute("aria-expanded", "true");
    await scope.press("Escape");
    await expect(scope).toHaveAttribute("aria-expanded", "false");
    await expect(scope).toHaveValue("5812");
    // Typing words searches the descriptions; the keyboard picks an option.
    await scope.fill("veterinary");
    await expect(scope).toHaveAttribute("aria-expanded", "true");
    const list = page.getByRole("listbox", { name: "Merchant Category Codes" });
    await expect(list.getByRole("option", { name: /0742/ })).toBeVisible();
    await scope.press("ArrowDown");
    await expect(list.getByRole("option").first()).toHaveAttribute("aria-selected", "true");
    await expect(scope).toHaveAttribute("aria-activedescendant", /listbox-\d+$/);
    await scope.press("Enter");
    await expect(scope).toHaveValue("0742 — Veterinary services");
    await expect(scope).toHaveAttribute("aria-expanded", "false");
  } else {
    // Without JavaScript the box takes the code.
    await scope.fill("0742");
  }
  await page.getByLabel("Business Address").fill("1 Harbour Road");

  // Rows are added and removed (without JavaScript, by a round trip that keeps what was typed).
  await page.getByLabel("Name of representative 1").fill(name);
  await page.getByLabel("Email of representative 1").fill(`${name}@example.com`);
  await page.getByRole("button", { name: "Add another representative" }).click();
  await page.getByLabel("Email of representative 2").fill(`second-${name}@example.com`);
  await page.getByRole("button", { name: "Add another representative" }).click();
  await expect(page.getByLabel("Name of representative 3")).toBeVisible();
  await page.getByRole("button", { name: "Remove representative 3" }).click();
  await expect(page.getByLabel("Name of representative 3")).toHaveCount(0);
  await expect(page.getByLabel("Workspace Name")).toHaveValue(workspace);
  await expect(page.getByLabel("Email of representative 2")).toHaveValue(`second-${name}@example.com`);
  if (jsEnabled(info)) {
    // A row without a name is named in the refusal.
    await page.getByRole("button", { name: "Submit application" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "representative 2 needs a name" }).first()).toBeVisible();
  }
  await page.getByLabel("Name of representative 2").fill("Second Person");
  await page.getByRole("button", { name: "Submit application" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: workspace })).toContainText("0742");
});

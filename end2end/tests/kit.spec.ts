import {
  applyForWorkspace,
  expect,
  generateWorkspace,
  jsEnabled,
  linkIn,
  logInAsOperator,
  MAIL,
  open,
  OPERATOR,
  operatorsOwnWorkspace,
  readMail,
  signUpVerified,
  test,
  uniqueName,
  inviteMembers,
} from "./helpers";

const SUSPEND_TEXT =
  "Nothing in a suspended workspace can be changed, and its mini programs stop being served, until it is reactivated.";

test("a confirmation asks first — a modal dialog with JavaScript, a page without — and only confirming acts", async ({ page }, info) => {
  const workspace = `Kit${uniqueName()}`;
  await logInAsOperator(page, info);
  await applyForWorkspace(page, info, workspace, [`Operator <${OPERATOR.email}>`]);
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  await generateWorkspace(page, info, workspace);
  await open(page, info, `/operator/workspaces?q=${workspace}`);
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByRole("heading", { name: workspace })).toBeVisible();
  const workspacePage = page.url();
  const status = page.getByRole("region", { name: workspace });
  await expect(status.getByText("Active", { exact: true })).toBeVisible();
  const opener = page.getByRole("button", { name: "Suspend workspace…" });

  if (jsEnabled(info)) {
    await opener.click();
    const dialog = page.getByRole("dialog", { name: "Suspend workspace" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(SUSPEND_TEXT);
    expect(await dialog.evaluate((d) => d.matches(":modal")), "opened modally").toBe(true);
    // Focus moves in, and neither Tab nor Shift+Tab takes it out.
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    for (const key of ["Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
      await page.keyboard.press(key);
      expect(await dialog.evaluate((d) => d.contains(document.activeElement)), `focus inside after ${key}`).toBe(true);
    }
    // Escape cancels and changes nothing; focus returns to the button that opened it.
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(opener).toBeFocused();
    await open(page, info, workspacePage);
    await expect(status.getByText("Active", { exact: true })).toBeVisible();

    // A refusal shows inside the dialog (the reason is required), which stays open.
    await opener.click();
    await dialog.getByRole("button", { name: "Suspend", exact: true }).click();
    await expect(dialog).toBeVisible();
    // Confirming acts.
    await dialog.getByLabel("Reason").fill("Unpaid invoice");
    await dialog.getByRole("button", { name: "Suspend", exact: true }).click();
  } else {
    // Without JavaScript the button leads to a confirmation page with the same words.
    await opener.click();
    await expect(page).toHaveURL(/\/confirm\/suspend-workspace\?/);
    await expect(page.getByRole("heading", { level: 1, name: "Suspend workspace" })).toBeVisible();
    await expect(page.getByText(SUSPEND_TEXT)).toBeVisible();
    // Cancel goes back, and nothing changed.
    await page.getByRole("link", { name: "Cancel" }).click();
    await expect(page).toHaveURL(workspacePage);
    await expect(status.getByText("Active", { exact: true })).toBeVisible();
    // Confirming acts.
    await opener.click();
    await page.getByLabel("Reason").fill("Unpaid invoice");
    await page.getByRole("button", { name: "Suspend", exact: true }).click();
  }
  await expect(page.getByRole("heading", { name: workspace })).toBeVisible();
  await expect(status.getByText("Suspended", { exact: true })).toBeVisible();
  await open(page, info, workspacePage);
  await expect(status.getByText("Suspended", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Reactivate workspace…" })).toBeVisible();
});

test("a crafted confirmation link is not shown from outside the console, and an unknown one is not found", async ({ page }, info) => {
  // Opened from the address bar (or a mail, another site), a link naming a target is not shown:
  // it goes to the page it would return to — not a foreign one.
  await open(page, info, "/confirm/block-member?workspace=Acme&account=x&back=%2F%2Fevil.example&text=Click%20me");
  await expect(page).not.toHaveURL(/\/confirm\//);
  expect(new URL(page.url()).host).toBe(new URL(info.project.use.baseURL ?? page.url()).host);
  await expect(page.getByRole("heading", { level: 1, name: "Block member" })).toHaveCount(0);
  await expect(page.getByText("Click me")).toHaveCount(0);
  // Naming nothing, the page says the action in its own words only.
  await open(page, info, "/confirm/block-member");
  await expect(page.getByRole("heading", { level: 1, name: "Block member" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Cancel" })).toHaveAttribute("href", "/");
  const response = await page.goto("/confirm/format-disk");
  expect(response?.status()).toBe(404);
});

test("by keyboard alone: invite, join, block through the confirmation, unblock", async ({ page: admin, newPage }, info) => {
  const workspace = `Keys${uniqueName()}`;
  const name = uniqueName();
  const email = `${name}@example.com`;
  await logInAsOperator(admin, info);
  await applyForWorkspace(admin, info, workspace, [`Operator <${OPERATOR.email}>`]);
  await expect(admin.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  await generateWorkspace(admin, info, workspace);

  // The admin invites, with the keyboard.
  await open(admin, info, `/w/${workspace}/members`);
  await admin.getByRole("button", { name: "Invite members" }).focus();
  await admin.keyboard.press("Enter");
  await expect(admin.getByRole("dialog", { name: "Invite members" })).toBeVisible();
  await admin.getByLabel("Email addresses").focus();
  await admin.keyboard.type(email);
  await admin.getByRole("button", { name: "Send invitations" }).focus();
  await admin.keyboard.press("Enter");
  await expect(admin.getByRole("table", { name: "Pending invitations" }).getByRole("row").filter({ hasText: email })).toBeVisible();

  // The invitee signs up, verifies, and joins from the link — pressing Enter on "Join".
  const member = await newPage();
  await signUpVerified(member, newPage, info, email, name);
  const invitation = linkIn(await readMail(newPage, info, email, MAIL.invitation(workspace)), "invitations");
  await open(member, info, invitation);
  await member.getByRole("button", { name: `Join ${workspace}` }).focus();
  await member.keyboard.press("Enter");
  await expect(member.getByRole("status").filter({ hasText: "You have joined the workspace" })).toBeVisible();

  // Block: Enter opens the confirmation, Tab reaches "Block", Enter confirms.
  await open(admin, info, `/w/${workspace}/members`);
  const row = () => admin.getByRole("table", { name: "Members" }).getByRole("row").filter({ hasText: email });
  // Opens the row's actions menu from the keyboard, unless it is open already.
  const openActions = async () => {
    const actions = row().getByRole("button", { name: `Actions for ${name}` });
    await actions.focus();
    if (!(await actions.evaluate((s) => (s.parentElement as HTMLDetailsElement).open))) {
      await admin.keyboard.press("Enter");
    }
  };
  await openActions();
  await row().getByRole("button", { name: `Block ${name}` }).focus();
  await admin.keyboard.press("Enter");
  if (jsEnabled(info)) {
    const dialog = admin.getByRole("dialog", { name: "Block member" });
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await admin.keyboard.press("Tab");
    await expect(dialog.getByRole("button", { name: "Block", exact: true })).toBeFocused();
  } else {
    await expect(admin.getByRole("heading", { level: 1, name: "Block member" })).toBeVisible();
    await admin.getByRole("button", { name: "Block", exact: true }).focus();
  }
  await admin.keyboard.press("Enter");
  await expect(row().getByText("Inactive", { exact: true })).toBeVisible();

  // Unblock the same way.
  await openActions();
  await row().getByRole("button", { name: `Unblock ${name}` }).focus();
  await admin.keyboard.press("Enter");
  if (jsEnabled(info)) {
    await admin.keyboard.press("Tab");
    await expect(admin.getByRole("dialog", { name: "Unblock member" }).getByRole("button", { name: "Unblock", exact: true })).toBeFocused();
  } else {
    await admin.getByRole("button", { name: "Unblock", exact: true }).focus();
  }
  await admin.keyboard.press("Enter");
  await expect(row().getByText("Active", { exact: true })).toBeVisible();
});

test("a table's sort, filter and pages live in the URL; a changed page link is refused with a way back", async ({ page }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Pages");
  await open(page, info, `/w/${workspace}/members`);
  const emails = Array.from({ length: 24 }, (_, i) => `p${String(i).padStart(2, "0")}-${workspace.toLowerCase()}@example.com`);
  await inviteMembers(page, emails.join("\n"));
  await expect(page.getByRole("table", { name: "Pending invitations" }).getByRole("row").filter({ hasText: emails[23] })).toBeVisible();

  // Newest first, 20 to a page.
  await open(page, info, `/w/${workspace}/audit`);
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("columnheader", { name: /When/ })).toHaveAttribute("aria-sort", "descending");
  const pager = page.getByRole("navigation", { name: "Pagination" });
  await expect(pager).toContainText(/1–20 of \d+/);
  await expect(log.getByRole("row").nth(1)).toContainText(emails[23]);
  await pager.getByRole("link", { name: "Next" }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(pager).toContainText(/21–\d+ of \d+/);
  await pager.getByRole("link", { name: "Previous" }).click();
  await expect(pager).toContainText(/1–20 of \d+/);
  await expect(log.getByRole("row").nth(1)).toContainText(emails[23]);

  // Oldest first: the header says so, and the URL keeps it.
  await log.getByRole("link", { name: /When/ }).click();
  await expect(page).toHaveURL(/sort=time/);
  await expect(log.getByRole("columnheader", { name: /When/ })).toHaveAttribute("aria-sort", "ascending");
  await expect(log.getByRole("row").nth(1)).toContainText("workspace.generated");

  // A search keeps the order and starts from the first page.
  await page.getByLabel("Search").fill(emails[3]);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/sort=time/);
  await expect(log.getByRole("row")).toHaveCount(2);
  await expect(pager).toContainText("1–1 of 1");

  // A page link that was changed, or an unknown column: a message and a way back, never a crash.
  await open(page, info, `/w/${workspace}/audit?cursor=a.-time.zz.i5`);
  await expect(page.getByRole("alert").filter({ hasText: "this page link is not valid" })).toBeVisible();
  await page.getByRole("link", { name: "Show the list from the start" }).click();
  await expect(pager).toContainText(/1–20 of \d+/);
  await open(page, info, `/w/${workspace}/audit?sort=password`);
  await expect(page.getByRole("alert").filter({ hasText: "is not a column this list can be sorted by" })).toBeVisible();
});

import { Page, TestInfo } from "@playwright/test";
import {
  addApp,
  bundleDir,
  createMiniProgram,
  confirmAction,
  expect,
  goToSection,
  jsEnabled,
  newMember,
  open,
  operatorsOwnWorkspace,
  signUpVerified,
  studioUpload,
  test,
  uniqueName,
} from "./helpers";

/** Opens `title` of the mini program's release panel (a dialog, or the same form in the page). */
async function releaseForm(page: Page, title: string) {
  await page.getByRole("button", { name: title }).click();
  return page.getByRole("dialog", { name: title });
}

/** Opens the application of the Approvals list whose row has `text`. */
async function openApplication(page: Page, info: TestInfo, workspace: string, text: string, query = "") {
  await open(page, info, `/w/${workspace}/approvals${query}`);
  const row = page.getByRole("table", { name: "Applications" }).getByRole("row").filter({ hasText: text }).first();
  await row.getByRole("link").click();
}

test("a version is published through review, a removal is withdrawn and rejected, and a member request lets a person in", async ({ page, newPage }, info) => {
  test.setTimeout(180_000);
  const workspace = await operatorsOwnWorkspace(page, info, "Review");
  const [mia] = await newMember(page, newPage, info, workspace, "Mini Program Admin");
  const [rex, rexName] = await newMember(page, newPage, info, workspace, "Workspace Reviewer");

  // The admin adds an App; the Mini Program Admin creates a mini program; the Studio uploads 1.0.0.
  const key = await addApp(page, info, workspace, "Super App", "com.example.super");
  const id = await createMiniProgram(mia, info, workspace, "Coupons");
  const mpPath = new URL(mia.url()).pathname;
  const src = bundleDir();
  const base = new URL(page.url()).origin;
  expect(studioUpload(base, key, id, "1.0.0", src).ok).toBe(true);

  // Applying for publishing review: the App is required; then the version is In review.
  await open(mia, info, mpPath);
  let form = await releaseForm(mia, "Apply for publishing review");
  await expect(form.getByLabel("Version")).toHaveValue("1.0.0");
  await form.getByRole("button", { name: "Apply for publishing review" }).click();
  await expect(mia.getByRole("alert").filter({ hasText: "Apps: choose at least one App" }).first()).toBeVisible();
  form = mia.getByRole("dialog", { name: "Apply for publishing review" });
  await form.getByLabel("Super App").check();
  await form.getByLabel("Note").fill("First release");
  await form.getByRole("button", { name: "Apply for publishing review" }).click();
  await expect(mia.getByRole("heading", { level: 1, name: "Apply for publishing review" })).toBeVisible();
  await expect(mia.getByRole("main")).toContainText("Pending");
  await expect(mia.getByRole("main")).toContainText("First release");
  // The applicant can't decide it (two-person rule): there are no decide buttons for her.
  await expect(mia.getByRole("button", { name: "Approve…" })).toHaveCount(0);

  // The Reviewer has a notification, finds it on the Approvals page, and approves it.
  await open(rex, info, `/w/${workspace}`);
  await expect(rex.getByRole("link", { name: /Notifications\s*1 unread/ })).toBeVisible();
  await goToSection(rex, "Approvals");
  const rows = rex.getByRole("table", { name: "Applications" }).getByRole("row");
  await expect(rows.filter({ hasText: "Coupons" })).toContainText("Pending");
  await rows.filter({ hasText: "Coupons" }).getByRole("link", { name: "Apply for publishing review" }).click();
  await confirmAction(rex, info, rex.getByRole("button", { name: "Approve…" }), "Approve application", "Approving takes effect at once", "Approve");
  await expect(rex.getByRole("main").getByText("Approved", { exact: true }).first()).toBeVisible();
  await expect(rex.getByRole("main")).toContainText("released to Super App");

  // The applicant sees the notification; the version is Released.
  await open(mia, info, "/");
  await mia.getByRole("link", { name: /Notifications/ }).click();
  await expect(mia.getByRole("link", { name: /Your application “Apply for publishing review” \(Coupons 1\.0\.0\) was approved/ })).toBeVisible();
  await open(mia, info, mpPath);
  await expect(mia.getByRole("table", { name: "Versions" }).getByRole("row").filter({ hasText: "1.0.0" })).toContainText("Released");
  await expect(mia.getByRole("region", { name: "Release" }).getByRole("region", { name: "Super App" })).toContainText("1.0.0 (since");

  // A removal: applied for, withdrawn, applied for again, rejected with a reason she reads.
  form = await releaseForm(mia, "Apply for removal");
  await form.getByLabel("Reason", { exact: true }).fill("The campaign is over");
  await form.getByRole("button", { name: "Apply for removal" }).click();
  await expect(mia.getByRole("heading", { level: 1, name: "Apply for removal" })).toBeVisible();
  await confirmAction(mia, info, mia.getByRole("button", { name: "Withdraw…" }), "Withdraw application", "The application is withdrawn", "Withdraw");
  await expect(mia.getByRole("main").getByText("Withdrawn", { exact: true }).first()).toBeVisible();
  await open(mia, info, mpPath);
  form = await releaseForm(mia, "Apply for removal");
  await form.getByLabel("Reason", { exact: true }).fill("The campaign is really over");
  await form.getByRole("button", { name: "Apply for removal" }).click();
  await expect(mia.getByRole("heading", { level: 1, name: "Apply for removal" })).toBeVisible();
  const removalUrl = mia.url();
  await openApplication(rex, info, workspace, "Mini Program Removal", "?category=removal&status=pending");
  await rex.getByRole("button", { name: "Reject…" }).click();
  const reject = jsEnabled(info) ? rex.getByRole("dialog", { name: "Reject application" }) : rex.getByRole("main");
  // Blank (spaces only) passes the browser's check but not the server's, which names the field.
  await reject.getByLabel("Reason", { exact: true }).fill("   ");
  await reject.getByRole("button", { name: "Reject", exact: true }).click();
  await expect(rex.getByRole("alert").filter({ hasText: "Reason: is required" }).first()).toBeVisible();
  await reject.getByLabel("Reason", { exact: true }).fill("Coupons are still in use this month");
  await reject.getByRole("button", { name: "Reject", exact: true }).click();
  await expect(rex.getByRole("main").getByText("Rejected", { exact: true }).first()).toBeVisible();
  await open(mia, info, new URL(removalUrl).pathname);
  await expect(mia.getByRole("main")).toContainText("Coupons are still in use this month");
  await expect(mia.getByRole("main")).toContainText(rexName);

  // My requests lists her applications with their states.
  await open(mia, info, "/requests");
  const mine = mia.getByRole("table", { name: "Your applications" });
  await expect(mine.getByRole("row").filter({ hasText: "Mini Program Publishing" })).toContainText("Approved");
  await expect(mine.getByRole("row").filter({ hasText: "Withdrawn" })).toHaveCount(1);

  // A member request: a new person asks by name; a Reviewer may not decide it; the admin approves.
  const zedName = uniqueName();
  const zed = await newPage();
  await signUpVerified(zed, newPage, info, `${zedName}@example.com`, zedName);
  await open(zed, info, "/requests");
  await zed.getByLabel("Workspace name").fill(workspace);
  await zed.getByRole("button", { name: "Apply to join" }).click();
  await expect(zed.getByRole("status").filter({ hasText: `If a workspace named ${workspace} exists` })).toBeVisible();
  await expect(zed.getByRole("table", { name: "Your applications" })).toContainText("Apply to join the workspace");
  await openApplication(rex, info, workspace, zedName, "?category=member");
  await expect(rex.getByRole("note").filter({ hasText: "Only a Workspace Admin may decide member requests." })).toBeVisible();
  await expect(rex.getByRole("button", { name: "Approve…" })).toHaveCount(0);
  await openApplication(page, info, workspace, zedName, `?q=${zedName}`);
  await confirmAction(page, info, page.getByRole("button", { name: "Approve…" }), "Approve application", "Approving takes effect at once", "Approve");
  await expect(page.getByRole("main")).toContainText("joined as Workspace Developer");
  await open(zed, info, `/w/${workspace}`);
  await expect(zed.getByRole("heading", { level: 1, name: workspace })).toBeVisible();
  await expect(zed.getByRole("main")).toContainText("Workspace Developer");
});

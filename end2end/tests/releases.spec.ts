import { Page, TestInfo } from "@playwright/test";
import {
  addApp,
  bundleDir,
  confirmAction,
  createMiniProgram,
  expect,
  jsEnabled,
  newMember,
  open,
  operatorsOwnWorkspace,
  studioUpload,
  test,
  uniqueName,
} from "./helpers";

/** The reviewer approves the pending publishing application of `version`. */
async function approve(rex: Page, info: TestInfo, workspace: string, version: string) {
  await open(rex, info, `/w/${workspace}/approvals?status=pending`);
  const row = rex.getByRole("table", { name: "Applications" }).getByRole("row").filter({ hasText: version }).first();
  await row.getByRole("link", { name: "Apply for publishing review" }).click();
  await confirmAction(rex, info, rex.getByRole("button", { name: "Approve…" }), "Approve application", "Approving takes effect at once", "Approve");
  await expect(rex.getByRole("main").getByText("Approved", { exact: true }).first()).toBeVisible();
}

/** The Mini Program Admin applies for publishing `version` to Super App at `rollout` percent. */
async function apply(mia: Page, info: TestInfo, path: string, rollout: string) {
  await open(mia, info, path);
  await mia.getByRole("button", { name: "Apply for publishing review" }).click();
  const form = mia.getByRole("dialog", { name: "Apply for publishing review" });
  await form.getByLabel("Super App").check();
  await form.getByLabel("Rollout").fill(rollout);
  await form.getByRole("button", { name: "Apply for publishing review" }).click();
  await expect(mia.getByRole("heading", { level: 1, name: "Apply for publishing review" })).toBeVisible();
}

test("a Mini Program Admin raises, pauses and rolls back a staged release, and reads the fleet's figures", async ({ page, newPage }, info) => {
  test.setTimeout(240_000);
  const workspace = await operatorsOwnWorkspace(page, info, "Rollout");
  const [mia, miaName] = await newMember(page, newPage, info, workspace, "Mini Program Admin");
  const [rex] = await newMember(page, newPage, info, workspace, "Workspace Reviewer");
  const key = await addApp(page, info, workspace, "Super App", "com.example.super");
  const access = await page.getByRole("region", { name: "Copy your new keys now" }).getByRole("textbox", { name: /Mini Program Accessing Key/ }).inputValue();
  const id = await createMiniProgram(mia, info, workspace, "Coupons");
  const mpPath = new URL(mia.url()).pathname;
  const base = new URL(page.url()).origin;
  const src = bundleDir();

  // 1.0.0 to everyone, then 1.1.0 to 10 % of installs.
  expect(studioUpload(base, key, id, "1.0.0", src).ok).toBe(true);
  await apply(mia, info, mpPath, "");
  await approve(rex, info, workspace, "1.0.0");
  expect(studioUpload(base, key, id, "1.1.0", src).ok).toBe(true);
  await apply(mia, info, mpPath, "10");
  await approve(rex, info, workspace, "1.1.0");

  await open(mia, info, mpPath);
  const app = mia.getByRole("region", { name: "Release" }).getByRole("region", { name: "Super App" });
  await expect(app).toContainText("1.0.0 (since");
  await expect(app).toContainText("1.1.0 to 10 % of installs");
  await expect(app).toContainText("rolling out");

  // Raise: below the current share is refused, naming the field; 25 % is taken.
  await app.getByRole("button", { name: "Raise rollout on Super App" }).click();
  let raise = mia.getByRole("dialog", { name: "Raise rollout" });
  await raise.getByLabel("Rollout").fill("5");
  await raise.getByRole("button", { name: "Raise", exact: true }).click();
  await expect(mia.getByRole("alert").filter({ hasText: "Rollout: must be above the current 10 %" }).first()).toBeVisible();
  raise = mia.getByRole("dialog", { name: "Raise rollout" });
  await raise.getByLabel("Rollout").fill("25");
  await raise.getByRole("button", { name: "Raise", exact: true }).click();
  await expect(app).toContainText("1.1.0 to 25 % of installs");
  await open(mia, info, mpPath);
  await expect(app).toContainText("1.1.0 to 25 % of installs");

  // Pause, behind a confirmation.
  await confirmAction(mia, info, app.getByRole("button", { name: "Pause rollout on Super App" }), "Pause rollout", "No install gets the candidate", "Pause");
  await expect(app).toContainText(`paused by ${miaName}`);
  await open(mia, info, mpPath);
  await expect(app).toContainText(`paused by ${miaName}`);
  await expect(app.getByRole("button", { name: "Resume rollout on Super App" })).toBeVisible();
  // The overview shows the Mini Program Admin what waits on them: the paused rollout, and a
  // version uploaded and not yet applied for.
  expect(studioUpload(base, key, id, "1.2.0", src).ok).toBe(true);
  await open(mia, info, `/w/${workspace}`);
  const waiting = mia.getByRole("region", { name: "Waiting on you" });
  await expect(waiting).toContainText(`Coupons 1.1.0 to Super App: 25 % of installs, paused by ${miaName}`);
  await expect(waiting).toContainText("Coupons 1.2.0, uploaded");
  await expect(waiting).toContainText("No application about these mini programs is waiting for a reviewer.");
  await waiting.getByRole("link", { name: "Coupons" }).first().click();
  await expect(mia).toHaveURL(new RegExp(`${mpPath}$`));

  // The fleet reports launches; the chart and its table show them.
  const now = new Date().toISOString();
  const events = [];
  for (let i = 0; i < 3; i++) events.push({ install: `install-${i}-${uniqueName()}`, mini_program: id, version: "1.0.0", kind: "launched", at: now });
  events.push({ install: "install-crash-0001", mini_program: id, version: "1.0.0", kind: "crashed", at: now });
  const r = await fetch(`${base}/api/container/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${access}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(r.status).toBe(202);
  await expect(async () => {
    await open(mia, info, mpPath);
    const launches = app.getByRole("table", { name: "Launches per day on Super App" });
    await expect(launches.getByRole("columnheader", { name: "1.0.0" })).toBeVisible({ timeout: 1_000 });
    await expect(launches.getByRole("row").nth(1)).toContainText("3", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(app.getByRole("img", { name: "Launches per day on Super App" })).toBeVisible();
  await expect(app.getByRole("table", { name: "Failure rate per day on Super App" })).toContainText("33.3%");

  // Roll back to 1.0.0, with a reason: the candidate is withdrawn.
  await app.getByRole("button", { name: "Roll back Super App to 1.0.0" }).click();
  const scope = jsEnabled(info) ? mia.getByRole("dialog", { name: "Roll back" }) : mia.getByRole("main");
  await expect(scope.getByText("Every install of this App gets this version")).toBeVisible();
  await scope.getByLabel("Reason", { exact: true }).fill("Crashes on older phones");
  await scope.getByRole("button", { name: "Roll back", exact: true }).click();
  await open(mia, info, mpPath);
  await expect(app).toContainText("None: every install gets the stable version.");
  await expect(app).toContainText("1.0.0 (since");
});

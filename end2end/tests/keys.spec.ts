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
  rowActions,
  studioUpload,
  test,
} from "./helpers";
import { Page, TestInfo } from "@playwright/test";

/** After "Save scope": with JavaScript a toast says so; without it the browser is back on the App's page. */
async function scopeSaved(page: Page, info: TestInfo) {
  if (jsEnabled(info)) {
    await expect(page.getByRole("status").filter({ hasText: "Upload Key scope saved." })).toBeVisible();
  } else {
    await expect(page.getByRole("heading", { level: 1, name: "Super App" })).toBeVisible();
  }
}

test("an Upload Key is limited to a mini program and an address range, the keys a blocked admin was shown are rotated in one step, and an unreleased version is retired", async ({ page, newPage }, info) => {
  test.setTimeout(180_000);
  const workspace = await operatorsOwnWorkspace(page, info, "Keys");

  // A second Workspace Admin makes the App, so they are shown its Upload Key.
  const [kim, kimName] = await newMember(page, newPage, info, workspace, "Workspace Admin");
  const coupons = await createMiniProgram(page, info, workspace, "Coupons");
  const tickets = await createMiniProgram(page, info, workspace, "Tickets");
  const key = await addApp(kim, info, workspace, "Super App", "com.example.super");
  const base = new URL(page.url()).origin;
  const src = bundleDir();

  // The App's page: the scope starts open; it is limited to Coupons and to 10.0.0.0/8.
  await open(page, info, `/w/${workspace}/apps`);
  await page.getByRole("table", { name: "Apps" }).getByRole("link", { name: "Super App" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Super App" })).toBeVisible();
  const appPath = new URL(page.url()).pathname;
  const details = page.getByRole("definition");
  await expect(details.filter({ hasText: /^Every mini program of the workspace$/ })).toBeVisible();
  await expect(details.filter({ hasText: /^Any address$/ })).toBeVisible();
  await page.getByRole("button", { name: "Edit Upload Key scope" }).click();
  let scope = page.getByRole("dialog", { name: "Edit Upload Key scope" });
  await scope.getByLabel("Coupons").check();
  await scope.getByLabel("Client address ranges").fill("not a range");
  await scope.getByRole("button", { name: "Save scope" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Client address ranges" }).first()).toBeVisible();
  await open(page, info, `${appPath}?upload-scope=1`);
  scope = page.getByRole("dialog", { name: "Edit Upload Key scope" });
  await scope.getByLabel("Coupons").check();
  await scope.getByLabel("Client address ranges").fill("10.0.0.0/8");
  await scope.getByRole("button", { name: "Save scope" }).click();
  await scopeSaved(page, info);
  await open(page, info, appPath);
  await expect(details.filter({ hasText: "10.0.0.0/8" })).toBeVisible();
  await expect(details.filter({ hasText: /^Coupons$/ })).toBeVisible();

  // The Studio, from 127.0.0.1, is refused by the rule; widened to it, Coupons takes the upload
  // and Tickets is still refused.
  let up = studioUpload(base, key, coupons, "1.0.0", src);
  expect(up.ok).toBe(false);
  expect(up.out).toContain("key_scope_address");
  await open(page, info, `${appPath}?upload-scope=1`);
  scope = page.getByRole("dialog", { name: "Edit Upload Key scope" });
  await scope.getByLabel("Client address ranges").fill("10.0.0.0/8\n127.0.0.1");
  await scope.getByRole("button", { name: "Save scope" }).click();
  await scopeSaved(page, info);
  up = studioUpload(base, key, coupons, "1.0.0", src);
  expect(up.out).toContain("Uploaded 1.0.0");
  up = studioUpload(base, key, tickets, "1.0.0", src);
  expect(up.ok).toBe(false);
  expect(up.out).toContain("key_scope_mini_program");

  // Kim is blocked: the Members page lists the Upload Key Kim was shown, and rotates it at once.
  await open(page, info, `/w/${workspace}/members`);
  const exposed = page.getByRole("table", { name: "Upload Keys a member who lost access could have copied" });
  await expect(page.getByText("No member who lost access was shown an Upload Key that still works.")).toBeVisible();
  const kimRow = page.getByRole("table", { name: "Members" }).getByRole("row").filter({ hasText: `${kimName}@example.com` });
  await confirmAction(page, info, (await rowActions(kimRow, kimName)).getByRole("button", { name: `Block ${kimName}` }), "Block member", "Are you sure you want to block the member?", "Block");
  await expect(kimRow.getByText("Inactive")).toBeVisible();
  await open(page, info, `/w/${workspace}/members`);
  const row = exposed.getByRole("row").filter({ hasText: kimName });
  await expect(row).toContainText("Blocked");
  await expect(row.getByRole("link", { name: "Super App" })).toBeVisible();
  await confirmAction(
    page,
    info,
    (await rowActions(row, `the keys ${kimName} was shown`)).getByRole("button", { name: `Rotate the Upload Keys ${kimName} was shown` }),
    "Rotate the Upload Keys they were shown",
    "The keys in use stop working at once, with no grace period",
    "Rotate now",
  );
  const fresh = page.getByRole("region", { name: "Copy your new keys now" }).getByRole("textbox", { name: /Mini Program Upload Key/ });
  await expect(fresh).toHaveValue(/^mpuk_/);
  const newKey = await fresh.inputValue();
  await open(page, info, `/w/${workspace}/members`);
  await expect(page.getByText("No member who lost access was shown an Upload Key that still works.")).toBeVisible();
  // The copy Kim could have kept no longer uploads; the new key keeps the scope and does.
  up = studioUpload(base, key, coupons, "1.1.0", src);
  expect(up.ok).toBe(false);
  expect(up.out).toContain("key_expired");
  up = studioUpload(base, newKey, coupons, "1.1.0", src);
  expect(up.out).toContain("Uploaded 1.1.0");

  // 1.1.0 was never released: retired, it leaves the list and a lower version can follow it.
  await open(page, info, `/w/${workspace}/mini-programs/${coupons}`);
  const versions = page.getByRole("table", { name: "Versions" });
  await expect(versions.getByRole("row").filter({ hasText: "1.1.0" })).toContainText("Uploaded");
  await confirmAction(
    page,
    info,
    (await rowActions(versions.getByRole("row").filter({ hasText: "1.1.0" }), "version 1.1.0")).getByRole("button", { name: "Retire version 1.1.0" }),
    "Retire version",
    "A retired version can't be brought back",
    "Retire",
  );
  // The list drops it once the retirement is done; only then is the page opened again (opening
  // it earlier would cancel the request still on its way).
  await expect(versions.getByRole("row").filter({ hasText: "1.1.0" })).toHaveCount(0);
  await open(page, info, `/w/${workspace}/mini-programs/${coupons}`);
  await expect(versions.getByRole("row").filter({ hasText: "1.1.0" })).toHaveCount(0);
  await expect(versions.getByRole("row").filter({ hasText: "1.0.0" })).toBeVisible();
  up = studioUpload(base, newKey, coupons, "1.0.5", src);
  expect(up.out).toContain("Uploaded 1.0.5");
  // Its number can't be used again.
  up = studioUpload(base, newKey, coupons, "1.1.0", src);
  expect(up.ok).toBe(false);
  expect(up.out).toContain("version_retired");
});

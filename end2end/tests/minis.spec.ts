import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addApp,
  bundleDir,
  expect,
  goToSection,
  jsEnabled,
  newMember,
  open,
  operatorsOwnWorkspace,
  studioUpload,
  test,
  uniqueName,
} from "./helpers";

test("a mini program is created, a developer assigned, a version uploaded with the Studio appears, and the Members page shows the assignment", async ({ page, newPage }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Minis");

  // A developer joins.
  const [member, dev] = await newMember(page, newPage, info, workspace, "Workspace Developer");
  const email = `${dev}@example.com`;

  // The admin creates a mini program (a refusal first names the field).
  await open(page, info, `/w/${workspace}`);
  await goToSection(page, "Mini Programs");
  await page.getByRole("button", { name: "Create mini program" }).click();
  const dialog = page.getByRole("dialog", { name: "Create mini program" });
  await dialog.getByLabel("Mini Program Name").fill("Coupons");
  await dialog.getByLabel("Category").selectOption("Shopping");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Coupons" })).toBeVisible();
  const id = new URL(page.url()).pathname.split("/").pop()!;

  // The developer sees no mini program until assigned.
  await open(member, info, `/w/${workspace}/mini-programs`);
  await expect(member.getByText("No mini programs to show yet.")).toBeVisible();
  await open(member, info, `/w/${workspace}/mini-programs/${id}`);
  await expect(member.getByRole("alert").filter({ hasText: "No such mini program" })).toBeVisible();

  // The assign form offers a page of the workspace's members; a search (the page's address here,
  // the form shows it once a workspace has more members than a page) narrows it.
  await open(page, info, `/w/${workspace}/mini-programs/${id}?member=${encodeURIComponent(dev.toUpperCase())}`);
  const find = page.getByRole("search", { name: "Find a member to assign" });
  await expect(find.getByLabel("Find a member")).toHaveValue(dev.toUpperCase());
  await expect(page.getByLabel("Member", { exact: true }).locator("option")).toHaveText([`${dev} (${email}) — Workspace Developer`]);
  await find.getByLabel("Find a member").fill("no-such-member");
  await find.getByRole("button", { name: "Find" }).click();
  await expect(page.getByRole("status").filter({ hasText: "No active member's username or email contains “no-such-member”." })).toBeVisible();
  await expect(page.getByLabel("Member", { exact: true }).locator("option")).toHaveCount(0);
  await open(page, info, `/w/${workspace}/mini-programs/${id}`);
  await expect(page.getByRole("search", { name: "Find a member to assign" })).toHaveCount(0);

  // Assigned as developer.
  await page.getByLabel("Member", { exact: true }).selectOption({ label: `${dev} (${email}) — Workspace Developer` });
  await page.getByLabel("Part", { exact: true }).selectOption({ label: "Developer" });
  await page.getByRole("button", { name: "Assign" }).click();
  await expect(page.getByRole("table", { name: "Members of this mini program" }).getByRole("row").filter({ hasText: dev })).toContainText("Developer");
  await open(page, info, `/w/${workspace}/members`);
  await expect(page.getByRole("row").filter({ hasText: email })).toContainText("Assigned to Mini Program: Coupons");
  await open(member, info, `/w/${workspace}/mini-programs`);
  await expect(member.getByRole("table", { name: "Mini programs" }).getByRole("link", { name: "Coupons" })).toBeVisible();

  // An App and its Upload Key; the Studio uploads a version; it shows in the list.
  const key = await addApp(page, info, workspace, "Super App", "com.example.super");
  const src = bundleDir();
  const base = new URL(page.url()).origin;
  const uploaded = studioUpload(base, key, id, "1.0.0", src, "First release");
  expect(uploaded.out).toContain("Uploaded 1.0.0");
  await open(member, info, `/w/${workspace}/mini-programs/${id}`);
  const versions = member.getByRole("table", { name: "Versions" });
  await expect(versions.getByRole("row").filter({ hasText: "1.0.0" })).toContainText("Uploaded");
  await expect(versions.getByRole("row").filter({ hasText: "1.0.0" })).toContainText("First release");
  if (jsEnabled(info)) {
    await expect(member.getByRole("heading", { level: 1, name: "Coupons" })).toBeVisible();
  }

  // The developer uploads the next version from the browser.
  const file = join(tmpdir(), `mpdp-bundle-${uniqueName()}.tar.gz`);
  execFileSync("tar", ["-czf", file, "-C", src, "."]);
  // The versions come first; uploading is a dialog after them.
  await expect(versions).toBeVisible();
  await member.getByRole("button", { name: "Upload a version" }).click();
  const upload = member.getByRole("dialog", { name: "Upload a version" });
  await expect(upload).toBeVisible();
  // The bundle field says how much of the workspace's room its bundles take.
  await expect(upload.getByLabel("Bundle", { exact: true })).toHaveAccessibleDescription(/This workspace holds \d+\.\d MiB of bundles, of the 4096\.0 MiB it may hold/);
  await upload.getByLabel("Version", { exact: true }).fill("1.1.0");
  await upload.getByLabel("Note", { exact: true }).fill("From the browser");
  await upload.getByLabel("Bundle", { exact: true }).setInputFiles(file);
  await upload.getByRole("button", { name: "Upload version" }).click();
  await expect(member.getByRole("status").filter({ hasText: "Version 1.1.0 uploaded." })).toBeVisible();
  await expect(versions.getByRole("row").filter({ hasText: "1.1.0" })).toContainText(`uploaded from the console by ${dev}`);
  await expect(versions.getByRole("row").filter({ hasText: "1.1.0" })).toContainText("Any");
  // A version that is not higher is refused, with the rule.
  await member.getByRole("button", { name: "Upload a version" }).click();
  await upload.getByLabel("Version", { exact: true }).fill("1.0.5");
  await upload.getByLabel("Bundle", { exact: true }).setInputFiles(file);
  await upload.getByRole("button", { name: "Upload version" }).click();
  await expect(member.getByRole("alert").filter({ hasText: "must be higher than 1.1.0" })).toBeVisible();
  // A bundle that names the oldest container able to run it says so in the list.
  const needs = bundleDir();
  writeFileSync(join(needs, "app.json"), '{"pages":["index"],"minContainerVersion":"2.4.0"}');
  expect(studioUpload(base, key, id, "1.2.0", needs).out).toContain("Uploaded 1.2.0");
  await open(member, info, `/w/${workspace}/mini-programs/${id}`);
  await expect(versions.getByRole("row").filter({ hasText: "1.2.0" })).toContainText("2.4.0 or later");
});

import {
  expect,
  goToSection,
  jsEnabled,
  open,
  operatorsOwnWorkspace,
  rowActions,
  test,
} from "./helpers";

test("an admin adds an App, sees both keys once and masked after, rotates the Upload Key and revokes a key", async ({ page }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Apps");

  // App Manage is in the workspace's navigation.
  await open(page, info, `/w/${workspace}`);
  await goToSection(page, "App Manage");
  await expect(page.getByText("No Apps yet.")).toBeVisible();

  // Add: a refusal names the field; then the App, with both keys shown once.
  await page.getByRole("button", { name: "Add App" }).click();
  const dialog = page.getByRole("dialog", { name: "Add App" });
  await dialog.getByLabel("App Name").fill("Super App");
  await dialog.getByLabel("iOS", { exact: true }).check();
  await dialog.getByLabel("iOS Bundle ID").fill("not a bundle id");
  await dialog.getByRole("button", { name: "Add App" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "iOS Bundle ID: must look like com.example.app" }).first()).toBeVisible();
  if (!jsEnabled(info)) {
    // Without JavaScript a refused form comes back empty: fill it again.
    await page.getByLabel("App Name").fill("Super App");
    await page.getByLabel("iOS", { exact: true }).check();
  }
  await page.getByLabel("iOS Bundle ID").fill("com.example.super");
  await page.getByRole("button", { name: "Add App", exact: true }).last().click();
  const fresh = page.getByRole("region", { name: "Copy your new keys now" });
  await expect(fresh).toBeVisible();
  const accessing = fresh.getByRole("textbox", { name: /Mini Program Accessing Key/ });
  const upload = fresh.getByRole("textbox", { name: /Mini Program Upload Key/ });
  await expect(accessing).toHaveValue(/^mpak_[A-Za-z0-9_-]{43}$/);
  await expect(upload).toHaveValue(/^mpuk_[A-Za-z0-9_-]{43}$/);
  const accessKey = await accessing.inputValue();

  // On the App's page, after a reload, the keys are masked.
  if (jsEnabled(info)) {
    await page.getByRole("link", { name: "Open the App" }).click();
  }
  await expect(page.getByRole("heading", { level: 1, name: "Super App" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Super App" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Copy your new keys now" })).toHaveCount(0);
  const keys = page.getByRole("table", { name: "Keys" });
  await expect(keys.getByRole("row")).toHaveCount(3);
  await expect(keys).toContainText(`mpak_…${accessKey.slice(-4)}`);
  expect(await page.content()).not.toContain(accessKey);
  await expect(page.getByText("you need to sign your mini program and upload it", { exact: false })).toBeVisible();

  // Rotate the Upload Key with a day's grace: a new key shown once; the old one ends later.
  await page.getByRole("button", { name: "Rotate the Upload Key" }).click();
  const rotate = page.getByRole("dialog", { name: "Rotate the Upload Key" });
  await rotate.getByLabel("Grace period").selectOption({ label: "24 hours" });
  await rotate.getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByRole("region", { name: "Copy your new keys now" }).getByRole("textbox", { name: /Mini Program Upload Key/ })).toHaveValue(/^mpuk_/);
  await open(page, info, new URL(page.url()).pathname);
  await expect(keys.getByRole("row")).toHaveCount(4);
  await expect(keys.getByRole("row").filter({ hasText: "Ending (grace period)" })).toHaveCount(1);

  // Revoke the Accessing Key, after the confirmation.
  const row = keys.getByRole("row").filter({ hasText: `mpak_…${accessKey.slice(-4)}` });
  const id = (await row.getByRole("cell").nth(2).innerText()).trim();
  await rowActions(row, `key ${id}`);
  await row.getByRole("button", { name: `Revoke key ${id}` }).click();
  if (jsEnabled(info)) {
    await page.getByRole("dialog", { name: "Revoke key" }).getByRole("button", { name: "Revoke", exact: true }).click();
  } else {
    await page.getByRole("button", { name: "Revoke", exact: true }).click();
  }
  await expect(keys.getByRole("row").filter({ hasText: `mpak_…${accessKey.slice(-4)}` })).toContainText("Revoked");

  // The list shows the App.
  await open(page, info, `/w/${workspace}/apps`);
  await expect(page.getByRole("table", { name: "Apps" }).getByRole("row").filter({ hasText: "Super App" })).toContainText("com.example.super");
});

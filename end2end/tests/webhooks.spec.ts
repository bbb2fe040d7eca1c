import { expect, goToSection, jsEnabled, open, operatorsOwnWorkspace, test } from "./helpers";

// A public address that nothing here answers: saving it contacts nobody; a delivery to it fails
// and is retried, as a receiver that is down would be.
const RECEIVER = "https://93.184.215.14/mpdp-hook";

test("an admin adds a webhook endpoint, reads its secret, sends a test event, re-sends it, disables and deletes the endpoint", async ({ page }, info) => {
  const workspace = await operatorsOwnWorkspace(page, info, "Hooks");

  // Webhooks is in the workspace's navigation.
  await open(page, info, `/w/${workspace}`);
  await goToSection(page, "Webhooks");
  await expect(page.getByText("No endpoints yet.")).toBeVisible();

  // A plain http:// URL is refused, naming the field and the rule; nothing is added.
  await page.getByRole("button", { name: "Add endpoint" }).click();
  let dialog = page.getByRole("dialog", { name: "Add endpoint" });
  await dialog.getByLabel("Endpoint URL").fill(RECEIVER.replace("https://", "http://"));
  await dialog.getByLabel("A member was blocked (member.blocked)").check();
  await dialog.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Endpoint URL: must start with https://" }).first()).toBeVisible();
  if (!jsEnabled(info)) {
    // Without JavaScript a refused form comes back empty: fill it again.
    dialog = page.getByRole("dialog", { name: "Add endpoint" });
    await dialog.getByLabel("A member was blocked (member.blocked)").check();
  }
  await dialog.getByLabel("Endpoint URL").fill(RECEIVER);
  await dialog.getByLabel("Description").fill("Release bot");
  await dialog.getByLabel("A version was uploaded (version.uploaded)").check();
  await dialog.getByRole("button", { name: "Add endpoint", exact: true }).click();
  if (jsEnabled(info)) {
    await page.getByRole("link", { name: "Open the endpoint" }).click();
  }

  // Its page: the events, and the signing secret behind a disclosure.
  await expect(page.getByRole("heading", { level: 1, name: RECEIVER })).toBeVisible();
  await expect(page.getByText("version.uploaded, member.blocked")).toBeVisible();
  await page.getByText("Show the signing secret").click();
  await expect(page.getByText(/^whsec_[A-Za-z0-9+/]{43}=$/)).toBeVisible();
  const endpointPage = new URL(page.url()).pathname;

  // A test event is queued and listed; re-sent, it is queued again.
  await page.getByRole("button", { name: "Send test event" }).click();
  if (jsEnabled(info)) {
    await expect(page.getByRole("status").filter({ hasText: "Test event queued." })).toBeVisible();
  }
  const deliveries = page.getByRole("table", { name: "Deliveries" });
  await open(page, info, endpointPage);
  await expect(deliveries.getByRole("row").filter({ hasText: "webhook.test" })).toHaveCount(1);
  await deliveries.getByRole("button", { name: /^Re-send delivery webhook\.test/ }).click();
  if (jsEnabled(info)) {
    await expect(page.getByRole("status").filter({ hasText: "Delivery queued again." })).toBeVisible();
  }
  await open(page, info, `${endpointPage}?state=queued`);
  await expect(page.getByLabel("State")).toHaveValue("queued");
  await expect(deliveries.getByRole("row").filter({ hasText: "webhook.test" })).toHaveCount(1);
  await open(page, info, `${endpointPage}?state=delivered`);
  await expect(page.getByText("No deliveries match.")).toBeVisible();

  // Disabled from the edit dialog.
  await open(page, info, endpointPage);
  await page.getByRole("button", { name: "Edit endpoint" }).click();
  const edit = page.getByRole("dialog", { name: "Edit endpoint" });
  await expect(edit.getByLabel("Endpoint URL")).toHaveValue(RECEIVER);
  await edit.getByLabel("Enabled: deliver events to this endpoint").uncheck();
  await edit.getByRole("button", { name: "Save endpoint" }).click();
  if (jsEnabled(info)) {
    await expect(page.getByRole("status").filter({ hasText: "Endpoint saved." })).toBeVisible();
  }
  await open(page, info, endpointPage);
  await expect(page.locator("dl.facts")).toContainText("Disabled");
  // Nothing is sent to it now: no test event; the waiting delivery ended failed, and a re-send
  // is refused, naming the rule.
  await expect(page.getByRole("button", { name: "Send test event" })).toHaveCount(0);
  await open(page, info, `${endpointPage}?state=failed`);
  await expect(deliveries.getByRole("row").filter({ hasText: "webhook.test" })).toHaveCount(1);
  await deliveries.getByRole("button", { name: /^Re-send delivery webhook\.test/ }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Enabled: the endpoint is disabled" }).first()).toBeVisible();
  await open(page, info, endpointPage);

  // Deleted, after the confirmation: the list is empty again.
  await page.getByRole("button", { name: "Delete endpoint" }).click();
  if (jsEnabled(info)) {
    await page.getByRole("dialog", { name: "Delete webhook endpoint" }).getByRole("button", { name: "Delete", exact: true }).click();
  } else {
    await page.getByRole("button", { name: "Delete", exact: true }).click();
  }
  await expect(page.getByRole("heading", { level: 1, name: "Webhooks" })).toBeVisible();
  await expect(page.getByText("No endpoints yet.")).toBeVisible();
});

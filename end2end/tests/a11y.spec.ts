import AxeBuilder from "@axe-core/playwright";
import { BrowserContext, Page, TestInfo } from "@playwright/test";
import { applyForWorkspace, expect, generateWorkspace, jsEnabled, logInAsOperator, newMember, open, OPERATOR, test, uniqueName } from "./helpers";

/**
 * Runs axe-core (WCAG 2 A and AA rules) on the page: no serious or critical violation. axe-core is
 * JavaScript, so without JavaScript it reads the same server render, as the same person, in a
 * second context that runs scripts but not the console's own (which stay blocked).
 */
async function expectAccessible(page: Page, info: TestInfo, path: string) {
  await open(page, info, path);
  let target = page;
  let reader: BrowserContext | undefined;
  if (!jsEnabled(info)) {
    reader = await page.context().browser()!.newContext({ javaScriptEnabled: true, storageState: await page.context().storageState() });
    await reader.route("**/pkg/**", (r) => (r.request().resourceType() === "stylesheet" ? r.continue() : r.abort()));
    target = await reader.newPage();
    await target.goto(page.url());
    await expect(target.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  }
  const results = await new AxeBuilder({ page: target }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  await reader?.close();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(bad, `accessibility of ${path}`).toEqual([]);
}

const ZEROS = "0".repeat(64);

test("every page a visitor can open passes axe-core", async ({ page }, info) => {
  for (const path of ["/", "/login", "/sign-up", "/forgot-password", `/verify-email/${ZEROS}`, `/reset-password/${ZEROS}`, `/invitations/${ZEROS}`, "/confirm/block-member", "/login/code", "/no/such/page"]) {
    await expectAccessible(page, info, path);
  }
});

test("every page of an operator who is also a Workspace Admin passes axe-core", async ({ page }, info) => {
  test.setTimeout(240_000); // some forty pages, each analysed by axe-core
  const workspace = `Ally${uniqueName()}`;
  await logInAsOperator(page, info);
  await applyForWorkspace(page, info, workspace, [`Operator <${OPERATOR.email}>`]);
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
  await generateWorkspace(page, info, workspace);
  const application = page.url();
  await open(page, info, `/operator/workspaces?q=${workspace}`);
  await page.getByRole("link", { name: workspace }).click();
  await expect(page.getByRole("heading", { name: workspace })).toBeVisible();
  const workspacePage = new URL(page.url()).pathname;
  // A mini program, and an application for one of its features.
  await open(page, info, `/w/${workspace}/mini-programs?create=1`);
  const create = page.getByRole("dialog", { name: "Create mini program" });
  await create.getByLabel("Mini Program Name").fill("Coupons");
  await create.getByLabel("Category").selectOption("Shopping");
  await create.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Coupons" })).toBeVisible();
  const miniProgram = new URL(page.url()).pathname;
  await open(page, info, `${miniProgram}?feature=1`);
  const feature = page.getByRole("dialog", { name: "Apply for feature activation" });
  await feature.getByLabel("Feature").selectOption({ label: "Camera" });
  await feature.getByRole("button", { name: "Apply for feature activation" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Apply for feature activation" })).toBeVisible();
  const applicationPage = new URL(page.url()).pathname;
  // A webhook endpoint, with a test event queued for it.
  await open(page, info, `/w/${workspace}/webhooks?add=1`);
  const add = page.getByRole("dialog", { name: "Add endpoint" });
  await add.getByLabel("Endpoint URL").fill("https://93.184.215.14/a11y-hook");
  await add.getByLabel("A member joined (member.joined)").check();
  await add.getByRole("button", { name: "Add endpoint" }).click();
  if (jsEnabled(info)) {
    await page.getByRole("link", { name: "Open the endpoint" }).click();
  }
  await expect(page.getByRole("heading", { level: 1, name: "https://93.184.215.14/a11y-hook" })).toBeVisible();
  const webhookPage = new URL(page.url()).pathname;
  await page.getByRole("button", { name: "Send test event" }).click();
  if (jsEnabled(info)) {
    await expect(page.getByRole("status").filter({ hasText: "Test event queued." })).toBeVisible();
  }
  await open(page, info, webhookPage);
  await expect(page.getByRole("table", { name: "Deliveries" }).getByRole("row").filter({ hasText: "webhook.test" })).toHaveCount(1);
  for (const path of [
    miniProgram,
    `${miniProgram}?feature=1`,
    applicationPage,
    `/w/${workspace}/approvals`,
    `/w/${workspace}/approvals?status=pending&sort=-finished`,
    "/requests",
    "/notifications",
    "/",
    "/account",
    "/account?new-token=1",
    "/device",
    "/device?code=BCDF-GHJK",
    "/workspaces",
    "/workspaces/apply",
    `/w/${workspace}`,
    `/w/${workspace}/members`,
    `/w/${workspace}/members?invite=1`,
    `/w/${workspace}/members?sort=-joined`,
    `/w/${workspace}/mini-programs`,
    `/w/${workspace}/mini-programs?create=1`,
    `/w/${workspace}/apps`,
    `/w/${workspace}/apps?add=1`,
    `/w/${workspace}/webhooks`,
    `/w/${workspace}/webhooks?add=1`,
    webhookPage,
    `${webhookPage}?edit=1`,
    `/w/${workspace}/general`,
    `/w/${workspace}/audit`,
    "/operator",
    "/operator/applications",
    new URL(application).pathname,
    "/operator/workspaces",
    workspacePage,
    "/operator/accounts",
    "/operator/sign-in",
    "/operator/sign-in?add=1",
    "/operator/change-requests",
    "/operator/outbox",
    "/operator/audit",
  ]) {
    await expectAccessible(page, info, path);
  }
});

for (const role of ["Workspace Reviewer", "Mini Program Admin", "Workspace Developer"]) {
  test(`every page a ${role} can open, or is refused, passes axe-core`, async ({ page: admin, newPage }, info) => {
    test.setTimeout(120_000); // a dozen pages and refusals, each analysed by axe-core
    const workspace = `Ally${uniqueName()}`;
    await logInAsOperator(admin, info);
    await applyForWorkspace(admin, info, workspace, [`Operator <${OPERATOR.email}>`]);
    await expect(admin.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
    await generateWorkspace(admin, info, workspace);
    const [member] = await newMember(admin, newPage, info, workspace, role);
    for (const path of ["/", "/account", "/workspaces", "/workspaces/apply", `/w/${workspace}`, `/w/${workspace}/members`, `/w/${workspace}/general`, `/w/${workspace}/audit`, `/w/${workspace}/mini-programs`, `/w/${workspace}/apps`, `/w/${workspace}/webhooks`, `/w/${workspace}/approvals`, "/requests", "/notifications"]) {
      await expectAccessible(member, info, path);
    }
  });
}

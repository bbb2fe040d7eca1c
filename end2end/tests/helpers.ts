import { BrowserContext, expect, Locator, Page, test as base, TestInfo } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A page in a browser context of its own (another person, or the operator), JavaScript as in the project. */
export type NewPage = () => Promise<Page>;

function watchErrors(page: Page, errors: string[]) {
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of (401|403|404|409|422|429)/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
}

/**
 * Every test fails if a browser logs an error (a failed hydration, a panic, a 500) — on `page`
 * and on every page `newPage` opens.
 */
export const test = base.extend<{ consoleErrors: string[]; newPage: NewPage }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      watchErrors(page, errors);
      await use(errors);
      expect(errors, "errors in the browser console").toEqual([]);
    },
    { auto: true },
  ],
  newPage: async ({ browser, consoleErrors }, use, info) => {
    const contexts: BrowserContext[] = [];
    await use(async () => {
      const context = await browser.newContext({ baseURL: info.project.use.baseURL, javaScriptEnabled: jsEnabled(info) });
      contexts.push(context);
      const page = await context.newPage();
      watchErrors(page, consoleErrors);
      return page;
    });
    for (const context of contexts) await context.close();
  },
});
export { expect };

export const PASSWORD = "amber otter 17";
export const NEW_PASSWORD = "violet canyon 88";
/** The platform operator the e2e server is started with (playwright.config.ts). */
export const OPERATOR = { username: "operator", email: "operator@example.com", password: "steady lantern 7" };

/** Subjects of the mails the console sends. */
export const MAIL = {
  verify: "Verify your MPDP email address",
  reset: "Reset your MPDP password",
  invitation: (workspace: string) => `You are invited to the MPDP workspace ${workspace}`,
};

export function uniqueName(): string {
  return `u${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export function jsEnabled(info: TestInfo): boolean {
  return info.project.use.javaScriptEnabled !== false;
}

/** Opens a page and, with JavaScript on, waits until it is hydrated (clicks before are lost). */
export async function open(page: Page, info: TestInfo, path: string) {
  await page.goto(path);
  if (jsEnabled(info)) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }
}

/** Fills and submits the sign-up form. */
export async function signUp(page: Page, info: TestInfo, email: string, username: string, password = PASSWORD) {
  await open(page, info, "/sign-up");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
}

/** The answer to every accepted sign-up, whether or not the address already had an account. */
export async function expectCheckInbox(page: Page, email: string) {
  const answer = page.getByRole("status").filter({ hasText: "Check your inbox." });
  await expect(answer).toContainText(`We sent a message to ${email}.`);
}

export async function logIn(page: Page, info: TestInfo, login: string, password: string) {
  await open(page, info, "/");
  await page.getByLabel("Email or username").fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

export async function logInAsOperator(page: Page, info: TestInfo) {
  await logIn(page, info, OPERATOR.username, OPERATOR.password);
  await expect(page.getByRole("heading", { name: `Welcome, ${OPERATOR.username}` })).toBeVisible();
}

export async function logOut(page: Page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to MPDP" })).toBeVisible();
}

/**
 * The body of the newest mail to `to` with `subject`. The e2e server has no SMTP, so mail waits
 * in the outbox: the operator reads it there, in a browser of their own.
 */
export async function readMail(newPage: NewPage, info: TestInfo, to: string, subject: string): Promise<string> {
  const operator = await newPage();
  await logInAsOperator(operator, info);
  await open(operator, info, `/operator/outbox?q=${encodeURIComponent(to)}`);
  await operator.getByRole("link", { name: subject, exact: true }).first().click();
  await expect(operator.getByRole("heading", { name: subject })).toBeVisible();
  const body = await operator.locator("pre.mail-body").innerText();
  await operator.context().close();
  return body;
}

/**
 * The link to `/<kind>/…` in a mail body, as a path of this server (the mail names the console
 * by its public URL, which is not the e2e server's).
 */
export function linkIn(body: string, kind: "verify-email" | "reset-password" | "invitations"): string {
  const link = body.match(new RegExp(`/${kind}/[0-9a-f]{64}(\\?\\S*)?`));
  expect(link, `a /${kind}/ link in the mail:\n${body}`).not.toBeNull();
  return link![0];
}

/** The verification link of the newest verification mail to `email`. */
export async function verificationLink(newPage: NewPage, info: TestInfo, email: string): Promise<string> {
  return linkIn(await readMail(newPage, info, email, MAIL.verify), "verify-email");
}

/**
 * Opens a verification link in a browser signed in to the account and confirms it (opening alone
 * changes nothing; the link proves the mailbox, the session the account).
 */
export async function verifyEmail(page: Page, info: TestInfo, link: string) {
  await open(page, info, link);
  await expect(page.getByRole("heading", { name: "Verify your email address" })).toBeVisible();
  await page.getByRole("button", { name: "Verify my email address" }).click();
}

/**
 * Opens a confirmation with `opener` and confirms it: with JavaScript in the modal dialog, without
 * it on the confirmation page — both stating `text` under `title`.
 */
export async function confirmAction(page: Page, info: TestInfo, opener: Locator, title: string, text: string, confirm: string) {
  await opener.click();
  let scope: Locator;
  if (jsEnabled(info)) {
    scope = page.getByRole("dialog", { name: title });
  } else {
    await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
    scope = page.getByRole("main");
  }
  await expect(scope.getByText(text)).toBeVisible();
  await scope.getByRole("button", { name: confirm, exact: true }).click();
}

/** Signs up, logs in, verifies the address from the mailed link, as a person would. */
export async function signUpVerified(
  page: Page,
  newPage: NewPage,
  info: TestInfo,
  email: string,
  username: string,
  password = PASSWORD,
) {
  await signUp(page, info, email, username, password);
  await expectCheckInbox(page, email);
  await logIn(page, info, username, password);
  await expect(page.getByRole("heading", { name: `Welcome, ${username}` })).toBeVisible();
  await verifyEmail(page, info, await verificationLink(newPage, info, email));
  await expect(page.getByRole("status").filter({ hasText: "Your email address is verified." })).toBeVisible();
  await expect(page.getByRole("heading", { name: `Welcome, ${username}` })).toBeVisible();
}

/** Applies for a workspace with these representatives ("Name <email>" each). */
export async function applyForWorkspace(
  page: Page,
  info: TestInfo,
  workspace: string,
  representatives: string[],
  scope = "5812",
  address = "1 Harbour Road",
) {
  await open(page, info, "/workspaces/apply");
  await page.getByLabel("Workspace Name").fill(workspace);
  await page.getByLabel("Scope of Business").fill(scope);
  await page.getByLabel("Business Address").fill(address);
  await fillRepresentatives(page, representatives);
  await page.getByRole("button", { name: "Submit application" }).click();
}

/** Applies as [`applyForWorkspace`] does, and waits until the application is submitted. */
export async function applyAndWait(page: Page, info: TestInfo, workspace: string, representatives: string[]) {
  await applyForWorkspace(page, info, workspace, representatives);
  await expect(page.getByRole("status").filter({ hasText: "Application submitted" })).toBeVisible();
}

/** Fills one representative row per "Name <email>", adding rows as a person would. */
export async function fillRepresentatives(page: Page, representatives: string[]) {
  for (const [i, rep] of representatives.entries()) {
    const [, name, email] = /^(.*)<(.*)>$/.exec(rep) ?? [rep, rep, ""];
    if (i > 0) {
      await page.getByRole("button", { name: "Add another representative" }).click();
    }
    await page.getByLabel(`Name of representative ${i + 1}`).fill(name.trim());
    await page.getByLabel(`Email of representative ${i + 1}`).fill(email.trim());
  }
}

/** The operator (signed in on `operator`) generates the workspace of a pending application. */
export async function generateWorkspace(operator: Page, info: TestInfo, workspace: string) {
  await open(operator, info, `/operator/applications?q=${workspace}`);
  await operator.getByRole("link", { name: workspace }).click();
  await expect(operator.getByRole("heading", { name: workspace })).toBeVisible();
  await operator.getByRole("button", { name: "Generate workspace" }).click();
  await expect(operator.getByRole("status").filter({ hasText: "Workspace generated" })).toBeVisible();
}

/**
 * The operator logs in, applies for a workspace named `prefix` and a unique suffix, naming
 * themselves its representative, and generates it: they are its Workspace Admin. Returns its name.
 */
export async function operatorsOwnWorkspace(page: Page, info: TestInfo, prefix: string): Promise<string> {
  const workspace = `${prefix}${uniqueName()}`;
  await logInAsOperator(page, info);
  await applyAndWait(page, info, workspace, [`Operator <${OPERATOR.email}>`]);
  await generateWorkspace(page, info, workspace);
  return workspace;
}

/** Follows the workspace's navigation (from any of its pages) to `section`, whose page is headed so. */
export async function goToSection(page: Page, section: string) {
  await page.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: section }).click();
  await expect(page.getByRole("heading", { level: 1, name: section })).toBeVisible();
}

/** Opens "Invite members" (a dialog; without JavaScript the same dialog shown in the page). */
export async function openInviteDialog(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Invite members" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite members" });
  await expect(dialog.getByLabel("Email addresses")).toBeVisible();
  return dialog;
}

/** Invites `emails` from the Members page (as Workspace Developer unless `role` says otherwise). */
export async function inviteMembers(page: Page, emails: string, role?: string) {
  const dialog = await openInviteDialog(page);
  await dialog.getByLabel("Email addresses").fill(emails);
  if (role) {
    await dialog.getByLabel("Role").selectOption({ label: role });
  }
  await dialog.getByRole("button", { name: "Send invitations" }).click();
}

/** Opens the "Actions" menu of `who`'s row in a table and returns the row. */
export async function rowActions(row: Locator, who: string): Promise<Locator> {
  const opener = row.getByRole("button", { name: `Actions for ${who}` });
  // Open it unless it is open already (a menu stays open after an action that was refused).
  if (!(await opener.evaluate((s) => (s.parentElement as HTMLDetailsElement).open))) {
    await opener.click();
  }
  return row;
}

/** Invites a new person with `role`; they sign up, verify and join. Returns their page. */
export async function newMember(admin: Page, newPage: NewPage, info: TestInfo, workspace: string, role: string): Promise<[Page, string]> {
  const name = uniqueName();
  const email = `${name}@example.com`;
  await open(admin, info, `/w/${workspace}/members`);
  await inviteMembers(admin, email, role);
  await expect(admin.getByRole("table", { name: "Pending invitations" }).getByRole("row").filter({ hasText: email })).toBeVisible();
  const page = await newPage();
  await signUpVerified(page, newPage, info, email, name);
  await open(page, info, linkIn(await readMail(newPage, info, email, MAIL.invitation(workspace)), "invitations"));
  await page.getByRole("button", { name: `Join ${workspace}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "You have joined the workspace" })).toBeVisible();
  return [page, name];
}

/** A bundle directory as a mini program's build leaves it: app.json and one page. */
export function bundleDir(): string {
  const src = mkdtempSync(join(tmpdir(), "mpdp-bundle-"));
  writeFileSync(join(src, "app.json"), '{"pages":["index"]}');
  mkdirSync(join(src, "pages"));
  writeFileSync(join(src, "pages", "index.js"), "Page({})");
  return src;
}

/**
 * Uploads `src` as `version` of a mini program with the release binary's `mpdp studio upload`,
 * signed with `key`. Returns whether it was accepted and what the command printed.
 */
export function studioUpload(base: string, key: string, miniProgram: string, version: string, src: string, note?: string): { ok: boolean; out: string } {
  const args = ["studio", "upload", "--server", base, "--mini-program", miniProgram, "--version", version];
  if (note) args.push("--note", note);
  args.push(src);
  const r = spawnSync("../target/release/mpdp", args, { env: { ...process.env, MPDP_UPLOAD_KEY: key } });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Creates a mini program from the Mini Programs page; returns its id (the page is then its page). */
export async function createMiniProgram(page: Page, info: TestInfo, workspace: string, name: string, category = "Shopping"): Promise<string> {
  await open(page, info, `/w/${workspace}/mini-programs?create=1`);
  const create = page.getByRole("dialog", { name: "Create mini program" });
  await create.getByLabel("Mini Program Name").fill(name);
  await create.getByLabel("Category").selectOption(category);
  await create.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return new URL(page.url()).pathname.split("/").pop()!;
}

/** Adds an Android App from App Manage; returns its Upload Key, shown once. */
export async function addApp(page: Page, info: TestInfo, workspace: string, name: string, androidPackage: string): Promise<string> {
  await open(page, info, `/w/${workspace}/apps?add=1`);
  const add = page.getByRole("dialog", { name: "Add App" });
  await add.getByLabel("App Name").fill(name);
  await add.getByLabel("Android", { exact: true }).check();
  await add.getByLabel("Android Package Name").fill(androidPackage);
  await add.getByRole("button", { name: "Add App" }).click();
  return page.getByRole("region", { name: "Copy your new keys now" }).getByRole("textbox", { name: /Mini Program Upload Key/ }).inputValue();
}

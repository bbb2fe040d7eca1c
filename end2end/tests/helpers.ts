import { expect, Page, test as base, TestInfo } from "@playwright/test";

/** Every test fails if the browser logs an error (a failed hydration, a panic, a 500). */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" && !/status of (401|404|409|422|429)/.test(m.text())) errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await use(errors);
      expect(errors, "errors in the browser console").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export const PASSWORD = "amber otter 17";
export const NEW_PASSWORD = "violet canyon 88";

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

export async function signUp(page: Page, info: TestInfo, email: string, username: string, password = PASSWORD) {
  await open(page, info, "/sign-up");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
}

export async function logIn(page: Page, info: TestInfo, login: string, password: string) {
  await open(page, info, "/");
  await page.getByLabel("Email or username").fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

export async function logOut(page: Page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to MPDP" })).toBeVisible();
}

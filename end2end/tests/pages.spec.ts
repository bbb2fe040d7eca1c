import { expect, jsEnabled, logInAsOperator, open, test } from "./helpers";

// Every console page, loaded afresh while signed in, renders and (with JavaScript) hydrates
// without an error in the browser console.
const pages: [string, string][] = [
  ["/", "Home"],
  ["/account", "Account"],
  ["/workspaces", "Workspaces"],
  ["/workspaces/apply", "Apply for a workspace"],
  ["/operator", "Operator"],
  ["/operator/applications", "Workspace applications"],
  ["/operator/workspaces", "Workspaces"],
  ["/operator/change-requests", "Change requests"],
  ["/operator/accounts", "Accounts"],
  ["/operator/outbox", "Outbox"],
  ["/operator/audit", "Audit log"],
  ["/invitations/0000000000000000000000000000000000000000000000000000000000000000", "Invitation"],
];

for (const [path, heading] of pages) {
  test(`${path} renders for a signed-in operator`, async ({ page }, info) => {
    await logInAsOperator(page, info);
    await open(page, info, path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  });
}

// The pages behind emailed links and the sign-up page render for visitors.
const visitorPages: [string, string][] = [
  ["/sign-up", "Create your MPDP account"],
  ["/forgot-password", "Forgot your password?"],
  ["/verify-email/0000000000000000000000000000000000000000000000000000000000000000", "Verify your email address"],
  ["/reset-password/0000000000000000000000000000000000000000000000000000000000000000", "Choose a new password"],
];

for (const [path, heading] of visitorPages) {
  test(`${path} renders for a visitor`, async ({ page }, info) => {
    await open(page, info, path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  });
}

// Each area of the console is a set of lazy-loaded WASM chunks. With JavaScript, moving between
// areas stays in the page: the area's chunks load and its page renders, without a full load.
test("moving between the areas of the console", async ({ page }, info) => {
  await logInAsOperator(page, info);
  await open(page, info, "/");
  if (jsEnabled(info)) await page.evaluate(() => ((window as any).sameDocument = true));
  const main = page.getByRole("navigation", { name: "Main" });
  const steps: [() => Promise<void>, string, number][] = [
    [() => main.getByRole("link", { name: "Operator" }).click(), "Operator", 1],
    [() => page.getByRole("navigation", { name: "Operator" }).getByRole("link", { name: "Outbox" }).click(), "Outbox", 1],
    [() => main.getByRole("link", { name: "Workspaces" }).click(), "Workspaces", 1],
    [() => main.getByRole("link", { name: "My requests" }).click(), "My requests", 1],
    [() => main.getByRole("link", { name: "Account" }).click(), "Account", 1],
    [() => main.getByRole("link", { name: "Home" }).click(), "Welcome, operator", 2],
  ];
  for (const [go, heading, level] of steps) {
    await go();
    await expect(page.getByRole("heading", { level, name: heading })).toBeVisible();
  }
  if (jsEnabled(info)) expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
});

// The front end's files, the lazy chunks and their loader included, are served under this
// build's fingerprint: cached for good, with their type, compressed.
test("the WASM, its lazy chunks and their loader are served under the build's id", async ({ request }) => {
  const home = await (await request.get("/")).text();
  const js = home.match(/"\/pkg\/([0-9a-f]+)", "mpdp"\)/);
  expect(js, "the build's directory in the page's script").not.toBeNull();
  const id = js![1];
  const dir = `/pkg/${id}/`;
  const manifest = await request.get(`${dir}__wasm_split_manifest.json`);
  expect(manifest.status(), "the split manifest").toBe(200);
  const chunks = [...new Set(Object.values((await manifest.json()) as Record<string, string[]>).flat())].map(
    (c) => `${c}.wasm`,
  );
  expect(chunks.length, "the lazy areas' chunks").toBeGreaterThan(0);
  const main = await (await request.get(`${dir}mpdp.js`)).text();
  const loader = main.match(/["']\.\/(__wasm_split[^"']*\.js)["']/);
  expect(loader, "the chunk loader imported by the main script").not.toBeNull();
  const files: [string, string][] = [
    ["mpdp.wasm", "application/wasm"],
    ...chunks.map((c): [string, string] => [c, "application/wasm"]),
    [loader![1], "text/javascript"],
  ];
  for (const [file, type] of files) {
    const r = await request.get(`${dir}${file}`, { headers: { "accept-encoding": "br" } });
    expect(r.status(), file).toBe(200);
    expect(r.headers()["content-type"], file).toBe(type);
    expect(r.headers()["content-encoding"], file).toBe("br");
    expect(r.headers()["cache-control"], file).toContain("immutable");
  }
  // Another build's id finds nothing, so a browser never mixes files of two builds.
  expect((await request.get(`/pkg/not-${id}/${chunks[0]}`)).status()).toBe(404);
});

// A page's head asks for the stylesheet only: nothing the first paint does not need competes
// with it. The WASM starts once the page is painted, and a first page fetches at most five WASM
// files (the main one, its area's, the chunks its area shares with the others).
for (const [path, operator] of [["/", false], ["/operator/accounts", true]] as const) {
  test(`${path} preloads nothing and fetches at most five WASM files`, async ({ page, newPage }, info) => {
    if (operator) {
      // Logged in elsewhere, so that this page's browser has fetched nothing yet.
      const other = await newPage();
      await logInAsOperator(other, info);
      await page.context().addCookies(await other.context().cookies());
    }
    const head = (await (await page.request.get(path)).text()).split("</head>")[0];
    expect(head.match(/<link[^>]*rel="(?:preload|modulepreload|prefetch)"[^>]*>/g) ?? [], "preloads in the head").toEqual([]);
    if (!jsEnabled(info)) return;
    const wasm: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
    });
    await open(page, info, path);
    expect(wasm.length, `WASM files fetched: ${wasm.join(", ")}`).toBeGreaterThan(0);
    expect(wasm.length, `WASM files fetched: ${wasm.join(", ")}`).toBeLessThanOrEqual(5);
  });
}

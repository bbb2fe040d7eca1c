//! Runs the real `mpdp` binary on 127.0.0.1:0 with its own data directory, and talks to it over
//! HTTP like the browser and the command line do.

#![allow(dead_code)]

pub mod load;
pub mod minis;
pub mod seaweed;
pub mod workspace;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;

/// The binary under test: the one cargo built for these tests, or the one `MPDP_TEST_BIN` names
/// (CI runs the Studio reproductions against the release binary this way).
pub fn bin() -> String {
    std::env::var("MPDP_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mpdp").to_string())
}

/// A data directory of its own for one test, removed when dropped.
pub struct DataDir(tempfile::TempDir);

impl DataDir {
    pub fn new() -> DataDir {
        DataDir(tempfile::Builder::new().prefix("mpdp-it-").tempdir().unwrap())
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos}-{}", N.fetch_add(1, Ordering::SeqCst))
}

pub struct Server {
    child: Child,
    /// The server's standard input, and the lines of its standard output (read by a thread of
    /// their own, so every wait for one has a deadline): to move its clock (`--test-clock`).
    clock: std::sync::Mutex<(std::process::ChildStdin, std::sync::mpsc::Receiver<String>)>,
    pub base: String,
    /// Where `/metrics` is served, when the server was started with `--metrics-listen`.
    pub metrics: Option<String>,
    pub log: PathBuf,
    /// A signed-in platform operator (set by `server_with_operator`), which `person` uses to
    /// read verification links from the outbox.
    pub op: Option<reqwest::Client>,
    /// The data directory of a server started on one of its own (deleted after the server has
    /// stopped, when it is dropped).
    own_dir: Option<DataDir>,
}

impl Server {
    /// The server process's id (to read its memory from /proc).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Server {
    /// A server on a data directory of its own: for a test that does not look into it or start
    /// another server on it.
    pub fn start(extra: &[&str]) -> Server {
        let dir = DataDir::new();
        Server::start_in(&dir, extra).owning(dir)
    }

    /// A server on `dir`.
    pub fn start_in(dir: &DataDir, extra: &[&str]) -> Server {
        Server::start_with_env(dir, extra, &[])
    }

    /// Keeps `dir` with the server: deleted when the server is dropped, after it has stopped.
    pub fn owning(mut self, dir: DataDir) -> Server {
        self.own_dir = Some(dir);
        self
    }

    /// [`Server::start_in`] with these environment variables set for the server.
    pub fn start_with_env(dir: &DataDir, extra: &[&str], env: &[(String, String)]) -> Server {
        let log = dir.path().join(format!("server-{}.log", rand_suffix()));
        // Tests sign many people up from 127.0.0.1; a test of that limit passes its own value
        // (a later flag wins).
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--account-requests-per-address", "10000", "--test-clock"])
            .args(extra)
            .env_remove("MPDP_PUBLIC_URL")
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start mpdp");
        let lines = lines_of(child.stdout.take().unwrap());
        let mut metrics = None;
        let deadline = std::time::Instant::now() + START_WITHIN;
        let base = loop {
            match lines.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("MPDP metrics listening on ") {
                        metrics = Some(url.trim().to_string());
                    }
                    if let Some(url) = line.strip_prefix("MPDP console listening on ") {
                        break url.trim().to_string();
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "mpdp did not start ({}): {}",
                        if matches!(e, std::sync::mpsc::RecvTimeoutError::Timeout) { "nothing within the deadline" } else { "it exited" },
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        let stdin = child.stdin.take().unwrap();
        Server { child, clock: std::sync::Mutex::new((stdin, lines)), base, metrics, log, op: None, own_dir: None }
    }

    /// Moves the server's clock forward by `by`, as if that much time had passed; returns once
    /// the server says it has.
    pub fn advance(&self, by: Duration) {
        use std::io::Write;
        let mut io = self.clock.lock().unwrap();
        let ms = by.as_millis();
        writeln!(io.0, "advance {ms}").unwrap();
        io.0.flush().unwrap();
        loop {
            match io.1.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.trim() == format!("clock advanced {ms}") => return,
                Ok(_) => continue,
                Err(e) => panic!("the server did not advance its clock: {e:?}\n{}", self.log()),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends SIGTERM and waits; returns (exit success, log).
    pub fn stop(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(30));
        (
            status,
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }

    /// Ends the process with SIGKILL, as a power cut would: no shutdown, nothing flushed.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// How long a server has to say where it listens.
const START_WITHIN: Duration = Duration::from_secs(120);

/// The lines `out` prints, read by a thread of their own (it ends when `out` closes).
pub fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line a helper process prints on its standard output (its "ready" line), or `None`
/// if it prints none within `within` or exits first; the rest of its output is read and dropped.
pub fn first_line(child: &mut Child, within: Duration) -> Option<String> {
    let lines = lines_of(child.stdout.take().expect("the helper's standard output is piped"));
    let line = lines.recv_timeout(within).ok();
    // Keep reading, so a helper that prints more never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    line
}

/// A helper process a test started (an SMTP sink, a webhook receiver, Prometheus), killed and
/// reaped when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `python3 tests/{script} {port} {dir}`, a helper of these tests, with `stdin` and its
/// standard output piped (`what` is the panic's message if python3 can't be run): the process,
/// and the first line it prints (empty if none within 60 s).
pub fn start_python_helper(script: &str, port: u16, dir: &DataDir, stdin: Stdio, what: &str) -> (KillOnDrop, String) {
    let mut child = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script))
        .arg(port.to_string())
        .arg(dir.path())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect(what);
    let line = first_line(&mut child, Duration::from_secs(60)).unwrap_or_default();
    (KillOnDrop(child), line)
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("mpdp did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The longest any request of a test may take.
pub const REQUEST_WITHIN: Duration = Duration::from_secs(120);

/// A browser-like client: keeps cookies, does not follow redirects, and drops a kept-alive
/// connection before the server closes it for idling (it waits 10 s for the next request).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        // A server or provider that stops answering fails the test, not the whole run.
        .timeout(REQUEST_WITHIN)
        .build()
        .unwrap()
}

/// Exactly `status` — and never a 500, whatever was expected.
pub fn expect(r: &Reply, status: u16, what: &str) {
    assert_ne!(r.status, 500, "{what}: a server error is always a failure: {}", r.body);
    assert_eq!(r.status, status, "{what}: {}", r.body);
}

/// The string `field` of each item of the JSON array `items`.
pub fn strings(items: &serde_json::Value, field: &str) -> Vec<String> {
    items.as_array().unwrap().iter().map(|x| x[field].as_str().unwrap().to_string()).collect()
}

/// The string fields `a` and `b` of each item of the JSON array `items`.
pub fn string_pairs(items: &serde_json::Value, a: &str, b: &str) -> Vec<(String, String)> {
    items.as_array().unwrap().iter().map(|x| (x[a].as_str().unwrap().to_string(), x[b].as_str().unwrap().to_string())).collect()
}

/// A refusal with `status` that names `field` (the form field at fault).
pub fn expect_field(r: &Reply, status: u16, field: &str) {
    assert_eq!((r.status.as_u16(), r.field().as_deref()), (status, Some(field)), "{}", r.body);
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
    /// The `field` of an AppError body.
    pub fn field(&self) -> Option<String> {
        self.json()
            .get("field")
            .and_then(|f| f.as_str())
            .map(str::to_string)
    }
    pub fn kind(&self) -> String {
        self.json()["kind"].as_str().unwrap_or_default().to_string()
    }
}

/// Calls a server function the way the console's own client does (form-encoded POST).
pub async fn call(
    client: &reqwest::Client,
    server: &Server,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Reply {
    call_with(client, server, endpoint, form, HeaderMap::new()).await
}

pub async fn call_with(
    client: &reqwest::Client,
    server: &Server,
    endpoint: &str,
    form: &[(&str, &str)],
    headers: HeaderMap,
) -> Reply {
    let res = client
        .post(server.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        .headers(headers)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

pub const PASSWORD: &str = "amber otter 17";

/// A sign-up form with these values.
pub fn sign_up_values<'a>(email: &'a str, username: &'a str, password: &'a str, confirm: &'a str) -> [(&'static str, &'a str); 4] {
    [("email", email), ("username", username), ("password", password), ("password_confirm", confirm)]
}

pub async fn sign_up(c: &reqwest::Client, server: &Server, email: &str, username: &str) -> Reply {
    call(c, server, "sign-up", &sign_up_values(email, username, PASSWORD, PASSWORD)).await
}

pub async fn log_in(
    client: &reqwest::Client,
    server: &Server,
    login: &str,
    password: &str,
) -> Reply {
    call(
        client,
        server,
        "log-in",
        &[("login", login), ("password", password)],
    )
    .await
}

/// `c` changes its password from `current` to `new`, confirmed as `confirm`.
pub async fn change_password(c: &reqwest::Client, server: &Server, current: &str, new: &str, confirm: &str) -> Reply {
    call(c, server, "change-password", &[("current_password", current), ("new_password", new), ("new_password_confirm", confirm)]).await
}

/// `c` asks for a password reset link for `email`.
pub async fn request_password_reset(c: &reqwest::Client, server: &Server, email: &str) -> Reply {
    call(c, server, "request-password-reset", &[("email", email)]).await
}

/// `c` sets a new password `new`, confirmed as `confirm`, with the reset link's `token`.
pub async fn reset_password(c: &reqwest::Client, server: &Server, token: &str, new: &str, confirm: &str) -> Reply {
    call(c, server, "reset-password", &[("token", token), ("new_password", new), ("new_password_confirm", confirm)]).await
}

/// The signed-in account's JSON, or null.
pub async fn me(client: &reqwest::Client, server: &Server) -> serde_json::Value {
    let r = call(client, server, "current-account", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Runs `mpdp operator create` with the password on stdin.
pub fn create_operator(
    dir: &DataDir,
    email: &str,
    username: &str,
    password: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args([
            "operator",
            "create",
            "--email",
            email,
            "--username",
            username,
            "--data-dir",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A real SMTP server on 127.0.0.1 (Python's aiosmtpd) that stores what it receives.
pub struct SmtpSink {
    _child: KillOnDrop,
    pub port: u16,
    pub dir: DataDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let port = free_port();
        let dir = DataDir::new();
        let (child, line) = start_python_helper("smtp_sink.py", port, &dir, Stdio::piped(), "python3 for the SMTP sink");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed? `bash .ci/setup` installs it)"
        );
        SmtpSink { _child: child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far: (recipients, raw message).
    pub fn messages(&self) -> Vec<(Vec<String>, String)> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let to = v["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect();
                (to, v["data"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Waits until `n` messages have arrived.
    pub fn wait_for(&self, n: usize) -> Vec<(Vec<String>, String)> {
        for _ in 0..200 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("expected {n} messages, got {:?}", self.messages());
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The platform operator's username and password (`server_with_operator` creates it).
pub const OPERATOR: (&str, &str) = ("operator", "steady lantern 7");

/// Creates an operator (server stopped), then starts the server and logs the operator in.
pub async fn server_with_operator(extra: &[&str]) -> (Server, reqwest::Client) {
    let dir = DataDir::new();
    let (server, op) = server_with_operator_in(&dir, extra).await;
    (server.owning(dir), op)
}

/// [`server_with_operator`] on `dir`.
pub async fn server_with_operator_in(dir: &DataDir, extra: &[&str]) -> (Server, reqwest::Client) {
    server_with_operator_env(dir, extra, &[]).await
}

/// [`server_with_operator`] with these environment variables set for the server.
pub async fn server_with_operator_env(dir: &DataDir, extra: &[&str], env: &[(String, String)]) -> (Server, reqwest::Client) {
    let out = create_operator(dir, "op@example.com", OPERATOR.0, OPERATOR.1);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut server = Server::start_with_env(dir, extra, env);
    let op = operator(&server).await;
    server.op = Some(op.clone());
    (server, op)
}

/// A new client, signed in as the platform operator.
pub async fn operator(server: &Server) -> reqwest::Client {
    let op = client();
    let r = log_in(&op, server, OPERATOR.0, OPERATOR.1).await;
    assert_eq!(r.status, 200, "the operator logs in: {}", r.body);
    op
}

/// Applies for a workspace; returns the reply.
pub async fn apply(c: &reqwest::Client, server: &Server, name: &str, reps: &str) -> Reply {
    call(
        c,
        server,
        "apply-for-workspace",
        &[
            ("name", name),
            ("mcc", "5812"),
            ("address", "1 Harbour Road, Singapore"),
            ("representatives", reps),
        ],
    )
    .await
}

/// `applicant` applies for the workspace `name` with the representatives `reps`, and the
/// operator `op` generates it; returns the application's id.
pub async fn apply_and_generate(op: &reqwest::Client, server: &Server, applicant: &reqwest::Client, name: &str, reps: &str) -> String {
    let r = apply(applicant, server, name, reps).await;
    expect(&r, 200, &format!("apply for {name}"));
    let id = r.json()["id"].as_str().unwrap().to_string();
    expect(&generate_workspace(op, server, &id).await, 200, &format!("generate {name}"));
    id
}

/// The operator `op` generates the workspace applied for by the application `id`.
pub async fn generate_workspace(op: &reqwest::Client, server: &Server, id: &str) -> Reply {
    call(op, server, "generate-workspace", &[("id", id)]).await
}

/// The operator `op` rejects the workspace application `id`, because `reason`.
pub async fn reject_workspace_application(op: &reqwest::Client, server: &Server, id: &str, reason: &str) -> Reply {
    call(op, server, "reject-workspace-application", &[("id", id), ("reason", reason)]).await
}

/// The applicant `c` withdraws its workspace application `id`.
pub async fn withdraw_workspace_application(c: &reqwest::Client, server: &Server, id: &str) -> Reply {
    call(c, server, "withdraw-workspace-application", &[("id", id)]).await
}

/// The operator's outbox: the messages in `state` (empty: any) matching `q`.
pub async fn list_outbox(op: &reqwest::Client, server: &Server, state: &str, q: &str) -> Reply {
    call(op, server, "list-outbox", &[("state", state), ("q", q)]).await
}

/// The text of the page at `url`, as `c` gets it.
pub async fn page_text(c: &reqwest::Client, url: &str) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// A confirmation page (`/confirm/…`) as served when opened from a console page, as a browser
/// says it was (`Sec-Fetch-Site: same-origin`).
pub async fn confirmation_page(c: &reqwest::Client, url: &str) -> String {
    c.get(url).header("sec-fetch-site", "same-origin").send().await.unwrap().text().await.unwrap()
}

/// A signed-in client for a new account `name@example.com`. With an operator on the server
/// (`server_with_operator`), the address is verified through the emailed link, as a person would.
pub async fn person(server: &Server, name: &str) -> reqwest::Client {
    let c = client();
    let email = format!("{name}@example.com");
    let r = sign_up(&c, server, &email, name).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = log_in(&c, server, name, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    if let Some(op) = &server.op {
        verify(op, server, &email).await;
    }
    c
}

/// A signed-in client for a new account whose address is not verified.
pub async fn unverified_person(server: &Server, name: &str) -> reqwest::Client {
    let c = client();
    let r = sign_up(&c, server, &format!("{name}@example.com"), name).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = log_in(&c, server, name, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c
}

/// The token of the newest link `…{path}{token}` mailed to `to`, read from the outbox by the
/// operator `op`.
pub async fn mailed_token(op: &reqwest::Client, server: &Server, to: &str, path: &str) -> String {
    let r = list_outbox(op, server, "", to).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for m in r.json()["items"].as_array().unwrap() {
        let body = m["body"].as_str().unwrap();
        if let Some(i) = body.find(path) {
            let token: String = body[i + path.len()..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            if token.len() == 64 {
                return token;
            }
        }
    }
    panic!("no {path} link mailed to {to}: {}", r.body);
}

/// Verifies `email` with the link from its verification mail, opened — as it must be — by a
/// browser signed in to that account (username: the email's local part, password `PASSWORD`).
pub async fn verify(op: &reqwest::Client, server: &Server, email: &str) {
    let token = mailed_token(op, server, email, "/verify-email/").await;
    let owner = client();
    let username = email.split('@').next().unwrap();
    let r = log_in(&owner, server, username, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&owner, server, "verify-email", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The `mpdp_session=…` pair among a reply's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mpdp_session=") || v.starts_with("__Host-mpdp_session="))
        .map(str::to_string)
}

/// The `mpdp_session=…` pair of a reply's session cookie, as a browser sends it back.
pub fn session_pair(headers: &HeaderMap) -> String {
    session_cookie(headers).expect("a session cookie").split(';').next().unwrap().to_string()
}

/// Who is signed in, asked with nothing but `cookie` (a cookie kept, replayed or forged): the
/// answer's status and body.
pub async fn account_by_cookie(server: &Server, cookie: &str) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .post(server.url("/api/current-account"))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A server on a data directory of its own, started with the flags `extra`, with ann
/// (ann@example.com) signed up, and a client signed in as her.
pub async fn server_with_ann(extra: &[&str]) -> (Server, reqwest::Client) {
    let dir = DataDir::new();
    let (server, c) = server_with_ann_in(&dir, extra).await;
    (server.owning(dir), c)
}

/// [`server_with_ann`] on `dir`.
pub async fn server_with_ann_in(dir: &DataDir, extra: &[&str]) -> (Server, reqwest::Client) {
    let server = Server::start_in(dir, extra);
    let c = client();
    signed_up(&c, &server, "ann@example.com", "ann").await;
    (server, c)
}

/// Signs up with `c` and logs it in (sign-up itself signs nobody in).
pub async fn signed_up(c: &reqwest::Client, server: &Server, email: &str, username: &str) {
    let r = sign_up(c, server, email, username).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = log_in(c, server, username, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The code an authenticator app holding `key` (base32, as the account page shows it) shows at
/// Unix time `at`.
#[allow(dead_code)]
pub fn authenticator_code(key: &str, at: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(key.replace(' ', "")).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(at).to_string()
}

#[allow(dead_code)]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// `c` turns two-factor authentication on, as a person would with an authenticator app (the
/// server's clock not moved); the app's key.
#[allow(dead_code)]
pub async fn turn_on_second_factor(c: &reqwest::Client, server: &Server) -> String {
    let r = call(c, server, "begin-second-factor", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = call(c, server, "my-second-factor", &[]).await.json()["setup"]["key"].as_str().unwrap().to_string();
    let r = call(c, server, "confirm-second-factor", &[("code", &authenticator_code(&key, unix_now()))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    key
}

/// Runs futures concurrently (no extra crate: spawn each on the test runtime).
pub async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
    T: Clone,
{
    // Borrowed futures can't be spawned; poll them together instead.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<T>> = vec![None; pinned.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

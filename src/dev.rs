//! `mpdp dev`: what the benchmark (`bench/run`) needs besides the server — seeding a data
//! directory through the real use cases, and measuring requests at a fixed rate or from a number
//! of concurrent clients.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum DevCommand {
    /// Fill a new data directory with realistic data through the console's own use cases: an
    /// operator, workspaces with members of every role, an App with keys per workspace, mini
    /// programs with uploaded and released versions, and applications in the first workspace.
    /// Prints what a benchmark needs as KEY=value lines. Run it while no server uses the
    /// directory.
    Seed(SeedArgs),
    /// Send HTTP requests at a fixed rate (open loop: each request is started on schedule
    /// whatever the answers, and timed from its start) or from a number of clients each sending
    /// the next request when the last is answered; print the rate and latency percentiles.
    Load(LoadArgs),
    /// Durable writes over HTTP: each client applies for the activation of its own feature of one
    /// mini program (so clients never collide) and withdraws it again, over and over, through the
    /// console's server functions. Every 2xx answer is one acknowledged write transaction. Prints
    /// `writes=… failed=… seconds=… wps=…`.
    Writes(WritesArgs),
    /// Junk uploads, as an attacker without the key would send them: each client posts a body of
    /// --mib MiB to the Studio API under a forged signature (the App's real key id, signed by
    /// another key), over and over, for --duration. Prints `uploads=… refused=… seconds=…`.
    Junk(JunkArgs),
    /// A fleet of a host App's installs: each polls the container list with its own install id,
    /// launches what it got and reports launches (and crashes, at --fail VERSION=RATE) to the
    /// events API. Prints `round=… mini_program=… version=… installs=…` per version and round.
    Fleet(crate::fleet::FleetArgs),
}

#[derive(Args)]
pub struct JunkArgs {
    /// The server, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    base: String,
    /// The App's Upload Key: only its id goes into the forged signatures.
    #[arg(long, env = "MPDP_UPLOAD_KEY", hide_env_values = true)]
    key: String,
    /// The mini program's id.
    #[arg(long)]
    mini_program: String,
    /// Concurrent clients, each sending its next upload when the last is answered.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    clients: u32,
    /// The size each upload declares and sends, in MiB.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=4096))]
    mib: u64,
    /// How long to send (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

#[derive(Args)]
pub struct WritesArgs {
    /// The server, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    base: String,
    /// The Cookie header of a signed-in session that may apply for features.
    #[arg(long)]
    cookie: String,
    /// The workspace's name.
    #[arg(long)]
    workspace: String,
    /// The mini program's id.
    #[arg(long)]
    mini_program: String,
    /// Comma-separated feature codes, one per client.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
    /// Concurrent clients, each sending its next request when the last is answered.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    clients: u32,
    /// How long to measure (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

#[derive(Args)]
pub struct SeedArgs {
    /// A new or empty directory to fill.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// How many workspaces.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    workspaces: u32,
    /// Members per workspace, roles in turn: Workspace Admin, Workspace Reviewer (who approves
    /// the releases), Mini Program Admin, Workspace Developer, …
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=1000))]
    members: u32,
    /// Feature-activation applications filed in the first workspace.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    approvals: u32,
    /// More members of the first workspace (accounts written straight to the store, verified,
    /// joined as Workspace Developers), for the Members page at scale.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    listed_members: u32,
    /// Size of each uploaded bundle, in KiB (incompressible content, so the file is this large).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=51_200))]
    bundle_kib: u32,
}

#[derive(Args)]
pub struct LoadArgs {
    /// The URL to request.
    #[arg(long)]
    url: String,
    /// The HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// A form body (`a=1&b=2`), sent as application/x-www-form-urlencoded.
    #[arg(long, value_name = "FORM", conflicts_with = "forms")]
    form: Option<String>,
    /// A file of form bodies, one per line: client i (or request i, with --rate) sends line i,
    /// wrapping — for requests that must differ, like 20 people logging in.
    #[arg(long, value_name = "FILE")]
    forms: Option<PathBuf>,
    /// Requests per second on a fixed schedule (open loop). Without it, --concurrency clients
    /// send as fast as they are answered.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    rate: Option<u32>,
    /// Concurrent clients (closed loop), when --rate is not given.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,
    /// How long to measure (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Requests sent before measuring (to open connections and warm caches), not counted.
    #[arg(long, default_value_t = 20)]
    warmup: u32,
}

pub fn run(command: DevCommand) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    match command {
        DevCommand::Seed(args) => rt.block_on(seed(args)),
        DevCommand::Load(args) => rt.block_on(load(args)),
        DevCommand::Writes(args) => rt.block_on(writes(args)),
        DevCommand::Junk(args) => rt.block_on(junk(args)),
        DevCommand::Fleet(args) => rt.block_on(crate::fleet::run(args)),
    }
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    if dir.join("mpdp.redb").exists() {
        bail!(
            "--data-dir {} already holds a data file: seeding needs a new or empty directory",
            dir.display()
        );
    }
    let lock = crate::lock_data_dir(dir).context("dev seed needs the server stopped")?;
    let store = crate::open_store(dir)?;
    let plan = app::server::seed::Plan {
        workspaces: args.workspaces as usize,
        members: args.members as usize,
        approvals: args.approvals as usize,
        listed_members: args.listed_members as usize,
        bundle_kib: args.bundle_kib as usize,
    };
    let seeded = app::server::seed::seed(store.clone(), dir.join("bundles"), &plan, |what| {
        eprintln!("seed: {what}")
    })
    .await
    .map_err(|e| anyhow::anyhow!("seeding failed: {e}"))?;
    store
        .close(Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(lock);
    for (k, v) in seeded.lines {
        println!("{k}={v}");
    }
    Ok(())
}

/// One request as configured on the command line.
struct Request {
    client: reqwest::Client,
    method: reqwest::Method,
    url: String,
    headers: reqwest::header::HeaderMap,
    /// Form bodies; request `i` sends `forms[i % len]` (none: no body).
    forms: Vec<String>,
    told: std::sync::atomic::AtomicBool,
}

impl Request {
    /// Sends it and reads the whole body; the time it took if the answer was 2xx or 3xx.
    async fn send(&self, i: usize) -> Option<Duration> {
        let started = Instant::now();
        let mut r = self
            .client
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone());
        if !self.forms.is_empty() {
            r = r
                .header("content-type", "application/x-www-form-urlencoded")
                .body(self.forms[i % self.forms.len()].clone());
        }
        let res = match r.send().await {
            Ok(res) => res,
            Err(e) => {
                self.note_failure(format!("no answer: {e}"));
                return None;
            }
        };
        let status = res.status();
        let body = res.bytes().await.ok()?;
        if status.is_success() || status.is_redirection() {
            return Some(started.elapsed());
        }
        self.note_failure(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)])));
        None
    }

    /// Tells of the first failure on standard error (the rest are only counted).
    fn note_failure(&self, what: String) {
        if !self.told.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("load: a request failed: {what}");
        }
    }
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let method = reqwest::Method::from_bytes(args.method.as_bytes())
        .map_err(|_| anyhow::anyhow!("--method {}: not an HTTP method", args.method))?;
    let mut headers = reqwest::header::HeaderMap::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--header {h}: write it as `Name: value`"))?;
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| anyhow::anyhow!("--header {h}: {name} is not a header name"))?,
            reqwest::header::HeaderValue::from_str(value.trim())
                .map_err(|_| anyhow::anyhow!("--header {h}: the value has characters a header may not"))?,
        );
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()
        .context("could not make an HTTP client")?;
    let forms = match (&args.form, &args.forms) {
        (Some(f), _) => vec![f.clone()],
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--forms {}: could not read it", path.display()))?;
            let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
            if lines.is_empty() {
                bail!("--forms {}: the file has no form lines", path.display());
            }
            lines
        }
        (None, None) => Vec::new(),
    };
    let req = Arc::new(Request { client, method, url: args.url.clone(), headers, forms, told: Default::default() });
    for i in 0..args.warmup {
        if req.send(i as usize).await.is_none() {
            bail!("--url {}: the warm-up request failed (not 2xx/3xx, or no answer)", args.url);
        }
    }
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    match args.rate {
        Some(rate) => {
            let period = Duration::from_secs_f64(1.0 / rate as f64);
            let mut n: u64 = 0;
            loop {
                let due = started + period.mul_f64(n as f64);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let req = req.clone();
                let i = n as usize;
                tasks.push(tokio::spawn(async move { vec![req.send(i).await] }));
                n += 1;
            }
        }
        None => {
            for client in 0..args.concurrency as usize {
                let req = req.clone();
                tasks.push(tokio::spawn(async move {
                    let mut times = Vec::new();
                    while Instant::now() < deadline {
                        times.push(req.send(client).await);
                    }
                    times
                }));
            }
        }
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut failed = 0u64;
    for t in tasks {
        for r in t.await.context("a request task failed")? {
            match r {
                Some(d) => times.push(d),
                None => failed += 1,
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if times.is_empty() {
        bail!("--url {}: no request succeeded ({failed} failed)", args.url);
    }
    times.sort();
    let pct = |p: f64| {
        let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1000.0
    };
    println!(
        "requests={} ok={} failed={failed} seconds={elapsed:.2} rps={:.1} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        times.len() as u64 + failed,
        times.len(),
        times.len() as f64 / elapsed,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        times.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    );
    Ok(())
}

async fn writes(args: WritesArgs) -> anyhow::Result<()> {
    if args.clients as usize > args.features.len() {
        bail!(
            "--clients {}: at most {} (one feature per client, from --features)",
            args.clients,
            args.features.len()
        );
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("could not make an HTTP client")?;
    let base = args.base.trim_end_matches('/').to_string();
    let post = {
        let (client, cookie) = (client.clone(), args.cookie.clone());
        move |endpoint: &'static str, form: Vec<(&'static str, String)>| {
            let request = client
                .post(format!("{base}/api/{endpoint}"))
                .header("accept", "application/json")
                .header("cookie", cookie.clone())
                .form(&form);
            async move {
                let res = request.send().await.map_err(|e| format!("{endpoint}: no answer: {e}"))?;
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                if status.is_success() {
                    Ok(body)
                } else {
                    Err(format!("{endpoint} {status}: {}", &body[..body.len().min(200)]))
                }
            }
        }
    };
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    for feature in args.features.iter().take(args.clients as usize).cloned() {
        let (post, workspace, mini) = (post.clone(), args.workspace.clone(), args.mini_program.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut first_error) = (0u64, 0u64, None);
            while Instant::now() < deadline {
                let applied = post(
                    "apply-feature",
                    vec![("workspace", workspace.clone()), ("id", mini.clone()), ("feature", feature.clone())],
                )
                .await;
                let id = match applied {
                    Ok(body) => body.trim().trim_matches('"').to_string(),
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                ok += 1;
                match post("withdraw-application", vec![("id", id)]).await {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (ok, failed, first_error)
        }));
    }
    let (mut ok, mut failed) = (0u64, 0u64);
    for t in tasks {
        let (o, f, e) = t.await.context("a client task failed")?;
        ok += o;
        failed += f;
        if let Some(e) = e {
            eprintln!("writes: {e}");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "writes={ok} failed={failed} seconds={seconds:.2} wps={:.1}",
        ok as f64 / seconds
    );
    if ok == 0 {
        bail!("no write succeeded ({failed} failed)");
    }
    Ok(())
}

async fn junk(args: JunkArgs) -> anyhow::Result<()> {
    use app::server::keys;
    use tokio::io::AsyncReadExt;
    let real = keys::parse_upload_key(&args.key).ok_or_else(|| anyhow::anyhow!("--key: not an Upload Key (mpuk_…)"))?;
    let key_id = keys::key_id(&real.verifying_key().to_bytes());
    let stranger = keys::parse_upload_key(&keys::new_upload_key().0).expect("a new key parses");
    let size = args.mib * 1024 * 1024;
    let url = format!("{}/api/studio/v1/mini-programs/{}/versions", args.base.trim_end_matches('/'), args.mini_program);
    let client = reqwest::Client::builder().build().context("could not make an HTTP client")?;
    let deadline = Instant::now() + args.duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, url, stranger, key_id) = (client.clone(), url.clone(), stranger.clone(), key_id.clone());
        let mini_program = args.mini_program.clone();
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut refused) = (0u64, 0u64);
            while Instant::now() < deadline {
                let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                let forged = keys::sign_upload(&stranger, &mini_program, "1.0.0", &"00".repeat(32), size, ts);
                let mut header = keys::SignatureHeader::parse(&forged).expect("our own header parses");
                header.key = key_id.clone();
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(tokio::io::repeat(0x5a).take(size)));
                sent += 1;
                match client.post(&url).header("mpdp-signature", header.render()).header("mpdp-version", "1.0.0").header("content-length", size).body(body).send().await {
                    Ok(r) if r.status().is_client_error() => refused += 1,
                    Ok(r) => eprintln!("junk: an upload was answered {}", r.status()),
                    // The server may close the connection once it has refused the request.
                    Err(_) => refused += 1,
                }
            }
            (sent, refused)
        }));
    }
    let (mut sent, mut refused) = (0, 0);
    for t in tasks {
        let (s, r) = t.await.context("a junk client failed")?;
        sent += s;
        refused += r;
    }
    println!("uploads={sent} refused={refused} seconds={:.2}", started.elapsed().as_secs_f64());
    if sent != refused {
        bail!("{} junk uploads were not refused", sent - refused);
    }
    Ok(())
}

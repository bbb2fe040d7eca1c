//! `mpdp`: the console and APIs (`serve`) and the operator's command line.

mod admin;
mod dev;
mod fleet;
mod http;
mod studio;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use app::server::store::{maintenance, Store, StoreError};
use app::server::clock::Clock;
use app::server::{state::AppState, Config};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mpdp",
    version,
    about = "MPDP — Mini Program Development Platform",
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the console and its APIs.
    Serve(ServeArgs),
    /// List the HTTP endpoints this build serves (server functions and routes), one per line.
    Routes,
    /// Manage platform operators.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Upload mini program versions and list them, with an App's Upload Key (the Studio API);
    /// verify a manifest and bundle from the container API as a container does.
    Studio {
        #[command(subcommand)]
        command: studio::StudioCommand,
    },
    /// Write a consistent backup (one tar archive) of a data directory. With the server running,
    /// the server writes it through its admin socket while it goes on taking writes; with the
    /// server stopped, this process reads the data file itself.
    Backup {
        #[command(flatten)]
        data: DataDir,
        /// The archive to write (a new file; an existing one is never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Bring a backup back into a new (missing or empty) data directory, checking every bundle.
    Restore {
        /// The archive `mpdp backup` wrote.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The directory to restore into; it must be missing or empty.
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
    },
    /// Verify a data directory (server stopped): the data file opens and passes redb's integrity
    /// check, and every version's bundle exists with its sha256. Lists orphan bundle files.
    /// Exits non-zero when something is wrong.
    Check {
        #[command(flatten)]
        data: DataDir,
    },
    /// Reclaim unused space in the data file (server stopped); reports the size before and after.
    Compact {
        #[command(flatten)]
        data: DataDir,
    },
    /// Check or repair what is published to the release target (--publish-to).
    Publish {
        #[command(subcommand)]
        command: PublishCommand,
    },
    /// For developing and benchmarking MPDP: seed a data directory; generate load.
    Dev {
        #[command(subcommand)]
        command: dev::DevCommand,
    },
}

#[derive(Args)]
struct DataDir {
    /// Directory holding the data file, mpdp.redb.
    #[arg(long, env = "MPDP_DATA_DIR", default_value = "./mpdp-data", value_name = "DIR")]
    data_dir: PathBuf,
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "MPDP_LISTEN", default_value = "127.0.0.1:3000", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataDir,
    /// The URL people use to reach the console (used in emails, the origin check, and — when it
    /// starts with https:// — for Secure cookies). Defaults to http://<listen address>.
    #[arg(long, env = "MPDP_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    public_url: Option<String>,
    /// How long without a request until a session ends; every request moves it on (e.g. 30m,
    /// 12h). Between 1s and 366d.
    #[arg(long, env = "MPDP_SESSION_IDLE", default_value = "12h", value_name = "DURATION", value_parser = parse_duration)]
    session_idle: Duration,
    /// How long after login a session ends, however active (e.g. 8h, 7d). Between 1s and 366d.
    #[arg(long, env = "MPDP_SESSION_MAX", default_value = "7d", value_name = "DURATION", value_parser = parse_duration)]
    session_max: Duration,
    /// Failed logins allowed per account within the login window.
    #[arg(long, env = "MPDP_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    login_failures_per_account: u32,
    /// Failed logins allowed per client address within the login window.
    #[arg(long, env = "MPDP_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    login_failures_per_address: u32,
    /// Length of the failed-login window, in seconds.
    #[arg(long, env = "MPDP_LOGIN_WINDOW_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    login_window_secs: u64,
    /// Sign-ups, verification resends and password reset requests allowed per client address
    /// per hour.
    #[arg(long, env = "MPDP_ACCOUNT_REQUESTS_PER_ADDRESS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    account_requests_per_address: u32,
    /// Changes a signed-in person may make to their own account and applications per hour
    /// (passkeys, two factors, tokens, password, address, workspace and join applications;
    /// taking something back is not counted). Each is kept and audited, so this bounds what one
    /// account can write.
    #[arg(long, env = "MPDP_ACCOUNT_CHANGES_PER_HOUR", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    account_changes_per_hour: u32,
    /// Reverse proxies in front of MPDP (addresses or CIDR ranges, comma separated). Only when
    /// the connection comes from one of these is the --client-address-header believed; from
    /// anyone else every forwarding header is ignored.
    #[arg(long, env = "MPDP_TRUSTED_PROXIES", value_name = "LIST", value_parser = parse_proxies, default_value = "")]
    trusted_proxies: ProxyList,
    /// The one header the trusted proxies put the client's address in: x-forwarded-for (nginx:
    /// `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`), x-real-ip (nginx:
    /// `proxy_set_header X-Real-IP $remote_addr;`), forwarded (RFC 7239), or any other header
    /// name. Every other forwarding header is ignored, since a proxy passes the ones it does not
    /// set on from the client. In a list the client is the right-most address that is not a
    /// trusted proxy.
    #[arg(long, env = "MPDP_CLIENT_ADDRESS_HEADER", value_name = "HEADER", default_value = "x-forwarded-for", value_parser = parse_address_header)]
    client_address_header: app::server::auth::client::AddressHeader,
    /// SMTP server for outgoing mail: smtp://host:port (plain), smtp://host:587?tls=required
    /// (STARTTLS) or smtps://host (TLS), with optional user:password@. Without it, mail is kept
    /// in the outbox for the operator to read.
    #[arg(long, env = "MPDP_SMTP_URL", value_name = "URL")]
    smtp_url: Option<String>,
    /// The largest bundle an upload may carry, in MiB.
    #[arg(long, env = "MPDP_MAX_BUNDLE_MIB", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=2048))]
    max_bundle_mib: u64,
    /// The bundles one workspace may hold, in MiB: every version stored there, retired ones
    /// too (their bundles stay). An upload past it is refused (507 storage_quota_exceeded).
    #[arg(long, env = "MPDP_WORKSPACE_BUNDLE_MIB", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=16_777_216))]
    workspace_bundle_mib: u64,
    /// The free space, in MiB, that uploads leave on the bundles' filesystem beyond what the
    /// uploads in progress may still write: past it they are refused (507 insufficient_storage)
    /// before their body is read, so that uploads cannot fill the disk the data file writes to.
    #[arg(long, env = "MPDP_MIN_FREE_DISK_MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=16_777_216))]
    min_free_disk_mib: u64,
    /// How often the fleet's reported events are written and each candidate judged by its
    /// release's health rule, in milliseconds.
    #[arg(long, env = "MPDP_FLEET_FLUSH_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(50..=600_000))]
    fleet_flush_ms: u64,
    /// Event batches (`POST /api/container/v1/events`) accepted per Accessing Key per hour.
    #[arg(long, env = "MPDP_EVENT_BATCHES_PER_KEY", default_value_t = 360_000, value_parser = clap::value_parser!(u32).range(1..))]
    event_batches_per_key: u32,
    /// Event batches accepted per client address per hour (IPv6: per /64).
    #[arg(long, env = "MPDP_EVENT_BATCHES_PER_ADDRESS", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    event_batches_per_address: u32,
    /// Connections served at once; more wait in the listen backlog until one closes. Each takes
    /// a file descriptor, so keep it under the process's limit (`ulimit -n`).
    #[arg(long, env = "MPDP_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_connections: u64,
    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "MPDP_MAIL_FROM",
        default_value = "MPDP <mpdp@localhost>",
        value_name = "MAILBOX"
    )]
    mail_from: String,
    #[command(flatten)]
    publish: PublishTo,
    /// Serve /metrics (Prometheus text format) on this address, e.g. 127.0.0.1:9300: a listener
    /// of its own, never --listen, so keep it where only your monitoring reaches it. Without it
    /// nothing is measured.
    #[arg(long, env = "MPDP_METRICS_LISTEN", value_name = "ADDR:PORT")]
    metrics_listen: Option<SocketAddr>,
    /// How log lines are written to standard error: text, for people, or json, one JSON object
    /// a line for a log collector (MPDP_LOG still chooses which lines).
    #[arg(long, env = "MPDP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    log_format: LogFormat,
    /// Require two-factor authentication of platform operators: an operator without it is
    /// refused the operator area until they turn it on on their account page.
    #[arg(long, env = "MPDP_REQUIRE_OPERATOR_SECOND_FACTOR")]
    require_operator_second_factor: bool,
    /// Let webhook endpoints be on private, loopback or link-local addresses, and use plain
    /// http:// (for receivers inside your own network). Off: only https:// to public addresses,
    /// checked when an endpoint is saved and again at every delivery.
    #[arg(long, env = "MPDP_WEBHOOKS_ALLOW_PRIVATE_NETWORKS")]
    webhooks_allow_private_networks: bool,
    /// For tests: the server's clock moves forward as told on standard input, a line
    /// `advance <milliseconds>` at a time (each answered `clock advanced <milliseconds>` on
    /// standard output), so rules about time are tested without waiting for it.
    #[arg(long, hide = true)]
    test_clock: bool,
}

/// Where releases are published for a CDN.
#[derive(Args, Clone)]
struct PublishTo {
    /// Publish bundles, icons and each App's signed release document after every change, for a
    /// CDN to serve containers from: s3://BUCKET/PREFIX (any S3-compatible storage; credentials
    /// and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION …) or
    /// file:///ABSOLUTE/DIRECTORY (for a plain web server).
    #[arg(long, env = "MPDP_PUBLISH_TO", value_name = "URL")]
    publish_to: Option<String>,
    /// The S3 endpoint for storage other than AWS (MinIO, SeaweedFS, R2 …), e.g.
    /// http://127.0.0.1:8333; http:// is allowed.
    #[arg(long, env = "MPDP_S3_ENDPOINT", value_name = "URL", requires = "publish_to")]
    s3_endpoint: Option<String>,
}

impl PublishTo {
    /// The target, when one is configured; a malformed one is refused with the rule it breaks.
    fn target(&self) -> anyhow::Result<Option<app::server::publish::Target>> {
        match &self.publish_to {
            None => Ok(None),
            Some(url) => app::server::publish::Target::parse(url, self.s3_endpoint.as_deref())
                .map(Some)
                .map_err(anyhow::Error::msg),
        }
    }
}

#[derive(Subcommand)]
enum PublishCommand {
    /// Compare the release target with what should be there: objects missing, changed by
    /// someone else, or there when they should not be. Exits non-zero when anything differs.
    Check(PublishArgs),
    /// Repair the release target: write what is missing or changed, delete what should not be
    /// there, publish what is behind. Running it again changes nothing.
    Sync(PublishArgs),
}

#[derive(Args)]
struct PublishArgs {
    #[command(flatten)]
    data: DataDir,
    /// With the server running, its own --publish-to is used (through its admin socket); with
    /// it stopped, give the target here.
    #[command(flatten)]
    publish: PublishTo,
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create a platform operator account. The password is asked for at a terminal, or read as
    /// one line from standard input otherwise. Run it while the server is stopped.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Clone, Debug)]
struct ProxyList(Vec<app::server::auth::client::IpNet>);

fn parse_proxies(raw: &str) -> Result<ProxyList, String> {
    app::server::auth::client::parse_trusted_proxies(raw).map(ProxyList)
}

fn parse_address_header(raw: &str) -> Result<app::server::auth::client::AddressHeader, String> {
    app::server::auth::client::parse_address_header(raw)
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{e}; write a duration like 30m, 12h or 7d"))?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(366 * 86_400) {
        return Err("must be between 1s and 366d".into());
    }
    Ok(d)
}

fn parse_public_url(raw: &str) -> Result<String, String> {
    Config::parse_public_url(raw)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(match &cli.command {
        Command::Serve(args) => args.log_format,
        _ => LogFormat::Text,
    });
    let result = match cli.command {
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")
            .and_then(|rt| rt.block_on(serve(args))),
        Command::Routes => {
            for line in http::endpoints() {
                println!("{line}");
            }
            Ok(())
        }
        Command::Operator {
            command:
                OperatorCommand::Create {
                    email,
                    username,
                    data,
                },
        } => create_operator(&data.data_dir, &email, &username),
        Command::Studio { command } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")
            .and_then(|rt| rt.block_on(studio::run(command))),
        Command::Backup { data, out } => backup(&data.data_dir, &out),
        Command::Restore { from, data_dir } => restore(&from, &data_dir),
        Command::Check { data } => check(&data.data_dir),
        Command::Compact { data } => compact(&data.data_dir),
        Command::Dev { command } => dev::run(command),
        Command::Publish { command } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")
            .and_then(|rt| rt.block_on(publish(command))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the message and its fields at
    /// the top level, and the request's span.
    Json,
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MPDP_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// Holds the data directory for this process: a second `mpdp` on the same directory is refused.
struct DataDirLock(#[allow(dead_code)] std::fs::File);

fn lock_data_dir(dir: &Path) -> anyhow::Result<DataDirLock> {
    if let Some(mode) = app::server::store::files::private_dir(dir).map_err(anyhow::Error::msg)? {
        tracing::warn!(
            data_dir = %dir.display(),
            was = %format!("{mode:o}"),
            "the data directory could be read by other users; restricted it to its owner (0700)"
        );
    }
    let path = dir.join("mpdp.lock");
    let file = app::server::store::files::open_lock_file(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "the data directory {} is in use by another running mpdp. Stop that process first, or choose another --data-dir.",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("could not lock the data directory"),
    }
}

fn open_store(dir: &Path) -> anyhow::Result<Store> {
    let path = dir.join(maintenance::DATA_FILE);
    Store::open(&path).map_err(|e| match e {
        StoreError::Db(cause) => anyhow::anyhow!(maintenance::cannot_open(&path, dir, &cause.to_string())),
        other => anyhow::anyhow!("{other}"),
    })
}

/// `mpdp backup`: through the running server's admin socket, or from the file when none runs.
fn backup(data_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let out = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()
            .context("could not read the current directory")?
            .join(out)
    };
    if let Some(summary) = admin::request_backup(data_dir, &out)? {
        println!("{} (online, by the running server)", admin::describe(&summary, &out));
        return Ok(());
    }
    let _lock = lock_data_dir(data_dir).with_context(|| {
        format!(
            "a server holds {} but its admin socket ({}) cannot be reached",
            data_dir.display(),
            data_dir.join(admin::SOCKET).display()
        )
    })?;
    let db = maintenance::open_data_file(data_dir)?;
    let summary = maintenance::backup_database(&db, data_dir, &out)?;
    drop(db);
    println!("{} (offline: no server was running)", admin::describe(&summary, &out));
    Ok(())
}

/// `mpdp publish check` and `mpdp publish sync`: through the running server's admin socket, or
/// with the target given when none runs.
async fn publish(command: PublishCommand) -> anyhow::Result<()> {
    let (args, repair) = match command {
        PublishCommand::Check(a) => (a, false),
        PublishCommand::Sync(a) => (a, true),
    };
    let data_dir = args.data.data_dir.clone();
    let answer = match tokio::task::spawn_blocking(move || admin::request_publish(&data_dir, repair)).await? {
        Some(answer) => {
            if args.publish.publish_to.is_some() {
                eprintln!("note: the running server publishes to its own --publish-to; the one given here is not used");
            }
            answer?
        }
        None => {
            let _lock = lock_data_dir(&args.data.data_dir).with_context(|| {
                format!(
                    "a server holds {} but its admin socket ({}) cannot be reached",
                    args.data.data_dir.display(),
                    args.data.data_dir.join(admin::SOCKET).display()
                )
            })?;
            let Some(target) = args.publish.target()? else {
                bail!("no server is running on {}: give the target with --publish-to (and --s3-endpoint)", args.data.data_dir.display());
            };
            let store = open_store(&args.data.data_dir)?;
            let bundles = app::server::store::bundles::Bundles::new(args.data.data_dir.join("bundles"));
            let publisher = app::server::publish::Publisher::new(store.clone(), target, bundles, Clock::system());
            let answer = admin::publish(&publisher, repair).await;
            store.close(Duration::from_secs(5)).map_err(|e| anyhow::anyhow!("{e}"))?;
            answer?
        }
    };
    print!("{}", answer.text);
    if !repair && !answer.findings.is_empty() {
        bail!("{} differences between the release target and the data file; `mpdp publish sync` repairs them", answer.findings.len());
    }
    Ok(())
}

/// `mpdp restore`.
fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let summary = maintenance::restore(from, data_dir)?;
    println!(
        "Restored {} entries in {} tables ({} versions) and {} bundle files, backed up {}, into {}. `mpdp check` passes on it; start the server with --data-dir {}.",
        summary.entries(),
        summary.tables.len(),
        summary.versions,
        summary.bundles.len(),
        summary.created.format("%Y-%m-%d %H:%M:%S UTC"),
        data_dir.display(),
        data_dir.display()
    );
    Ok(())
}

/// `mpdp check`: prints what it verified and found; fails when there is a problem.
fn check(data_dir: &Path) -> anyhow::Result<()> {
    let _lock = lock_data_dir(data_dir).context("mpdp check needs the server stopped")?;
    let report = maintenance::check(data_dir)?;
    println!(
        "Data file: opens, schema version {}, {} versions; {} bundles verified by sha256.",
        report.schema_version, report.versions, report.bundles_verified
    );
    for path in &report.orphans {
        println!("orphan bundle (no version names it; harmless, left by an upload that did not finish): {}", path.display());
    }
    for path in &report.temp_files {
        println!("unfinished upload in the temporary directory (harmless): {}", path.display());
    }
    for problem in &report.problems {
        println!("PROBLEM: {problem}");
    }
    if report.problems.is_empty() {
        println!("OK: no problems ({} orphan bundles, {} temporary files).", report.orphans.len(), report.temp_files.len());
        Ok(())
    } else {
        bail!(
            "{} problems found in {}; restore the latest backup (`mpdp restore --from BACKUP.tar --data-dir NEW-DIR`) if they matter",
            report.problems.len(),
            data_dir.display()
        )
    }
}

/// `mpdp compact`.
fn compact(data_dir: &Path) -> anyhow::Result<()> {
    let _lock = lock_data_dir(data_dir).context("mpdp compact needs the server stopped")?;
    let (before, after) = maintenance::compact(data_dir)?;
    println!(
        "Compacted {}: {before} bytes before, {after} bytes after ({} bytes reclaimed).",
        data_dir.join(maintenance::DATA_FILE).display(),
        before.saturating_sub(after)
    );
    Ok(())
}

/// `--test-clock`: moves `clock` forward by each `advance <milliseconds>` line on standard input,
/// read on a thread of its own (a read that never ends must not hold up the server's shutdown).
fn advance_from_stdin(clock: Clock) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            match line.trim().strip_prefix("advance ").map(|ms| ms.trim().parse::<u64>()) {
                Some(Ok(ms)) => {
                    clock.advance(Duration::from_millis(ms));
                    println!("clock advanced {ms}");
                }
                _ => eprintln!("--test-clock: expected `advance <milliseconds>`, got {line:?}"),
            }
        }
    });
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mailer = match &args.smtp_url {
        Some(url) => Some(
            app::server::domain::mail::Mailer::new(url, &args.mail_from)
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    let target = args.publish.target()?;
    if args.metrics_listen.is_some_and(|m| m == args.listen && m.port() != 0) {
        bail!("--metrics-listen must differ from --listen: /metrics is never served to the console's visitors");
    }
    let lock = lock_data_dir(&args.data.data_dir)?;
    let clock = Clock::system();
    let store = open_store(&args.data.data_dir)?.with_clock(clock.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "could not listen on {} (--listen / MPDP_LISTEN)",
                args.listen
            )
        })?;
    let addr = listener.local_addr()?;
    // Bound now, so an address in use stops the start before anything else begins.
    let metrics_listener = match args.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("could not listen on {at} (--metrics-listen / MPDP_METRICS_LISTEN)"))?,
        ),
        None => None,
    };
    let config = Config {
        public_url: args.public_url.unwrap_or_else(|| format!("http://{addr}")),
        session_idle: args.session_idle,
        session_absolute: args.session_max,
        login_failures_per_account: args.login_failures_per_account,
        login_failures_per_address: args.login_failures_per_address,
        login_window: Duration::from_secs(args.login_window_secs),
        smtp_configured: mailer.is_some(),
        trusted_proxies: args.trusted_proxies.0,
        client_address_header: args.client_address_header,
        account_requests_per_address: args.account_requests_per_address,
        account_changes_per_hour: args.account_changes_per_hour,
        max_bundle_bytes: args.max_bundle_mib * 1024 * 1024,
        workspace_bundle_bytes: args.workspace_bundle_mib * 1024 * 1024,
        min_free_disk_bytes: args.min_free_disk_mib * 1024 * 1024,
        bundle_dir: args.data.data_dir.join("bundles"),
        fleet_flush: Duration::from_millis(args.fleet_flush_ms),
        event_batches_per_key: args.event_batches_per_key,
        event_batches_per_address: args.event_batches_per_address,
        publish_target: target.as_ref().map(|t| t.url().to_string()),
        operators_need_second_factor: args.require_operator_second_factor,
        webhooks_allow_private: args.webhooks_allow_private_networks,
    };
    let public_url = config.public_url.clone();
    let state = AppState::new(app::server::Context::with_clock(store.clone(), config, clock.clone()));
    if args.test_clock {
        advance_from_stdin(clock);
    }
    match state.bundles.remove_unfinished() {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "removed uploads left unfinished by the last run from bundles/tmp"),
        Err(e) => tracing::warn!(error = %e, "could not clean bundles/tmp; `mpdp check` lists what is there"),
    }
    // The container API serves from memory: build what it serves before the first request.
    state.container.refresh(&store).await;
    let purge = tokio::spawn(http::purge_expired_sessions(store.clone()));
    let last_used = tokio::spawn(http::flush_key_uses(state.clone()));
    let fleet = tokio::spawn(http::flush_fleet_events(state.clone()));
    let lists = tokio::spawn(http::issue_lists_anew(state.clone()));
    let login_windows = tokio::spawn(http::forget_expired_login_windows(state.clone()));
    let mail = match mailer {
        Some(mailer) => tokio::spawn(app::server::domain::mail::run_worker(
            store.clone(),
            mailer,
            state.mail_wake.clone(),
        )),
        None => {
            tracing::info!("no SMTP server configured (--smtp-url): mail is kept in the outbox");
            tokio::spawn(async {})
        }
    };
    let webhooks = tokio::spawn(app::server::domain::webhooks::run_worker(
        store.clone(),
        app::server::domain::webhooks::Sender::new(state.config.webhooks_allow_private)?,
        state.webhook_wake.clone(),
    ));
    let publisher = target.map(|t| {
        std::sync::Arc::new(app::server::publish::Publisher::new(store.clone(), t, state.bundles.clone(), state.clock.clone()))
    });
    let publishing = match &publisher {
        Some(p) => {
            tracing::info!(target = %p.target().url(), "publishing releases after every change");
            tokio::spawn(p.clone().run(state.publish_wake.clone()))
        }
        None => tokio::spawn(async {}),
    };
    let admin = match admin::listen(&args.data.data_dir, store.clone(), publisher.clone()) {
        Ok((task, path)) => Some((task, path)),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "no admin socket: `mpdp backup` cannot reach this server while it runs");
            None
        }
    };
    if !state.config.trusted_proxies.is_empty() {
        tracing::info!(
            header = %state.config.client_address_header,
            proxies = state.config.trusted_proxies.len(),
            "client addresses are read from this header of requests from the trusted proxies only"
        );
    }
    let mut router = http::router(state.clone());
    let metrics = match metrics_listener {
        Some(listener) => {
            let handle = http::metrics::install()?;
            let bound = listener.local_addr()?;
            let scrape = http::metrics::Scrape { handle: handle.clone(), store: store.clone(), publishing: publisher.is_some() };
            router = router.layer(axum::middleware::from_fn(http::metrics::measure));
            tracing::info!(addr = %bound, "serving /metrics");
            println!("MPDP metrics listening on http://{bound}");
            let serving = tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, http::metrics::router(scrape)).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
            Some((serving, tokio::spawn(http::metrics::upkeep(handle))))
        }
        None => None,
    };
    tracing::info!(%addr, %public_url, data_dir = %args.data.data_dir.display(), "MPDP is serving");
    println!("MPDP console listening on http://{addr}");

    http::serve::serve(listener, router, args.max_connections as usize, shutdown_signal()).await;

    if let Some((task, path)) = admin {
        task.abort();
        let _ = task.await;
        let _ = std::fs::remove_file(path);
    }
    if let Some((serving, upkeep)) = metrics {
        serving.abort();
        upkeep.abort();
    }
    purge.abort();
    publishing.abort();
    login_windows.abort();
    mail.abort();
    webhooks.abort();
    last_used.abort();
    lists.abort();
    fleet.abort();
    if let Err(e) = state.fleet.flush(&state).await {
        tracing::warn!(error = %e, "could not write the fleet's last events");
    }
    if let Err(e) = state.last_used.flush(&state).await {
        tracing::warn!(error = %e, "could not record when keys were last used");
    }
    let _ = purge.await;
    let _ = mail.await;
    drop(state);
    store
        .close(Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(lock);
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: no new connections; finishing requests in flight");
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password for the new operator: ")?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        if first != again {
            bail!("the two passwords differ; nothing was created");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn create_operator(data_dir: &Path, email: &str, username: &str) -> anyhow::Result<()> {
    // Check the fields before asking for a password.
    app::model::account::validate_email("--email", email).map_err(|e| anyhow::anyhow!("{e}"))?;
    app::model::account::validate_username(username)
        .map_err(|e| anyhow::anyhow!("--username: {e}"))?;
    let _lock = lock_data_dir(data_dir).context("operator create needs the server stopped")?;
    let store = open_store(data_dir)?;
    let password = read_password()?;
    let account =
        app::server::domain::accounts::create_operator_blocking(&store, email, username, &password)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .close(Duration::from_secs(5))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Created platform operator {} <{}> ({}). Log in at the console's home page.",
        account.username, account.email, account.id
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(extra: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["mpdp", "serve"].iter().chain(extra).copied();
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(args) => Ok(args),
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn the_client_address_header_is_one_header_name() {
        let args = serve_args(&["--client-address-header", "X-Real-IP"]).unwrap();
        assert_eq!(args.client_address_header.to_string(), "x-real-ip");
        let args = serve_args(&["--client-address-header", "forwarded"]).unwrap();
        assert_eq!(args.client_address_header, app::server::auth::client::AddressHeader::Forwarded);
        for bad in ["x real ip", "x-forwarded-for,forwarded", ""] {
            let e = serve_args(&["--client-address-header", bad]).err().unwrap().to_string();
            assert!(e.contains("--client-address-header") && e.contains("letters, digits and -"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_platform_key_that_starts_with_a_hyphen_is_the_key_not_an_option() {
        let key = format!("-{}", "A".repeat(42));
        let argv = ["mpdp", "studio", "verify", "--manifest", "m.json", "--bundle", "b.tar.gz", "--platform-key", &key];
        assert!(Cli::try_parse_from(argv).is_ok());
    }

    #[test]
    fn starting_on_a_data_directory_makes_it_its_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("new/data");
        drop(lock_data_dir(&fresh).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&fresh.join("mpdp.lock")), 0o600);
        let loose = root.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
        drop(lock_data_dir(&loose).unwrap());
        assert_eq!(mode(&loose), 0o700);
    }
}

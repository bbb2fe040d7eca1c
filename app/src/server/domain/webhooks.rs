//! Webhooks: a Workspace Admin's endpoints (HTTPS, public addresses unless the operator allows
//! private ones), each with the events it hears and a signing secret, which the endpoint's own
//! page shows to Workspace Admins (the list of endpoints carries no secret); the deliveries,
//! queued in the transaction that records their event, sent by [`run_worker`] with retries and
//! backoff, listed with every attempt and answer, and re-sent on request.
//!
//! No workspace holds up another's deliveries: [`IN_FLIGHT`] are sent at once, at most
//! [`IN_FLIGHT_PER_WORKSPACE`] of them for one workspace and [`IN_FLIGHT_PER_ENDPOINT`] to one
//! endpoint; an endpoint has at most [`WAITING_MAX`] deliveries waiting (beyond them an event is
//! recorded as failed, and a test event or a re-send is refused); and the worker reads the queue
//! with [`store::pick`], which skips what the limits hold back and reads at most [`SCAN`] rows
//! at a time, going on where it stopped, so a backlog never hides the deliveries behind it. Each
//! delivery is read again once it is in flight, and its attempt recorded only if nobody recorded
//! one meanwhile, so a stale read never sends a delivery twice nor re-queues a delivered one.
//!
//! A delivery is signed as Standard Webhooks says: `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`, where the key is the base64
//! after `whsec_` in the endpoint's secret.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::audit::AuditAction;
use crate::model::page::{FilterWord, Page, PER_PAGE};
use crate::server::store::listing::Window;
use crate::model::webhooks::{
    check_description, parse_events, too_many_waiting, Attempt, DeliveryState, DeliveryView, EndpointView, NewSecret,
    ANSWER_MAX, DELIVERIES_FIELD, ENABLED_FIELD, ENDPOINTS_MAX, URL_FIELD, URL_MAX, WAITING_MAX,
};
use crate::model::AppError;
use crate::server::guard::{act, Authorized};
use crate::server::store::audit::{self, Actor};
use crate::server::store::webhooks::{self as store, Sending, WebhookEndpoint};
use crate::server::store::Store;
use crate::server::Context;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries sent at once: a slow receiver holds one of them, never the others.
pub const IN_FLIGHT: usize = 16;

/// Deliveries sent at once for one workspace: however many it has due, to receivers however
/// slow, a workspace takes no more than these of the [`IN_FLIGHT`].
pub const IN_FLIGHT_PER_WORKSPACE: usize = 4;

/// Deliveries sent at once to one endpoint: a slow receiver with many deliveries waiting takes
/// no more than these of its workspace's [`IN_FLIGHT_PER_WORKSPACE`], so the workspace's other
/// endpoints still get theirs.
pub const IN_FLIGHT_PER_ENDPOINT: usize = 2;

/// Rows of the queue the worker reads at most at a time (see [`store::pick`]): with at most
/// [`WAITING_MAX`] waiting per endpoint, even the longest backlog of a workspace is read past in
/// a few dozen looks.
pub const SCAN: usize = 1024;

/// The worker's limits.
const LIMITS: store::Limits =
    store::Limits { in_flight: IN_FLIGHT, per_workspace: IN_FLIGHT_PER_WORKSPACE, per_endpoint: IN_FLIGHT_PER_ENDPOINT, scan: SCAN };

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` of a delivery: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed with the secret's bytes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, AppError> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).map_err(|_| AppError::Internal)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| AppError::Internal)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Whether an address is on the public internet: not loopback, private, link-local, site-local,
/// shared (CGNAT), documentation, benchmarking, multicast, discard-only, reserved or unspecified,
/// including IPv4 addresses written as IPv6 (mapped, NAT64 or 6to4: judged by the IPv4 address);
/// never a Teredo tunnel or local-use NAT64.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let v4_in = |hi: u16, lo: u16| {
                let ([a, b], [c, d]) = (hi.to_be_bytes(), lo.to_be_bytes());
                IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
            };
            // NAT64, well-known prefix: judged by the IPv4 address it carries.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public(v4_in(s[6], s[7]));
            }
            // 6to4 (2002::/16): judged by the IPv4 address in segments 1 and 2.
            if s[0] == 0x2002 {
                return is_public(v4_in(s[1], s[2]));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                // site-local (fec0::/10, deprecated but routed inside some networks)
                || (s[0] & 0xffc0) == 0xfec0
                // local-use NAT64 (64:ff9b:1::/48)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                // Teredo (2001:0::/32): a tunnel to an address that cannot be judged
                || (s[0] == 0x2001 && s[1] == 0)
                // documentation, benchmarking (2001:2::/48)
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0)
                // discard-only (100::/64)
                || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
                || s[0] == 0)
        }
    }
}

/// What a refused private address says.
fn private_refusal(what: &str) -> AppError {
    AppError::invalid(
        URL_FIELD,
        format!("{what} a private, loopback or otherwise non-public address; the operator can allow such receivers with --webhooks-allow-private-networks"),
    )
}

/// Checks an endpoint URL: absolute, `https://` (or `http://` where the operator allows private
/// networks), no user name or password, no fragment, and — unless allowed — a host that is not
/// a private address (an address written in the URL, a name such as `localhost`) and a name that
/// resolves, to public addresses only. Deliveries check the address again when they connect.
pub async fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AppError::invalid(URL_FIELD, "is required"));
    }
    if raw.len() > URL_MAX {
        return Err(AppError::invalid(URL_FIELD, format!("must be at most {URL_MAX} characters")));
    }
    let url = url::Url::parse(raw)
        .map_err(|_| AppError::invalid(URL_FIELD, "must be an absolute URL, like https://hooks.example.com/mpdp"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(AppError::invalid(URL_FIELD, "must start with https:// (deliveries carry your workspace's events)")),
        _ => return Err(AppError::invalid(URL_FIELD, "must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::invalid(URL_FIELD, "must not hold a user name or password; check the signature instead"));
    }
    if url.fragment().is_some() {
        return Err(AppError::invalid(URL_FIELD, "must not have a #fragment"));
    }
    let host = match url.host() {
        Some(h) => h.to_owned(),
        None => return Err(AppError::invalid(URL_FIELD, "must name a host")),
    };
    if allow_private {
        return Ok(url);
    }
    match host {
        url::Host::Ipv4(ip) if !is_public(ip.into()) => return Err(private_refusal("points to")),
        url::Host::Ipv6(ip) if !is_public(ip.into()) => return Err(private_refusal("points to")),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || [".localhost", ".local", ".internal", ".home.arpa"].iter().any(|s| name.ends_with(s)) {
                return Err(private_refusal("names"));
            }
            // One label is a name of the server's own network (its search domains would complete
            // it): refused, so no one learns which such names exist there.
            if !name.contains('.') {
                return Err(AppError::invalid(URL_FIELD, "must name its host by its full domain name, like hooks.example.com"));
            }
            let port = url.port_or_known_default().unwrap_or(443);
            // The name must resolve, to public addresses only. One that does not resolve and one
            // that resolves inside the network are refused alike, so saving tells no one which
            // names the server's network has. Looked up as absolute, never completed by the
            // server's search domains.
            let lookup = tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((absolute(&name), port))).await;
            let addrs: Vec<SocketAddr> = match lookup {
                Ok(Ok(addrs)) => addrs.collect(),
                _ => Vec::new(),
            };
            if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(AppError::invalid(
                    URL_FIELD,
                    "names a host with no public address (it does not resolve, or resolves to a private, loopback or otherwise non-public one); the operator can allow private receivers with --webhooks-allow-private-networks",
                ));
            }
        }
        _ => {}
    }
    Ok(url)
}

/// The workspace's endpoints, oldest first, without their secrets.
pub async fn list(cx: &Context, m: &Authorized<act::ViewWebhooks>) -> Result<Vec<EndpointView>, AppError> {
    let w = m.workspace().id;
    cx.store.read(move |tx| Ok(store::endpoints_of(tx, w)?.iter().map(WebhookEndpoint::view).collect())).await
}

/// One endpoint, with its signing secret (only Workspace Admins view webhooks).
pub async fn view(cx: &Context, m: &Authorized<act::ViewWebhooks>, id: Uuid) -> Result<EndpointView, AppError> {
    let w = m.workspace().id;
    cx.store.read(move |tx| store::endpoint(tx, w, id)?.map(|e| e.view_with_secret()).or_missing(Missing::WebhookEndpoint)).await
}

/// What the endpoint form sends.
pub struct EndpointForm {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
}

/// Checks the form: the URL, the description and the events.
async fn check_form(cx: &Context, form: &EndpointForm) -> Result<(String, String, Vec<crate::model::webhooks::WebhookEvent>), AppError> {
    let url = check_url(&form.url, cx.config.webhooks_allow_private).await?;
    let description = check_description(&form.description)?;
    let events = parse_events(&form.events)?;
    Ok((url.to_string(), description, events))
}

fn audit_details(e: &WebhookEndpoint) -> String {
    format!("{} ({})", e.url, e.events.iter().map(|e| e.code()).collect::<Vec<_>>().join(", "))
}

/// Adds an endpoint; gives its id and signing secret (which the endpoint's page also shows to
/// Workspace Admins, for as long as it signs).
pub async fn create(cx: &Context, admin: &Authorized<act::ManageWebhooks>, form: EndpointForm, actor: Actor) -> Result<NewSecret, AppError> {
    let (url, description, events) = check_form(cx, &form).await?;
    let e = WebhookEndpoint {
        id: Uuid::now_v7(),
        workspace: admin.workspace().id,
        url,
        description,
        events,
        secret: new_secret(),
        enabled: true,
        created: cx.clock.now(),
        created_by: admin.who().account().username.clone(),
    };
    admin
        .write(cx, move |tx, s| {
            let existing = store::endpoints_of(tx, s.workspace())?;
            if existing.len() >= ENDPOINTS_MAX {
                return Err(AppError::conflict(URL_FIELD, format!("a workspace has at most {ENDPOINTS_MAX} endpoints; delete one first")));
            }
            if existing.iter().any(|x| x.url == e.url) {
                return Err(AppError::conflict(URL_FIELD, "is already an endpoint of this workspace"));
            }
            store::put_endpoint(tx, &e)?;
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookEndpointAdded, &e.url, &audit_details(&e))?;
            Ok(NewSecret { endpoint: e.id, secret: e.secret.clone() })
        })
        .await
}

/// Changes an endpoint's URL, description, events, and whether it is enabled; gives it as its
/// page shows it (with its secret).
pub async fn update(
    cx: &Context,
    admin: &Authorized<act::ManageWebhooks>,
    id: Uuid,
    form: EndpointForm,
    enabled: bool,
    actor: Actor,
) -> Result<EndpointView, AppError> {
    let (url, description, events) = check_form(cx, &form).await?;
    let now = cx.clock.now();
    admin
        .write(cx, move |tx, s| {
            let mut e = store::endpoint(tx, s.workspace(), id)?.or_missing(Missing::WebhookEndpoint)?;
            if store::endpoints_of(tx, s.workspace())?.iter().any(|x| x.id != id && x.url == url) {
                return Err(AppError::conflict(URL_FIELD, "is already an endpoint of this workspace"));
            }
            let disabling = e.enabled && !enabled;
            (e.url, e.description, e.events, e.enabled) = (url, description, events, enabled);
            store::put_endpoint(tx, &e)?;
            if disabling {
                store::hold_back(tx, e.id, now)?;
            }
            let details = format!("{}{}", audit_details(&e), if e.enabled { "" } else { ", disabled" });
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookEndpointChanged, &e.url, &details)?;
            Ok(e.view_with_secret())
        })
        .await
}

/// Replaces an endpoint's signing secret at once; gives the new one (which the endpoint's page
/// also shows to Workspace Admins from now on).
pub async fn rotate_secret(cx: &Context, admin: &Authorized<act::ManageWebhooks>, id: Uuid, actor: Actor) -> Result<NewSecret, AppError> {
    let secret = new_secret();
    admin
        .write(cx, move |tx, s| {
            let mut e = store::endpoint(tx, s.workspace(), id)?.or_missing(Missing::WebhookEndpoint)?;
            e.secret = secret;
            store::put_endpoint(tx, &e)?;
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookEndpointChanged, &e.url, "signing secret replaced")?;
            Ok(NewSecret { endpoint: e.id, secret: e.secret })
        })
        .await
}

/// Deletes an endpoint and its deliveries.
pub async fn delete(cx: &Context, admin: &Authorized<act::ManageWebhooks>, id: Uuid, actor: Actor) -> Result<(), AppError> {
    admin
        .write(cx, move |tx, s| {
            let e = store::endpoint(tx, s.workspace(), id)?.or_missing(Missing::WebhookEndpoint)?;
            store::delete_endpoint(tx, &e)?;
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookEndpointDeleted, &e.url, &audit_details(&e))
                .map(|_| ())
        })
        .await
}

/// Queues a `webhook.test` event for one endpoint (refused while it has [`WAITING_MAX`]
/// deliveries waiting).
pub async fn send_test(cx: &Context, admin: &Authorized<act::ManageWebhooks>, id: Uuid, actor: Actor) -> Result<Uuid, AppError> {
    let who = admin.who().account().username.clone();
    admin
        .write(cx, move |tx, s| {
            let e = store::endpoint(tx, s.workspace(), id)?.or_missing(Missing::WebhookEndpoint)?;
            refuse_if_disabled(&e)?;
            refuse_if_crowded(tx, &e)?;
            let data = serde_json::json!({
                "workspace": { "id": s.workspace(), "name": s.workspace_name() },
                "endpoint": e.id,
                "summary": format!("A test event sent by {who}"),
            });
            let sent = store::raise_test(tx, &e, &data)?;
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookTestSent, &e.url, "")?;
            Ok(sent)
        })
        .await
}

/// A page of an endpoint's deliveries, newest first unless `sort` says otherwise.
pub async fn deliveries(
    cx: &Context,
    m: &Authorized<act::ViewWebhooks>,
    id: Uuid,
    state: &str,
    q: String,
    at: Position,
) -> Result<Page<DeliveryView>, AppError> {
    let state = DeliveryState::parse_filter(state)?;
    let window = Window::at(store::LIST, &at, PER_PAGE)?;
    let w = m.workspace().id;
    cx.store
        .read(move |tx| {
            store::endpoint(tx, w, id)?.or_missing(Missing::WebhookEndpoint)?;
            Ok(store::list(tx, id, state, &q, &window)?.page)
        })
        .await
}

/// Queues a delivery again, due now (one not queued is refused while its endpoint has
/// [`WAITING_MAX`] deliveries waiting).
pub async fn resend(cx: &Context, admin: &Authorized<act::ManageWebhooks>, delivery: Uuid, actor: Actor) -> Result<DeliveryView, AppError> {
    admin
        .write(cx, move |tx, s| {
            let mut d = store::delivery(tx, delivery)?.filter(|d| d.workspace == s.workspace()).or_missing(Missing::Delivery)?;
            let e = store::endpoint(tx, s.workspace(), d.endpoint)?.or_missing(Missing::WebhookEndpoint)?;
            refuse_if_disabled(&e)?;
            if d.state != DeliveryState::Queued {
                refuse_if_crowded(tx, &e)?;
            }
            store::resend(tx, &mut d)?;
            audit::record(tx, &actor, s.audited(), AuditAction::WebhookDeliveryResent, &e.url, &format!("{} of {}", d.event, d.created.to_rfc3339()))?;
            Ok(d.view())
        })
        .await
}

/// Nothing is sent to a disabled endpoint, a test or a re-send included.
fn refuse_if_disabled(e: &store::WebhookEndpoint) -> Result<(), AppError> {
    if e.enabled {
        return Ok(());
    }
    Err(AppError::conflict(ENABLED_FIELD, "the endpoint is disabled: enable it (Edit…) before sending to it"))
}

/// No more is queued for an endpoint that has [`WAITING_MAX`] deliveries waiting.
fn refuse_if_crowded(tx: &redb::WriteTransaction, e: &store::WebhookEndpoint) -> Result<(), AppError> {
    if store::waiting(tx, e.id)? < WAITING_MAX {
        return Ok(());
    }
    Err(AppError::conflict(DELIVERIES_FIELD, too_many_waiting()))
}

/// Resolves a receiver's name to its public addresses only (unless private networks are
/// allowed), so a name that points — or is later pointed — inside the network is never reached.
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            if allow {
                let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
                return Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs);
            }
            // A name that does not resolve and one that resolves only inside the network read
            // alike in the delivery log, so the log tells nothing of the server's network.
            let found: Vec<SocketAddr> = tokio::net::lookup_host((absolute(name.as_str()), 0)).await.map(Iterator::collect).unwrap_or_default();
            let usable: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if usable.is_empty() {
                return Err("the receiver's name has no public address".into());
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// `name` as an absolute domain name (ending in a dot), which the resolver never completes with
/// the server's search domains.
fn absolute(name: &str) -> String {
    if name.ends_with('.') { name.to_string() } else { format!("{name}.") }
}

/// Posts deliveries to their endpoints.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(allow_private: bool) -> Result<Sender, AppError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("MPDP-Webhooks/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "could not set up the webhook client");
                AppError::Internal
            })?;
        Ok(Sender { client, allow_private })
    }

    /// One attempt: the answer's status and start, or why there was none; whether it counts as
    /// delivered (2xx).
    async fn send(&self, d: &store::WebhookDelivery, e: &WebhookEndpoint, now: chrono::DateTime<chrono::Utc>) -> (Attempt, bool) {
        let started = Instant::now();
        let mut attempt = Attempt { at: now, status: None, answer: String::new(), error: None, millis: 0 };
        let outcome = async {
            let url = url::Url::parse(&e.url).map_err(|_| "the endpoint's URL no longer parses".to_string())?;
            if !self.allow_private {
                if url.scheme() != "https" {
                    return Err("the endpoint's URL is not https:// and private networks are not allowed".to_string());
                }
                let literal = match url.host() {
                    Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                    Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                    _ => None,
                };
                if literal.is_some_and(|ip| !is_public(ip)) {
                    return Err("the endpoint's address is private or loopback, and private networks are not allowed".to_string());
                }
            }
            let timestamp = now.timestamp();
            let id = d.message_id();
            let signature = sign(&e.secret, &id, timestamp, &d.payload).map_err(|_| "the endpoint's secret is unreadable".to_string())?;
            let answer = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(d.payload.clone())
                .send()
                .await
                .map_err(describe)?;
            let status = answer.status();
            let body = read_start(answer).await;
            Ok((status, body))
        }
        .await;
        attempt.millis = started.elapsed().as_millis() as u64;
        match outcome {
            Ok((status, body)) => {
                attempt.status = Some(status.as_u16());
                attempt.answer = body;
                let delivered = status.is_success();
                if !delivered {
                    attempt.error = Some(status.canonical_reason().unwrap_or("not a 2xx answer").to_string());
                }
                (attempt, delivered)
            }
            Err(why) => {
                attempt.error = Some(why);
                (attempt, false)
            }
        }
    }
}

/// Why a request got no answer, in a few words.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} seconds", TIMEOUT.as_secs())
    } else if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        let mut last = e.to_string();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        format!("could not connect: {last}")
    } else {
        e.to_string()
    }
}

/// The first [`ANSWER_MAX`] bytes of an answer's body (as text), reading no more than that.
async fn read_start(mut answer: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < ANSWER_MAX {
        match answer.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(ANSWER_MAX - kept.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Sends due deliveries until the process ends, [`IN_FLIGHT`] at a time (at most
/// [`IN_FLIGHT_PER_WORKSPACE`] for one workspace and [`IN_FLIGHT_PER_ENDPOINT`] to one endpoint,
/// as [`store::pick`] chooses them), each in its own task so a slow receiver delays only its
/// own; woken early by `wake` when a commit queued one or a send ended, or when the clock moved.
pub async fn run_worker(store: Store, sender: Sender, wake: Arc<Notify>) {
    // The deliveries being sent, and whose each is. Only this loop adds to it, so what a pick
    // chose from a copy still keeps to the limits when it is added.
    let in_flight: Arc<Mutex<HashMap<Uuid, Sending>>> = Arc::default();
    // Where the next pick goes on reading the queue.
    let mut resume = None;
    let mut moved = store.clock().moved();
    loop {
        let now = store.clock().now();
        let sending = in_flight.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match store.read(move |tx| store::pick(tx, now, &sending, LIMITS, resume)).await {
            Ok(picked) => {
                resume = picked.resume;
                for d in picked.due {
                    {
                        let mut busy = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                        if busy.len() >= IN_FLIGHT || busy.contains_key(&d.id) {
                            continue;
                        }
                        busy.insert(d.id, Sending { workspace: d.workspace, endpoint: d.endpoint });
                    }
                    let (store, sender, in_flight, wake) = (store.clone(), sender.clone(), in_flight.clone(), wake.clone());
                    tokio::spawn(async move {
                        let id = d.id;
                        deliver(&store, &sender, id).await;
                        in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        wake.notify_one();
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read the webhook queue"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            Ok(()) = moved.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One attempt of one delivery (marked in flight by the caller), recorded.
async fn deliver(store: &Store, sender: &Sender, id: Uuid) {
    // Read afresh, now that it is in flight: the worker's read of the queue may have been made
    // before an earlier attempt was recorded (and the delivery delivered, or queued for later).
    let now = store.clock().now();
    let found = store
        .read(move |tx| {
            let Some(d) = store::delivery(tx, id)? else { return Ok(None) };
            let e = store::endpoint(tx, d.workspace, d.endpoint)?;
            Ok(Some((d, e)))
        })
        .await;
    let (d, e) = match found {
        // Delivered, failed or not due (any more): nothing to send.
        Ok(Some((d, _))) if d.state != DeliveryState::Queued || d.next_attempt > now => return,
        // Disabled meanwhile (the write that disabled it held back what was queued then, but
        // this one was already read): not sent either.
        Ok(Some((_, Some(e)))) if !e.enabled => {
            if let Err(e) = store.write(move |tx| store::hold_back_one(tx, id, now)).await {
                tracing::error!(error = %e, "could not hold back a webhook delivery");
            }
            return;
        }
        Ok(Some((d, Some(e)))) => (d, e),
        // Deleted meanwhile (its endpoint with it).
        Ok(Some((_, None)) | None) => return,
        Err(e) => {
            tracing::error!(error = %e, "could not read a webhook delivery");
            return;
        }
    };
    let (attempt, delivered) = sender.send(&d, &e, store.clock().now()).await;
    if delivered {
        tracing::info!(delivery = %d.id, event = %d.event, status = ?attempt.status, "webhook delivered");
    } else {
        tracing::warn!(delivery = %d.id, event = %d.event, attempt = d.tries + 1, outcome = %attempt.summary(), "webhook not delivered; will retry");
    }
    crate::server::metrics::webhook_attempt(delivered);
    // Recorded only if nobody recorded an attempt of it meanwhile.
    let tries = d.tries;
    if let Err(e) = store.write(move |tx| store::record_attempt(tx, id, tries, attempt, delivered)).await {
        tracing::error!(error = %e, "could not record a webhook attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature a receiver computes with any HMAC-SHA256: checked here against Python's
    /// `hmac` for the same inputs.
    #[test]
    fn the_signature_is_standard_webhooks_v1() {
        let sig = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#).unwrap();
        assert_eq!(sig, SIGNATURE);
        let secret = new_secret();
        assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() == 32);
        assert_ne!(new_secret(), secret);
    }

    /// `base64.b64encode(hmac.new(base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    /// b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', "sha256").digest())`
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255",
            "224.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "240.0.0.1", "192.0.0.8",
            "::1", "::", "fc00::1", "fd12::1", "fe80::1", "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
            "64:ff9b::a00:1", "::127.0.0.1",
            // site-local, local-use NAT64 (whatever it carries), 6to4 of private IPv4, Teredo,
            // benchmarking, discard-only
            "fec0::1", "feff::1", "64:ff9b:1::a00:1", "64:ff9b:1::101:101", "2002:a00:1::1", "2002:7f00:1::",
            "2002:c0a8:101::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1", "2001:2::1", "100::1", "100::ffff:ffff:ffff:ffff",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.215.14", "1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101",
            // 6to4 of a public IPv4 address; next to Teredo, site-local and discard-only, not in them
            "2002:101:101::1", "2001:4860:4860::8888", "2a00:1450:4001::1", "100:0:0:1::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn an_endpoint_url_is_https_to_a_public_host_unless_the_operator_allows_private_ones() {
        let refused = |raw: &'static str, allow: bool| async move { check_url(raw, allow).await.unwrap_err().to_string() };
        assert!(check_url("https://93.184.215.14/hook", false).await.is_ok());
        assert!(refused("http://93.184.215.14/hook", false).await.contains("must start with https://"));
        assert!(refused("ftp://93.184.215.14/hook", true).await.contains("must start with https://"));
        assert!(refused("hooks.example.com/x", false).await.contains("must be an absolute URL"));
        assert!(refused("", false).await.contains("is required"));
        assert!(refused("https://user:pw@93.184.215.14/", false).await.contains("user name or password"));
        assert!(refused("https://93.184.215.14/#x", false).await.contains("fragment"));
        for private in ["https://127.0.0.1/x", "https://10.0.0.8/x", "https://[::1]/x", "https://169.254.169.254/latest", "https://localhost/x", "https://printer.local/x", "https://[::ffff:7f00:1]/x"] {
            let e = check_url(private, false).await.unwrap_err().to_string();
            assert!(e.starts_with("Endpoint URL: ") && e.contains("--webhooks-allow-private-networks"), "{private}: {e}");
        }
        assert!(check_url("http://127.0.0.1:8080/x", true).await.is_ok(), "the operator allows private receivers");
        assert!(refused("https://kubernetes/x", false).await.contains("full domain name"), "one label: a name of the server's own network");
        // A name that does not resolve reads as one that resolves inside the network.
        assert!(refused("https://no-such-name.invalid/x", false).await.contains("names a host with no public address"));
        assert!(check_url("http://receiver:8080/x", true).await.is_ok(), "allowed with private receivers");
        assert_eq!(absolute("hooks.example.com"), "hooks.example.com.");
        assert_eq!(absolute("hooks.example.com."), "hooks.example.com.");
    }

    /// Deliveries tell no difference between a name that does not resolve and one that resolves
    /// only to private addresses.
    #[tokio::test]
    async fn a_receiver_without_a_public_address_reads_alike_whatever_the_reason() {
        use reqwest::dns::Resolve;
        let resolver = PublicOnly { allow_private: false };
        for name in ["localhost", "no-such-name.invalid"] {
            let e = match resolver.resolve(name.parse().unwrap()).await {
                Ok(_) => panic!("{name} resolved"),
                Err(e) => e.to_string(),
            };
            assert_eq!(e, "the receiver's name has no public address", "{name}");
        }
    }
}

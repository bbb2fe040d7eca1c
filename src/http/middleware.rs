//! Refuses state-changing requests that a browser sent on behalf of another site.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Clone)]
pub struct OriginPolicy {
    pub public_origin: Arc<str>,
}

/// A non-GET request that carries a cookie, or targets a server function, must come from this
/// site: `Sec-Fetch-Site` (when the browser sends it) must be `same-origin` or `none`, and
/// `Origin` (when sent) must be the public URL's origin or this host's.
pub async fn refuse_cross_site(
    State(policy): State<OriginPolicy>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let guarded = headers.contains_key(header::COOKIE) || req.uri().path().starts_with("/api/");
    if guarded {
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            if site != "same-origin" && site != "none" {
                return refuse(&format!("Sec-Fetch-Site is {site}"));
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let same_host = !host.is_empty()
                && (origin == format!("http://{host}") || origin == format!("https://{host}"));
            if origin != &*policy.public_origin && !same_host {
                return refuse(&format!("Origin {origin} is not this site"));
            }
        }
    }
    next.run(req).await
}

/// The query parameters whose words a page shows as what a form's answer said.
pub const SAID_AFTER_A_FORM: [&str; 6] = ["__path", "__err", "upload_error", "uploaded", "sent", "asked"];

/// What a link from outside the console — in a mail, on another site, pasted in the address bar
/// — may not make a page say:
/// - `/confirm/{kind}?…` names in its query what its button acts on (a member, an application, a
///   key …), and shows only the action. Such a link, which may name anyone's account or
///   application, is not shown: the person is sent to the page it would return to, to ask from
///   there. With nothing named, it is shown.
/// - [`SAID_AFTER_A_FORM`] carry what a form's answer says back to its page when JavaScript is
///   off (a refused form's error, the console upload's refusal, an address mailed, a workspace
///   asked to join). From outside they would put any words in the page's alerts and notices: the
///   person is sent to the same page without them.
///
/// Opened from a console page (a redirect after a form post there included), both are shown.
pub async fn links_from_outside(
    State(policy): State<OriginPolicy>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET || from_console(req.headers(), &policy) {
        return next.run(req).await;
    }
    let uri = req.uri();
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else {
        return next.run(req).await;
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if uri.path().starts_with("/confirm/") {
        let back = pairs.iter().find(|(k, _)| k == "back").map(|(_, v)| v.as_str());
        let back = app::model::local_path(back).unwrap_or_else(|| "/".into());
        tracing::info!(path = uri.path(), "a confirmation opened from outside the console was not shown");
        return axum::response::Redirect::to(&back).into_response();
    }
    let said = |k: &str| SAID_AFTER_A_FORM.contains(&k);
    if pairs.iter().any(|(k, _)| said(k)) {
        let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| !said(k)).collect();
        let mut to = uri.path().to_string();
        if !kept.is_empty() {
            to.push('?');
            to.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish());
        }
        tracing::info!(path = uri.path(), "what a form's answer said, in a link from outside the console, was not shown");
        // `//host/…` would leave the site: only a path of this one is followed.
        let to = app::model::local_path(Some(&to)).unwrap_or_else(|| "/".into());
        return axum::response::Redirect::to(&to).into_response();
    }
    next.run(req).await
}

/// Whether the browser says the request was made from a page of this site: `Sec-Fetch-Site:
/// same-origin`, or, from a browser that sends no `Sec-Fetch-Site`, a `Referer` on this origin.
fn from_console(headers: &axum::http::HeaderMap, policy: &OriginPolicy) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut origins = vec![policy.public_origin.to_string()];
    if !host.is_empty() {
        origins.extend([format!("http://{host}"), format!("https://{host}")]);
    }
    origins.iter().any(|o| referer.strip_prefix(o.as_str()).is_some_and(|rest| rest.starts_with('/')))
}

fn refuse(why: &str) -> Response {
    tracing::warn!(reason = why, "refused a cross-site request");
    let error = app::model::AppError::Forbidden(
        "This request came from another site and was refused. Use the MPDP console itself.".into(),
    );
    let body = serde_json::to_vec(&error).unwrap_or_default();
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Whom the client address middleware believes: the trusted proxies, and the one header they
/// state the client's address in.
#[derive(Clone)]
pub struct ClientAddressPolicy {
    pub trusted_proxies: Arc<[app::server::auth::client::IpNet]>,
    pub header: app::server::auth::client::AddressHeader,
}

/// Resolves the client address once per request (see `app::server::auth::client`) and hands it
/// to the rate limits and the audit log as a request extension.
pub async fn client_address(
    State(policy): State<ClientAddressPolicy>,
    mut req: Request,
    next: Next,
) -> Response {
    use app::server::auth::client::{resolve, ClientAddr};
    if let Some(ConnectInfo(peer)) = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .copied()
    {
        let client = resolve(peer.ip(), req.headers(), &policy.trusted_proxies, &policy.header);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

/// Pages and API answers depend on who is signed in: no cache may keep them (`no-store`), unless
/// the handler chose a policy (the embedded static files do). Over https, browsers are told to
/// use nothing else (HSTS).
pub async fn response_headers(State(https): State<bool>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Console forms are small; anything bigger is refused before it is read.
pub const CONSOLE_BODY_LIMIT: usize = 64 * 1024;
/// The form that carries a mini program's icon (≤ 256 KiB, as base64).
const ICON_FORM_LIMIT: usize = 384 * 1024;

/// Refuses a console request whose body is larger than its form may be — by the announced
/// length before reading, and by counting while reading.
/// The console's bundle upload takes a bundle (up to `max_bundle`) and a few form fields.
pub async fn body_limit(State(max_bundle): State<u64>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let limit = if path == "/api/create-mini-program" || path == "/api/edit-mini-program" {
        ICON_FORM_LIMIT
    } else if path.starts_with("/w/") && path.ends_with("/versions/upload") {
        usize::try_from(max_bundle).unwrap_or(usize::MAX).saturating_add(64 * 1024)
    } else {
        CONSOLE_BODY_LIMIT
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

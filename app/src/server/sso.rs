//! The browser's side of single sign-on: `GET /sso/{id}` sends the browser to the provider with
//! a new sign-in kept in its session; `GET /sso/{id}/callback` is where the provider sends it
//! back. A refusal goes to the login page, which says why (`refused=`), naming nothing the
//! request carried.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use tower_sessions::Session;

use crate::model::account::SsoRefusal;
use crate::server::auth::client::ClientAddr;
use crate::server::domain::accounts::sso::{self, Callback, Pending};
use crate::server::guard::SignedIn;
use crate::server::routes::Routes;
use crate::server::Context;

pub fn routes() -> Routes<Context> {
    Routes::default().get("/sso/{id}", start).get("/sso/{id}/callback", callback)
}

/// The first value of each query parameter (a repeated one counts once), bounded.
fn query(raw: Option<String>) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let raw = raw.unwrap_or_default();
    if raw.len() > 8192 {
        return out;
    }
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn refused(id: &str, r: SsoRefusal) -> Response {
    let id = if id.len() <= sso::ID_MAX { crate::model::url_encode(id) } else { String::new() };
    Redirect::to(&format!("/login?sso={id}&refused={}", r.code())).into_response()
}

async fn start(
    State(cx): State<Context>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    session: Session,
    client: Option<Extension<ClientAddr>>,
) -> Response {
    let next = query(raw).remove("next");
    match sso::begin(&cx, &id, next, client.map(|c| c.0 .0)).await {
        Ok((url, pending)) => match SignedIn::keep_pending_sso(&session, &pending).await {
            Ok(()) => Redirect::to(&url).into_response(),
            Err(_) => refused(&id, SsoRefusal::Unreachable),
        },
        Err(r) => refused(&id, r),
    }
}

async fn callback(
    State(cx): State<Context>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    session: Session,
    client: Option<Extension<ClientAddr>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let mut q = query(raw);
    let answer = Callback { code: q.remove("code"), state: q.remove("state"), error: q.remove("error"), iss: q.remove("iss") };
    let pending = SignedIn::take_pending_sso::<Pending>(&session).await.ok().flatten();
    let client = client.map(|c| c.0 .0);
    match sso::finish(&cx, &id, pending, answer, client).await {
        // An account with a second factor is asked for it next, as after a password: the
        // provider vouches for the address, not for the person's own second factor.
        Ok((account, label, next)) if account.has_second_factor() => {
            match SignedIn::begin_second_step_after_single_sign_on(&cx.clock, &session, &account, &id, &label).await {
                Ok(()) => {
                    let back = next.map(|n| format!("?next={}", crate::model::url_encode(&n))).unwrap_or_default();
                    Redirect::to(&format!("/login/code{back}")).into_response()
                }
                Err(_) => refused(&id, SsoRefusal::Unreachable),
            }
        }
        Ok((account, label, next)) => {
            let agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
            match SignedIn::start_single_sign_on(&cx.clock, &session, &account, client, agent, &id, &label).await {
                Ok(()) => Redirect::to(next.as_deref().unwrap_or("/")).into_response(),
                Err(_) => refused(&id, SsoRefusal::Unreachable),
            }
        }
        Err(r) => refused(&id, r),
    }
}

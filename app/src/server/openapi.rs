//! The OpenAPI 3.1 description of the machine APIs — the Studio API (uploads, version lists,
//! publishing, the device sign-in of `mpdp studio login`) and the container API — generated from
//! their handlers' `#[utoipa::path]` attributes and their bodies' types, served at
//! `GET /api/openapi.json` and kept in `app/openapi.json`, which a test holds equal to what this
//! build generates. How requests are signed is in the security schemes' descriptions and, with a
//! worked example, in the README ("Writing a client of your own"). It sits above the APIs it
//! describes; the shapes they share are in [`crate::server::schemas`], below them.

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::server::routes::Routes;
use crate::server::schemas::*;

/// Where the description is served.
pub const PATH: &str = "/api/openapi.json";

/// The security schemes: the Upload Key's signature, the Accessing Key, personal access tokens.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "uploadSignature",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(utoipa::openapi::security::ApiKeyValue::with_description(
                "MPDP-Signature",
                "The App's Upload Key signs each request: `key=<key id>,ts=<Unix seconds>,nonce=<32 hex digits>[,sha256=<64 hex digits>,size=<bytes>],sig=<base64url>`. \
                 The key id is the first 16 hex digits of SHA-256 of the Ed25519 public key's 32 bytes; `sig` is the unpadded base64url Ed25519 signature of \
                 `MPDP-UPLOAD-V1\\n<mini program id>\\n<version>\\n<sha256>\\n<size>\\n<ts>\\n<nonce>` (an upload) or `MPDP-LIST-V1\\n<mini program id>\\n<ts>\\n<nonce>` \
                 (a listing), the id lowercase and hyphenated, hex lowercase, no trailing newline. `ts` within 300 s of the server's clock; a new nonce for every \
                 attempt. The README's \"Writing a client of your own\" has every rule and a worked example.",
            ))),
        );
        components.add_security_scheme(
            "accessingKey",
            bearer("mpak_ and 43 base64url characters", "The App's Mini Program Accessing Key: `Authorization: Bearer mpak_…`."),
        );
        components.add_security_scheme(
            "personalToken",
            bearer(
                "mppat_…",
                "A personal access token (account page, or `mpdp studio login`): it names the person; with the Upload Key's signature on uploads and listings, alone for publishing.",
            ),
        );
    }
}

/// A bearer token in `Authorization`, of this format.
fn bearer(format: &str, description: &str) -> SecurityScheme {
    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format(format).description(Some(description)).build())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MPDP Studio and container APIs",
        description = "The Studio API takes bundles from developers' tooling (signed with an App's Upload Key) and applications for review (with a personal access token); \
                       the container API serves a host App's container what is released to it (with the App's Accessing Key), each list and manifest signed with \
                       the workspace's platform key. Refusals are `{\"error\": {\"code\", \"message\", \"field\"?}}` with the status of the refusal.",
    ),
    components(schemas(ApiErrorBody, ApiErrorDetail, GrantErrorBody, Bytes, DeviceCodeForm, DeviceTokenForm, SemVer, InstallId, Sha256, ByteRange)),
    modifiers(&Schemes),
    tags(
        (name = "studio", description = "Uploads, version lists and publishing, for developers' tooling and CI."),
        (name = "device", description = "The device authorization grant (RFC 8628) of `mpdp studio login`."),
        (name = "container", description = "What a host App's container downloads and reports."),
    )
)]
pub struct ApiDoc;

/// The whole description: the Studio API's and the container API's paths with the shared parts.
pub fn doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::server::studio::StudioApi::openapi());
    doc.merge(crate::server::container::ContainerApi::openapi());
    doc
}

/// The description as served: pretty JSON with a final newline.
pub fn json() -> String {
    let mut text = doc().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not write the OpenAPI description");
        String::from("{}")
    });
    text.push('\n');
    text
}

/// `GET /api/openapi.json`.
pub fn routes() -> Routes<()> {
    Routes::default().get(PATH, serve)
}

async fn serve() -> impl IntoResponse {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = TEXT.get_or_init(json).clone();
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `app/openapi.json` is what this build generates (`MPDP_BLESS_GOLDEN=1`
    /// writes it anew), so a change to an API that forgets its description fails here.
    #[test]
    fn the_committed_description_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        let generated = json();
        if std::env::var_os("MPDP_BLESS_GOLDEN").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "app/openapi.json is not what this build generates: run MPDP_BLESS_GOLDEN=1 cargo test -p app --features ssr --lib openapi");
    }

    /// Every route of the Studio and container routers is described, with the same method, and
    /// nothing else is.
    #[test]
    fn every_route_is_described() {
        let doc = doc();
        let mut described: Vec<String> = doc
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let mut m = Vec::new();
                if item.get.is_some() {
                    m.push(format!("GET {path}"));
                }
                if item.post.is_some() {
                    m.push(format!("POST {path}"));
                }
                m
            })
            .collect();
        described.sort();
        let mut served: Vec<String> = crate::server::studio::routes().endpoints().iter().chain(crate::server::container::routes().endpoints()).cloned().collect();
        served.sort();
        assert_eq!(described, served);
        assert!(doc.openapi == utoipa::openapi::OpenApiVersion::Version31, "OpenAPI 3.1");
    }
}

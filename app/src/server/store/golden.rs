//! Stored encodings as a contract: the bytes of every stored type, kept in the tree.
//!
//! Each type stored in the data file has a representative value below (fixed ids, fixed times,
//! every field filled in) and, under `golden/`, the bytes [`codec::encode`] wrote for it. Every
//! enum stored inside those types also has a file listing all its variants, so each variant's
//! spelling is pinned. For each file the test checks that
//!
//! - the kept bytes still decode to the representative value: data written by an earlier build
//!   stays readable, and
//! - encoding the representative value gives exactly the kept bytes: a change of encoding is
//!   noticed, and has to be made deliberately.
//!
//! A renamed field or variant, a changed type, or a new field fails here. To accept the change,
//! write the files again with
//!
//! ```text
//! MPDP_BLESS_GOLDEN=1 cargo test --features ssr -p app --lib golden
//! ```
//!
//! and commit them with the change. A changed file under `golden/` in a review means a changed
//! stored format: the data files already written hold the old bytes, so the change needs a
//! migration (`migrations.rs`), or a `#[serde(default)]` that reads the old bytes as they were.
//! A new stored type gets a row here and an empty file under `golden/` before blessing.
//! Blessing is refused when `CI` is set, and `.ci/test` unsets `MPDP_BLESS_GOLDEN`: CI only
//! compares.

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use super::accounts::Account;
use super::approvals::Application;
use super::apps::{App, Key, KeyRecord, PlatformKey, UploadScope};
use super::audit::AuditEvent;
use super::codec::{decode, encode};
use super::invitations::{Invitation, InvitationState};
use super::listing::Row;
use super::minis::{MiniProgram, Version};
use super::notifications::Notification;
use super::outbox::{MailState, OutboxMessage};
use super::publish::{ObjectKind, PublishState, PublishedObject};
use super::second_factor::{SecondFactor, TotpSecret};
use super::access_tokens::AccessToken;
use super::shown_once::ShownOnce;
use super::device_grants::{Decision, DeviceGrant};
use crate::model::account::TokenTerms;
use crate::model::account::TokenScope;
use super::releases::{Candidate, Pause, Release, Resumed, Shipped};
use super::sessions;
use super::tokens::{AccountToken, Purpose};
use super::members::Membership;
use super::admissions::PendingAdmission;
use super::change_requests::ChangeRequest;
use super::workspace_applications::WorkspaceApplication;
use super::workspaces::Workspace;
use crate::model::approvals::{Category, HistoryEntry, Status};
use crate::model::webhooks::{Attempt, DeliveryState, WebhookEvent};
use crate::model::apps::KeyKind;
use crate::model::minis::VersionState;
use crate::model::workspace::{ApplicationStatus, Representative, Role, WorkspaceStatus};

/// A fixed id: a UUIDv7-shaped prefix and `n`.
fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_f5a8_0000_7000_8000_0000_0000_0000 | n)
}

/// A fixed time (RFC 3339), with nanoseconds where the value would have them.
fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a fixed time")
}

const SHA_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA_B: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

fn registered_info() -> crate::model::workspace::RegisteredInfo {
    crate::model::workspace::RegisteredInfo { mcc: "5411".into(), address: "1 Main Street, Springfield".into(), representatives: representatives() }
}

fn representatives() -> Vec<Representative> {
    vec![
        Representative { name: "Ann Lee".into(), email: "ann@example.com".into() },
        Representative { name: "Zoë Ng".into(), email: "zoe@example.com".into() },
    ]
}

fn listing_row() -> Row {
    use crate::model::page::KeyValue;
    Row::new(&[1, 2], vec![KeyValue::Text("ann@example.com".into()), KeyValue::Int(1_772_356_530_123_456)])
}

pub(super) fn account() -> Account {
    Account {
        id: id(1),
        email: "ann@example.com".into(),
        username: "ann".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        is_operator: true,
        created: at("2026-03-01T09:15:30.123456789Z"),
        session_epoch: 3,
        email_verified: true,
        second_factor: Some(at("2026-03-01T10:00:00Z")),
        passkeys: 2,
    }
}

pub(super) fn workspace_application() -> WorkspaceApplication {
    WorkspaceApplication {
        id: id(2),
        applicant: id(1),
        applicant_name: "ann".into(),
        name: "Acme Wallet".into(),
        info: registered_info(),
        status: ApplicationStatus::Generated,
        reason: Some("Documents complete".into()),
        created: at("2026-03-01T09:20:00.5Z"),
        decided: Some(at("2026-03-02T14:00:00Z")),
        workspace_id: Some(id(3)),
    }
}

pub(super) fn workspace() -> Workspace {
    Workspace {
        id: id(3),
        name: "Acme Wallet".into(),
        info: registered_info(),
        status: WorkspaceStatus::Suspended,
        status_reason: Some("Unpaid invoice".into()),
        created: at("2026-03-02T14:00:00Z"),
        application: id(2),
        require_second_factor: true,
        single_sign_on: Some(crate::model::workspace::WorkspaceSso {
            provider: "acme-okta".into(),
            required: true,
            groups: vec![("mpdp-admins".into(), Role::WorkspaceAdmin), ("staff".into(), Role::WorkspaceDeveloper)],
        }),
    }
}

fn stored_passkey() -> super::passkeys::StoredPasskey {
    super::passkeys::StoredPasskey {
        id: id(9),
        name: "Work laptop".into(),
        credential: serde_json::json!({ "cred": { "cred_id": "AAEC", "counter": 7 } }),
        created: at("2026-12-06T10:00:00Z"),
        last_used: Some(at("2026-12-06T11:00:00Z")),
    }
}

fn ceremony() -> super::passkeys::Ceremony {
    super::passkeys::Ceremony {
        kind: super::passkeys::CeremonyKind::Register { name: "Work laptop".into() },
        account: Some(id(1)),
        state: serde_json::json!({ "rs": { "challenge": "AAEC" } }),
        expires: at("2026-12-06T10:05:00Z"),
    }
}

fn webhook_endpoint() -> super::webhooks::WebhookEndpoint {
    super::webhooks::WebhookEndpoint {
        id: id(40),
        workspace: id(3),
        url: "https://hooks.acme.example/mpdp".into(),
        description: "Release bot".into(),
        events: vec![WebhookEvent::VersionUploaded, WebhookEvent::ReleasePaused],
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        enabled: false,
        created: at("2026-12-06T10:00:00Z"),
        created_by: "ada".into(),
    }
}

fn webhook_delivery() -> super::webhooks::WebhookDelivery {
    super::webhooks::WebhookDelivery {
        id: id(41),
        workspace: id(3),
        endpoint: id(40),
        event: "release.paused".into(),
        payload: r#"{"data":{},"timestamp":"2026-12-06T10:00:00.000Z","type":"release.paused"}"#.into(),
        state: DeliveryState::Queued,
        tries: 1,
        next_attempt: at("2026-12-06T10:00:02Z"),
        attempts: vec![Attempt {
            at: at("2026-12-06T10:00:00Z"),
            status: Some(500),
            answer: "oops".into(),
            error: Some("Internal Server Error".into()),
            millis: 12,
        }],
        created: at("2026-12-06T10:00:00Z"),
    }
}

fn sso_provider() -> super::sso::SsoProvider {
    super::sso::SsoProvider {
        id: "acme-okta".into(),
        label: "Acme Okta".into(),
        issuer: "https://acme.okta.example/oauth2/default".into(),
        client_id: "0oa1b2c3".into(),
        client_secret: "s3cret".into(),
        allowed_domains: vec!["acme.example".into()],
        scopes: vec!["groups".into()],
        created: at("2026-12-06T10:00:00Z"),
    }
}

pub(super) fn membership() -> Membership {
    Membership {
        workspace: id(3),
        account: id(1),
        role: Role::WorkspaceAdmin,
        active: false,
        joined: at("2026-03-02T14:00:00Z"),
    }
}

fn pending_admission() -> PendingAdmission {
    PendingAdmission { role: Role::WorkspaceReviewer, added: at("2026-03-02T14:00:00Z") }
}

pub(super) fn change_request() -> ChangeRequest {
    ChangeRequest {
        id: id(4),
        workspace: id(3),
        workspace_name: "Acme Wallet".into(),
        requester: id(1),
        requester_name: "ann".into(),
        what: "Change the address to 2 Side Street".into(),
        why: "We moved".into(),
        created: at("2026-03-05T08:00:00Z"),
    }
}

fn outbox_message() -> OutboxMessage {
    OutboxMessage {
        id: id(5),
        to: vec!["bob@example.com".into()],
        subject: "You are invited to Acme Wallet".into(),
        body: "Open https://mpdp.example/invitations/tok_abc to join.\n".into(),
        state: MailState::Queued,
        attempts: 2,
        next_attempt: at("2026-03-05T08:10:00Z"),
        last_error: Some("421 try again later".into()),
        created: at("2026-03-05T08:00:00Z"),
        sent: None,
        secrets: vec!["tok_abc".into()],
        redacted: false,
    }
}

fn publish_state() -> PublishState {
    PublishState {
        wanted: 12,
        owed_since: Some(at("2026-03-05T08:00:00.000001Z")),
        published: 10,
        published_at: Some(at("2026-03-05T07:59:00Z")),
        target: Some("s3://releases/mpdp".into()),
        failures: 2,
        last_error: Some("the release target refused or could not be reached: 403 Forbidden".into()),
        last_attempt: Some(at("2026-03-05T08:00:04Z")),
    }
}

fn access_token() -> AccessToken {
    AccessToken {
        id: id(40),
        account: id(1),
        name: "release pipeline".into(),
        workspace: id(3),
        workspace_name: "Acme Wallet".into(),
        scopes: vec![TokenScope::Upload, TokenScope::Read],
        created: at("2026-03-01T10:00:00Z"),
        expires: at("2026-05-30T10:00:00Z"),
        last_used: Some(at("2026-03-05T08:00:00Z")),
        revoked: Some(at("2026-03-06T08:00:00Z")),
        signed_in_with: Some("acme-okta".into()),
    }
}

fn approved() -> Decision {
    Decision::Approved {
        account: id(1),
        terms: TokenTerms { name: "mpdp studio login".into(), workspace: "Acme Wallet".into(), scopes: vec![TokenScope::Upload, TokenScope::Publish], days: 90, signed_in_with: None },
    }
}

fn device_grant() -> DeviceGrant {
    DeviceGrant {
        user_code: "BCDF-GHJK".into(),
        created: at("2026-03-05T08:00:00Z"),
        expires: at("2026-03-05T08:10:00Z"),
        client: Some("203.0.113.7".into()),
        last_poll: Some(at("2026-03-05T08:00:05Z")),
        decision: Some(approved()),
    }
}

fn second_factor() -> SecondFactor {
    SecondFactor {
        totp: Some(TotpSecret { secret: "3132333435363738393031323334353637383930".into(), created: at("2026-03-01T10:00:00Z"), last_step: 59_034_000 }),
        pending: Some(TotpSecret { secret: "0102030405060708090a0b0c0d0e0f1011121314".into(), created: at("2026-03-02T10:00:00Z"), last_step: 0 }),
        recovery: vec![SHA_A.into(), SHA_B.into()],
        failures: 2,
        failing_since: Some(at("2026-03-05T08:00:00Z")),
    }
}

fn published_object() -> PublishedObject {
    PublishedObject {
        kind: ObjectKind::Document,
        sha256: SHA_A.into(),
        size: 2048,
        e_tag: Some("\"0cc175b9c0f1b6a831c399e269772661\"".into()),
        digest: Some(SHA_B.into()),
        sequence: Some(1_772_697_600_000),
        issued: Some(at("2026-03-05T08:00:00Z")),
        retired: Some(at("2026-03-05T09:00:00Z")),
    }
}

fn audit_event() -> AuditEvent {
    AuditEvent {
        at: at("2026-03-05T08:00:00.000001Z"),
        workspace: Some(id(3)),
        workspace_name: Some("Acme Wallet".into()),
        actor: Some(id(1)),
        actor_name: "ann".into(),
        action: "member.invited".into(),
        target: "bob@example.com".into(),
        details: "as Workspace Developer".into(),
        client: Some("203.0.113.7".into()),
    }
}

fn invitation() -> Invitation {
    Invitation {
        workspace: id(3),
        workspace_name: "Acme Wallet".into(),
        email: "bob@example.com".into(),
        role: Role::WorkspaceDeveloper,
        inviter: "ann".into(),
        inviter_id: Some(id(1)),
        created: at("2026-03-05T08:00:00Z"),
        expires: at("2026-03-12T08:00:00Z"),
        state: InvitationState::Accepted,
    }
}

fn app() -> App {
    App {
        id: id(6),
        workspace: id(3),
        name: "Acme Wallet iOS".into(),
        ios_bundle_id: Some("com.acme.wallet".into()),
        android_package: Some("com.acme.wallet.android".into()),
        created: at("2026-03-03T10:00:00Z"),
        created_by: "ann".into(),
        test_devices: vec!["qa-pixel-8-0001".into()],
    }
}

fn key_record() -> KeyRecord {
    KeyRecord {
        key: Key {
            id: "00000000000000a2".into(),
            kind: KeyKind::Upload,
            app: id(6),
            workspace: id(3),
            material: std::array::from_fn(|i| i as u8),
            tail: "abcd".into(),
            created: at("2026-03-03T10:05:00Z"),
            expires: Some(at("2027-03-03T10:05:00Z")),
            revoked: Some(at("2026-09-01T00:00:00Z")),
            last_used: Some(at("2026-08-31T23:59:59.999Z")),
        },
        scope: UploadScope { mini_programs: vec![id(7)], networks: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()] },
        created_by: Some(id(1)),
        shown_to: vec![id(1), id(9)],
    }
}

fn platform_key() -> PlatformKey {
    PlatformKey {
        seed: std::array::from_fn(|i| 100 + i as u8),
        public: std::array::from_fn(|i| 200 + i as u8),
        created: at("2026-03-02T14:00:00Z"),
    }
}

pub(super) fn mini_program() -> MiniProgram {
    MiniProgram {
        id: id(7),
        workspace: id(3),
        name: "Acme Pay".into(),
        description: "Pay at the till".into(),
        category: "Food & Drink".into(),
        has_icon: true,
        removed: false,
        created: at("2026-03-04T09:00:00Z"),
        created_by: "ann".into(),
        features: vec!["location".into()],
    }
}

pub(super) fn version() -> Version {
    Version {
        mini_program: id(7),
        version: "1.2.0".into(),
        state: VersionState::InReview,
        size: 2048,
        sha256: SHA_A.into(),
        uploaded_sha256: SHA_B.into(),
        uploaded_size: 2100,
        min_container: Some("2.4.0".into()),
        uploader: "Upload Key 00000000000000a2 (Acme Wallet iOS)".into(),
        key: Some("00000000000000a2".into()),
        account: Some(id(1)),
        signature: "c2lnbmF0dXJl".into(),
        signed_ts: 1_772_614_800,
        signed_nonce: "bm9uY2U".into(),
        note: "First release".into(),
        created: at("2026-03-04T09:00:00.25Z"),
    }
}

pub(super) fn approval() -> Application {
    Application {
        id: id(8),
        workspace: id(3),
        workspace_name: "Acme Wallet".into(),
        category: Category::Publishing,
        status: Status::Approved,
        applicant: id(1),
        applicant_name: "ann".into(),
        applicant_email: "ann@example.com".into(),
        mini_program: Some(id(7)),
        mini_program_name: Some("Acme Pay".into()),
        version: Some("1.2.0".into()),
        apps: vec![(id(6), "Acme Wallet iOS".into())],
        rollout: 100,
        feature: Some("location".into()),
        note: "First release".into(),
        created: at("2026-03-04T09:05:00Z"),
        finished: Some(at("2026-03-04T11:00:00Z")),
        decided_by: Some((id(9), "rita".into())),
        reason: Some("Looks good".into()),
        history: vec![
            HistoryEntry { at: at("2026-03-04T09:05:00Z"), who: "ann".into(), what: "Applied".into(), text: "First release".into() },
            HistoryEntry { at: at("2026-03-04T11:00:00Z"), who: "rita".into(), what: "Approved".into(), text: "Looks good".into() },
        ],
    }
}

fn release() -> Release {
    let shipped = |version: &str, released: &str, application: u128| Shipped {
        version: version.into(),
        sha256: SHA_A.into(),
        size: 2048,
        released: at(released),
        application: id(application),
    };
    Release {
        mini_program: id(7),
        app: id(6),
        stable: Some(shipped("1.2.0", "2026-03-04T11:00:00Z", 8)),
        candidate: Some(Candidate {
            shipped: shipped("1.3.0", "2026-03-05T11:00:00Z", 9),
            rollout: 125,
            seed: "00112233445566778899aabbccddeeff".into(),
            paused: Some(Pause { at: at("2026-03-05T12:00:00Z"), by: "health rule".into(), reason: "failure rate above 2 %".into() }),
        }),
        earlier: vec![shipped("1.1.0", "2026-03-01T11:00:00Z", 5)],
        health: crate::model::approvals::HealthRule { threshold_bp: 150, min_launches: 500, roll_back: true },
        resumed: Some(Resumed {
            version: "1.3.0".into(),
            released: at("2026-03-05T11:00:00Z"),
            at: at("2026-03-05T11:30:00Z"),
            reported: super::fleet::Counts { launches: 480, failed: 3, crashes: 9 },
        }),
        rolled_back_from: Vec::new(),
    }
}

fn notification() -> Notification {
    Notification {
        id: id(10),
        at: at("2026-03-04T11:00:00Z"),
        text: "Acme Pay 1.2.0 was approved".into(),
        link: "/approvals/0190f5a8-0000-7000-8000-000000000008".into(),
        read: true,
    }
}

fn account_token() -> AccountToken {
    AccountToken {
        account: id(1),
        purpose: Purpose::ChangeEmail,
        email: "ann@new.example".into(),
        created: at("2026-03-06T12:00:00Z"),
        expires: at("2026-03-07T12:00:00Z"),
    }
}

/// A signed-in session as the guards write it: its expiry (Unix seconds) and its data.
fn session() -> (i64, HashMap<String, serde_json::Value>) {
    let data = [
        (sessions::ACCOUNT_KEY, serde_json::json!(id(1))),
        (sessions::EPOCH_KEY, serde_json::json!(3u64)),
        (sessions::LOGIN_AT_KEY, serde_json::json!(1_772_700_000i64)),
        (sessions::LAST_SEEN_KEY, serde_json::json!(1_772_703_600i64)),
        (sessions::CLIENT_KEY, serde_json::json!("203.0.113.7")),
        (sessions::AGENT_KEY, serde_json::json!("Mozilla/5.0 (X11; Linux x86_64)")),
    ];
    (1_772_790_000, data.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Every variant of a stored enum, in declaration order. The match makes a new variant fail to
/// compile here until it is listed, so its spelling is pinned too.
macro_rules! every {
    ($ty:ident: $($variant:ident),+ $(,)?) => {{
        let _listed_all = |v: $ty| match v { $($ty::$variant)|+ => () };
        vec![$($ty::$variant),+]
    }};
}

/// Each value's name with what is stored for it.
fn pinned<T: Copy + Debug, C: Into<serde_json::Value>>(all: Vec<T>, code: impl Fn(T) -> C) -> Vec<(String, serde_json::Value)> {
    all.into_iter().map(|v| (format!("{v:?}"), code(v).into())).collect()
}

/// The numbers and words stored inside keys and values in place of a variant, and the lists'
/// codes and sorts, which the keyset index's keys hold: each pinned by name.
fn stored_codes() -> std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>> {
    use crate::model::audit::AuditAction;
    use crate::model::minis::MiniRole;
    use super::listing::Dimension;
    let mut codes = std::collections::BTreeMap::new();
    codes.insert("approval_category".into(), pinned(every!(Category: Publishing, Removal, MemberRequest, Feature), |c| c.code()));
    codes.insert("approval_status".into(), pinned(every!(Status: Pending, Approved, Rejected, Withdrawn), |c| c.code()));
    codes.insert("application_status".into(), pinned(every!(ApplicationStatus: Pending, Generated, Rejected, Withdrawn), |c| c.code()));
    codes.insert("token_purpose".into(), pinned(every!(Purpose: VerifyEmail, ChangeEmail, ResetPassword), |c| c.code()));
    codes.insert("mini_role".into(), pinned(every!(MiniRole: Admin, Developer), |c| super::minis::role_code(c)));
    codes.insert("delivery_state".into(), pinned(every!(DeliveryState: Queued, Delivered, Failed), Dimension::code_in_index));
    // The lists' filter dimensions (`listing::Dimension`).
    codes.insert("in_index.approval_category".into(), pinned(every!(Category: Publishing, Removal, MemberRequest, Feature), Dimension::code_in_index));
    codes.insert("in_index.approval_status".into(), pinned(every!(Status: Pending, Approved, Rejected, Withdrawn), Dimension::code_in_index));
    codes.insert("in_index.application_status".into(), pinned(every!(ApplicationStatus: Pending, Generated, Rejected, Withdrawn), Dimension::code_in_index));
    codes.insert("in_index.mail_state".into(), pinned(every!(MailState: Queued, Sent, Failed), Dimension::code_in_index));
    codes.insert("in_index.role".into(), pinned(every!(Role: WorkspaceAdmin, WorkspaceReviewer, MiniProgramAdmin, WorkspaceDeveloper), Dimension::code_in_index));
    codes.insert("in_index.workspace_status".into(), pinned(every!(WorkspaceStatus: Active, Suspended), Dimension::code_in_index));
    codes.insert("in_index.yes_or_no".into(), pinned(vec![true, false], Dimension::code_in_index));
    codes.insert("audit_action".into(), pinned(AuditAction::ALL.to_vec(), |a| a.code()));
    let lists = [
        ("accounts", super::accounts::LIST),
        ("members", super::members::LIST),
        ("audit", super::audit::LIST),
        ("security_audit", super::audit::SECURITY_LIST),
        ("outbox", super::outbox::LIST),
        ("workspace_applications", super::workspace_applications::APPLICATION_LIST),
        ("workspaces", super::workspaces::WORKSPACE_LIST),
        ("change_requests", super::change_requests::CHANGE_REQUEST_LIST),
        ("approvals", super::approvals::LIST),
        ("my_requests", super::approvals::MINE),
        ("versions", super::minis::VERSION_LIST),
        ("webhook_deliveries", super::webhooks::LIST),
    ];
    codes.insert("list".into(), lists.iter().map(|(name, l)| (name.to_string(), serde_json::json!({ "code": l.code, "sorts": l.sorts }))).collect());
    codes
}

/// Whether this run writes the kept files instead of comparing with them.
fn blessing() -> bool {
    let asked = std::env::var("MPDP_BLESS_GOLDEN").is_ok_and(|v| v == "1");
    assert!(
        !(asked && std::env::var_os("CI").is_some()),
        "MPDP_BLESS_GOLDEN is refused under CI: kept encodings change only in a reviewed commit"
    );
    asked
}

fn keep(file: &str, bytes: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/store/golden").join(file);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("could not write {}: {e}", path.display()));
}

fn same_bytes(file: &str, kept: &[u8], written: &[u8]) {
    assert!(
        written == kept,
        "the encoding of golden/{file} changed — a changed stored format needs a migration (see \
         the module's documentation)\n kept: {}\n  now: {}",
        String::from_utf8_lossy(kept),
        String::from_utf8_lossy(written),
    );
}

/// The kept bytes decode to `value`, and `value` encodes to the kept bytes.
fn equal<T: Serialize + DeserializeOwned + PartialEq + Debug>(file: &str, kept: &[u8], value: &T) {
    let written = encode(value).unwrap();
    if blessing() {
        return keep(file, &written);
    }
    let read: T = decode(kept).unwrap_or_else(|_| panic!("golden/{file} no longer decodes: old data would be unreadable"));
    assert_eq!(&read, value, "golden/{file} decodes to a different value");
    same_bytes(file, kept, &written);
}

/// As [`equal`], for a type without `PartialEq` (a secret): what the kept bytes decode to is
/// compared by its encoding.
fn equal_encoded<T: Serialize + DeserializeOwned>(file: &str, kept: &[u8], value: &T) {
    let written = encode(value).unwrap();
    if blessing() {
        return keep(file, &written);
    }
    let read: T = decode(kept).unwrap_or_else(|_| panic!("golden/{file} no longer decodes: old data would be unreadable"));
    same_bytes(file, kept, &encode(&read).unwrap());
    same_bytes(file, kept, &written);
}

/// One test per kept file, and the list of them all.
macro_rules! golden {
    ($($test:ident: $ty:ty = $value:expr => $file:literal, $check:ident;)+) => {
        $(
            #[test]
            fn $test() {
                $check::<$ty>($file, include_bytes!(concat!("golden/", $file)), &$value);
            }
        )+

        /// Every kept file and the type it holds.
        const KEPT: &[(&str, &str)] = &[$(($file, stringify!($ty))),+];
    };
}

golden! {
    account_is_kept: Account = account() => "account.json", equal;
    workspace_application_is_kept: WorkspaceApplication = workspace_application() => "workspace_application.json", equal;
    workspace_is_kept: Workspace = workspace() => "workspace.json", equal;
    membership_is_kept: Membership = membership() => "membership.json", equal;
    pending_admission_is_kept: PendingAdmission = pending_admission() => "pending_admission.json", equal;
    change_request_is_kept: ChangeRequest = change_request() => "change_request.json", equal;
    outbox_message_is_kept: OutboxMessage = outbox_message() => "outbox_message.json", equal;
    audit_event_is_kept: AuditEvent = audit_event() => "audit_event.json", equal;
    invitation_is_kept: Invitation = invitation() => "invitation.json", equal;
    app_is_kept: App = app() => "app.json", equal;
    key_record_is_kept: KeyRecord = key_record() => "key_record.json", equal;
    platform_key_is_kept: PlatformKey = platform_key() => "platform_key.json", equal_encoded;
    mini_program_is_kept: MiniProgram = mini_program() => "mini_program.json", equal;
    version_is_kept: Version = version() => "version.json", equal;
    approval_is_kept: Application = approval() => "approval.json", equal;
    release_is_kept: Release = release() => "release.json", equal;
    notification_is_kept: Notification = notification() => "notification.json", equal;
    account_token_is_kept: AccountToken = account_token() => "account_token.json", equal;
    listing_row_is_kept: Row = listing_row() => "listing_row.json", equal;
    publish_state_is_kept: PublishState = publish_state() => "publish_state.json", equal;
    published_object_is_kept: PublishedObject = published_object() => "published_object.json", equal;
    second_factor_is_kept: SecondFactor = second_factor() => "second_factor.json", equal;
    access_token_is_kept: AccessToken = access_token() => "access_token.json", equal;
    device_grant_is_kept: DeviceGrant = device_grant() => "device_grant.json", equal;
    sso_provider_is_kept: super::sso::SsoProvider = sso_provider() => "sso_provider.json", equal;
    stored_passkey_is_kept: super::passkeys::StoredPasskey = stored_passkey() => "stored_passkey.json", equal;
    ceremony_is_kept: super::passkeys::Ceremony = ceremony() => "ceremony.json", equal;
    webhook_endpoint_is_kept: super::webhooks::WebhookEndpoint = webhook_endpoint() => "webhook_endpoint.json", equal;
    webhook_delivery_is_kept: super::webhooks::WebhookDelivery = webhook_delivery() => "webhook_delivery.json", equal;
    device_decisions_are_kept: Vec<Decision> = vec![approved(), Decision::Denied] => "device_decision.json", equal;
    shown_once_is_kept: ShownOnce = ShownOnce { at: 1_772_697_600, sealed: "000102030405060708090a0b5a2f".into() } => "shown_once.json", equal;

    application_statuses_are_kept: Vec<ApplicationStatus> =
        every!(ApplicationStatus: Pending, Generated, Rejected, Withdrawn) => "application_status.json", equal;
    workspace_statuses_are_kept: Vec<WorkspaceStatus> =
        every!(WorkspaceStatus: Active, Suspended) => "workspace_status.json", equal;
    roles_are_kept: Vec<Role> =
        every!(Role: WorkspaceAdmin, WorkspaceReviewer, MiniProgramAdmin, WorkspaceDeveloper) => "role.json", equal;
    mail_states_are_kept: Vec<MailState> = every!(MailState: Queued, Sent, Failed) => "mail_state.json", equal;
    delivery_states_are_kept: Vec<DeliveryState> = every!(DeliveryState: Queued, Delivered, Failed) => "delivery_state.json", equal;
    webhook_events_are_kept: Vec<WebhookEvent> = WebhookEvent::ALL.to_vec() => "webhook_event.json", equal;
    invitation_states_are_kept: Vec<InvitationState> =
        every!(InvitationState: Pending, Accepted, Revoked) => "invitation_state.json", equal;
    key_kinds_are_kept: Vec<KeyKind> = every!(KeyKind: Accessing, Upload) => "key_kind.json", equal;
    token_scopes_are_kept: Vec<TokenScope> = every!(TokenScope: Upload, Read, Publish) => "token_scope.json", equal;
    object_kinds_are_kept: Vec<ObjectKind> = every!(ObjectKind: Bundle, Icon, Document) => "object_kind.json", equal;
    version_states_are_kept: Vec<VersionState> = every!(
        VersionState: Uploaded, InReview, Approved, Released, Rejected, Superseded, Removed, Retired
    ) => "version_state.json", equal;
    approval_categories_are_kept: Vec<Category> =
        every!(Category: Publishing, Removal, MemberRequest, Feature) => "approval_category.json", equal;
    approval_statuses_are_kept: Vec<Status> =
        every!(Status: Pending, Approved, Rejected, Withdrawn) => "approval_status.json", equal;
    token_purposes_are_kept: Vec<Purpose> =
        every!(Purpose: VerifyEmail, ChangeEmail, ResetPassword) => "token_purpose.json", equal;
    stored_codes_are_kept: std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>> =
        stored_codes() => "stored_codes.json", equal;
}

/// Sessions are stored as their expiry (8 bytes, big-endian) followed by their data as JSON.
#[test]
fn session_is_kept() {
    const FILE: &str = "session.bin";
    let kept: &[u8] = include_bytes!("golden/session.bin");
    let (expiry, data) = session();
    let written = sessions::encode_data(expiry, &data).unwrap();
    if blessing() {
        return keep(FILE, &written);
    }
    let read = sessions::split(kept).unwrap_or_else(|_| panic!("golden/{FILE} no longer decodes: sessions would be ended"));
    assert_eq!(read, (expiry, data), "golden/{FILE} decodes to a different session");
    same_bytes(FILE, kept, &written);
}

/// The key's own fields are also read alone from a stored key record.
#[test]
fn a_key_reads_alone_from_its_kept_record() {
    if blessing() {
        return;
    }
    let key: Key = decode(include_bytes!("golden/key_record.json")).unwrap();
    assert_eq!(key, key_record().key);
}

/// A table documented as holding a type as JSON without a kept file here fails, so a new stored
/// type cannot go without one.
#[test]
fn every_type_stored_as_json_has_a_kept_file() {
    let tables = include_str!("tables.rs");
    let kept: Vec<&str> = KEPT.iter().map(|(_, ty)| ty.rsplit("::").next().unwrap_or(ty).trim()).collect();
    let mut stored = 0;
    for (i, _) in tables.match_indices("` as JSON") {
        let name = tables[..i].rsplit('`').next().unwrap_or_default();
        assert!(kept.contains(&name), "tables.rs stores `{name}` as JSON, but it has no kept file in golden.rs");
        stored += 1;
    }
    assert!(stored >= 18, "tables.rs names {stored} types stored as JSON; the pattern no longer matches");
}

/// Every file under `golden/` is checked by a test here (none is left behind by a removed row).
#[test]
fn every_kept_file_is_checked() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/store/golden");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut checked: Vec<String> = KEPT.iter().map(|(file, _)| file.to_string()).chain(["session.bin".to_string()]).collect();
    checked.sort();
    assert_eq!(on_disk, checked);
}

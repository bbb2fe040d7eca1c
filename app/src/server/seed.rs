//! `mpdp dev seed`: fills a new data directory with realistic data for the benchmark, through
//! the same use cases the console and the Studio API run — sign-up, verification by the operator,
//! workspace application and generation, invitations accepted, Apps with their keys, mini
//! programs, signed bundle uploads, publishing reviews approved by a reviewer, and a large number
//! of feature applications filed in batches (one write transaction per batch).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use rand::RngCore;
use uuid::Uuid;

use crate::model::apps::KeyKind;
use crate::model::approvals::FEATURES;
use crate::model::workspace::{RepresentativeRow, Role};
use crate::model::AppError;
use crate::server::guard::{Member, Operator, SignedIn};
use crate::server::domain::{accounts, approvals, apps, members, minis, workspaces};
use crate::server::guard::act;
use crate::server::store::accounts::Account;
use crate::server::store::audit::Actor;
use crate::server::store::sessions::RedbSessionStore;
use crate::server::store::{tables, Store};
use crate::server::{state::AppState, Config, Context};
use crate::server::store::listing::Window;

/// The password of every seeded account.
pub const PASSWORD: &str = "bench otter 42";
/// Feature applications filed per write transaction.
const BATCH: usize = 5_000;
/// Mini programs per workspace with uploaded and released versions.
const MINI_PROGRAMS: usize = 3;
/// More mini programs in the first workspace (no versions yet), which the applications are about:
/// one application per mini program and feature may be pending at a time.
const DRAFTS: usize = 20;

/// What to seed.
pub struct Plan {
    pub workspaces: usize,
    pub members: usize,
    pub approvals: usize,
    /// More members of the first workspace, written in batches straight to the store (accounts
    /// as sign-up makes them, verified, joined as Workspace Developers): the Members page at
    /// scale.
    pub listed_members: usize,
    pub bundle_kib: usize,
}

/// What a benchmark needs to know about the seeded data, as `KEY=value` lines.
pub struct Seeded {
    pub lines: Vec<(String, String)>,
}

fn actor(name: &str) -> Actor {
    Actor::named(format!("{name} (mpdp dev seed)"))
}

/// `account` signed in through a real session, resolved by the same check every request makes.
async fn signed_in(state: &AppState, account: &Account) -> Result<SignedIn, AppError> {
    let session = tower_sessions::Session::new(None, Arc::new(RedbSessionStore::new(state.store.clone())), None);
    SignedIn::start(&state.clock, &session, account, None, None, crate::model::account::SignInMethod::Password).await?;
    session.save().await.map_err(|_| AppError::Internal)?;
    SignedIn::from_session(state, session).await?.ok_or(AppError::Unauthenticated)
}

async fn account_named(state: &AppState, name: &str) -> Result<Account, AppError> {
    let login = name.to_string();
    state
        .store
        .read(move |tx| crate::server::store::accounts::find_by_login(tx, &login))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("the seeded account {name} is missing")))
}

/// Signs a person up and has the operator mark the address verified (no SMTP here).
async fn person(state: &AppState, op: &Operator, name: &str) -> Result<Account, AppError> {
    accounts::sign_up(
        state,
        accounts::SignUp {
            email: format!("{name}@example.com"),
            username: name.into(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
        },
        None,
        None,
    )
    .await?;
    let account = account_named(state, name).await?;
    accounts::mark_verified(state, op, account.id, actor("operator")).await?;
    account_named(state, name).await
}

/// The secret link token of the newest mail to `email` (what the invitee clicks).
async fn newest_token_to(state: &AppState, email: &str) -> Result<String, AppError> {
    let email = email.to_string();
    state
        .store
        .read(move |tx| {
            use redb::ReadableTable;
            let t = tx.open_table(tables::OUTBOX)?;
            for row in t.iter()?.rev() {
                let m: crate::server::store::outbox::OutboxMessage = crate::server::store::codec::decode(row?.1.value())?;
                if m.to.iter().any(|t| t.eq_ignore_ascii_case(&email)) {
                    if let Some(s) = m.secrets.first() {
                        return Ok(s.clone());
                    }
                }
            }
            Err(AppError::NotFound(format!("no invitation mail to {email}")))
        })
        .await
}

/// A bundle: `app.json` and `S` KiB of incompressible bytes (so the file is `S` KiB), packed as
/// the canonical archive `mpdp studio upload` makes, so what is stored is what was uploaded.
fn bundle(kib: usize, seed: u64) -> Vec<u8> {
    use rand::SeedableRng;
    let mut data = vec![0u8; kib * 1024];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    crate::server::archive::pack(&[("app.json", br#"{"pages":["pages/index"]}"#), ("assets/payload.bin", &data)]).expect("a tar in memory")
}

/// Uploads a version through the Studio API's own checks, signed with the App's Upload Key.
async fn upload(state: &AppState, upload_key: &str, mp: Uuid, version: &str, bytes: Vec<u8>) -> Result<String, AppError> {
    let key = crate::server::keys::parse_upload_key(upload_key).ok_or_else(|| AppError::Internal)?;
    let sha = crate::server::keys::sha256_hex(&bytes);
    let sig = crate::server::keys::sign_upload(&key, &mp.to_string(), version, &sha, bytes.len() as u64, chrono::Utc::now().timestamp());
    let request = crate::server::studio::SignedUpload {
        mini_program: mp.to_string(),
        signature: Some(sig),
        version: Some(version.to_string()),
        note: None,
        content_length: Some(bytes.len().to_string()),
        authorization: None,
    };
    let uploaded = crate::server::studio::upload_checked(&state.studio_api(), request, None, Body::from(bytes))
        .await
        .map_err(|e| AppError::invalid("bundle", format!("the seeded upload was refused: {}", e.message)))?;
    // What is stored and served: the canonical archive re-packed from the upload.
    Ok(uploaded.version.sha256)
}

/// Seeds `plan` into the (new) data file `store`, with bundles under `bundle_dir`.
pub async fn seed(store: Store, bundle_dir: std::path::PathBuf, plan: &Plan, mut progress: impl FnMut(&str)) -> Result<Seeded, AppError> {
    let started = Instant::now();
    let config = Config { bundle_dir, ..Config::default() };
    let state = AppState::new(Context::new(store.clone(), config));
    let operator = accounts::create_operator_blocking(&store, "operator@example.com", "operator", PASSWORD)?;
    let op = Operator::check(signed_in(&state, &operator).await?)?;
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut logins: Vec<String> = Vec::new();
    let roles = [Role::WorkspaceAdmin, Role::WorkspaceReviewer, Role::MiniProgramAdmin, Role::WorkspaceDeveloper];

    for w in 1..=plan.workspaces {
        let name = format!("Bench{w}");
        progress(&format!("workspace {name}: {} members, {MINI_PROGRAMS} mini programs", plan.members));
        // The first member applies for the workspace, as its Business Representative.
        let people: Vec<(String, Role)> = (0..plan.members)
            .map(|i| {
                let role = roles[i % roles.len()];
                let label = match role {
                    Role::WorkspaceAdmin => "admin",
                    Role::WorkspaceReviewer => "reviewer",
                    Role::MiniProgramAdmin => "mpadmin",
                    Role::WorkspaceDeveloper => "dev",
                };
                (format!("w{w}-{label}{}", i / roles.len() + 1), role)
            })
            .collect();
        let mut accounts_of = Vec::new();
        for (username, _) in &people {
            accounts_of.push(person(&state, &op, username).await?);
            logins.push(username.clone());
        }
        let founder = signed_in(&state, &accounts_of[0]).await?;
        let form = workspaces::ApplicationForm {
            name: name.clone(),
            mcc: "5812".into(),
            address: format!("{w} Harbour Road"),
            representatives: vec![RepresentativeRow { name: people[0].0.clone(), email: accounts_of[0].email.clone() }],
        };
        let applied = workspaces::apply(&state, &founder, form, actor(&people[0].0)).await?;
        workspaces::generate(&state, &op, applied.id, actor("operator")).await?;
        let admin_member = || async { Member::check(&state, signed_in(&state, &accounts_of[0]).await?, &name).await };
        // Everyone else is invited with their role and accepts the link from the mail.
        for ((username, role), account) in people.iter().zip(&accounts_of).skip(1) {
            let admin = admin_member().await?.authorize(act::InviteMembers)?;
            members::invite(&state, &admin, vec![account.email.clone()], *role, actor(&people[0].0)).await?;
            let token = newest_token_to(&state, &account.email).await?;
            members::accept(&state, &signed_in(&state, account).await?, token, actor(username)).await?;
        }
        // An App with its two keys.
        let admin = admin_member().await?.authorize(act::ManageApps)?;
        let created = apps::create(
            &state,
            &admin,
            apps::AppForm { name: "Wallet".into(), ios: true, ios_bundle_id: format!("com.bench{w}.wallet"), android: true, android_package: format!("com.bench{w}.wallet") },
            actor(&people[0].0),
        )
        .await?;
        let key_of = |kind: KeyKind| created.keys.iter().find(|k| k.kind == kind).map(|k| k.key.clone()).ok_or(AppError::Internal);
        let (accessing, upload_key) = (key_of(KeyKind::Accessing)?, key_of(KeyKind::Upload)?);
        // Mini programs: 1.0.0 uploaded, reviewed and released; 1.1.0 uploaded after it.
        let reviewer = people.iter().position(|(_, r)| *r == Role::WorkspaceReviewer);
        let mini_admin = people.iter().position(|(_, r)| *r == Role::MiniProgramAdmin);
        let mut mini_ids = Vec::new();
        let mut released_sha = String::new();
        for p in 1..=MINI_PROGRAMS {
            let m = admin_member().await?.authorize(act::CreateMiniPrograms)?;
            let form = minis::MiniForm { name: format!("Mini {w}-{p}"), description: format!("Seeded mini program {p} of {name}"), category: "Shopping".into() };
            let mp = minis::create(&state, &m, form, None, actor(&people[0].0)).await?;
            if let Some(i) = mini_admin {
                let m = admin_member().await?.authorize(act::AssignMiniPrograms)?;
                minis::assign(&state, &m, mp, accounts_of[i].id, crate::model::minis::MiniRole::Admin, actor(&people[0].0)).await?;
            }
            let sha = upload(&state, &upload_key, mp, "1.0.0", bundle(plan.bundle_kib, (w * 100 + p) as u64)).await?;
            if let Some(r) = reviewer {
                let m = admin_member().await?.authorize(act::ApplyForMiniPrograms)?;
                let id = approvals::apply_publishing(&state, &m, mp, "1.0.0".into(), vec![created.app], "first release".into(), actor(&people[0].0)).await?;
                let rm = Member::check(&state, signed_in(&state, &accounts_of[r]).await?, &name).await?.authorize(act::DecideApprovals)?;
                approvals::decide(&state, &rm, id, true, String::new(), actor(&people[r].0)).await?;
                if released_sha.is_empty() {
                    released_sha = sha;
                }
            }
            upload(&state, &upload_key, mp, "1.1.0", bundle(plan.bundle_kib, (w * 100 + p + 50) as u64)).await?;
            mini_ids.push(mp);
        }
        if w == 1 {
            lines.push(("WORKSPACE".into(), name.clone()));
            lines.push(("APPROVALS_PATH".into(), format!("/w/{name}/approvals")));
            lines.push(("LOGIN".into(), people[0].0.clone()));
            lines.push(("PASSWORD".into(), PASSWORD.into()));
            lines.push(("OPERATOR_LOGIN".into(), "operator".into()));
            lines.push(("ACCESSING_KEY".into(), accessing));
            lines.push(("UPLOAD_KEY".into(), upload_key));
            // What a host App's container ships: its App id and the platform public key.
            lines.push(("APP".into(), created.app.to_string()));
            let wid = admin_member().await?.workspace().id;
            let platform = state.store.read(move |tx| crate::server::store::apps::platform_key(tx, wid)).await?.ok_or(AppError::Internal)?;
            lines.push(("PLATFORM_KEY".into(), crate::server::keys::public_key_text(&platform.public)));
            lines.push(("MINI_PROGRAM".into(), mini_ids[0].to_string()));
            lines.push(("FEATURES".into(), FEATURES.iter().map(|f| f.code).collect::<Vec<_>>().join(",")));
            lines.push(("BUNDLE_SHA256".into(), released_sha));
            lines.push(("BUNDLE_BYTES".into(), bundle(plan.bundle_kib, 101).len().to_string()));
            // Mini programs without versions yet, for the applications to be about.
            let mut drafts = Vec::new();
            for p in 1..=DRAFTS {
                let m = admin_member().await?.authorize(act::CreateMiniPrograms)?;
                let form = minis::MiniForm { name: format!("Draft {p}"), description: format!("Seeded draft {p}"), category: "Utilities".into() };
                drafts.push(minis::create(&state, &m, form, None, actor(&people[0].0)).await?);
            }
            // K feature applications by the Workspace Admin about every mini program but the first
            // (which the write benchmark uses), each rejected by the reviewer except the newest
            // round (one per mini program and feature), which stays pending.
            let filing = Instant::now();
            let pairs: Vec<(Uuid, &'static crate::model::approvals::Feature)> =
                mini_ids[1..].iter().chain(&drafts).flat_map(|mp| FEATURES.iter().map(move |f| (*mp, f))).collect();
            let reviewer = reviewer.ok_or_else(|| AppError::invalid("members", "the first workspace needs a Workspace Reviewer to decide applications"))?;
            let mut filed = 0;
            while filed < plan.approvals {
                let n = BATCH.min(plan.approvals - filed);
                let am = admin_member().await?.authorize(act::ApplyForMiniPrograms)?;
                let rm = Member::check(&state, signed_in(&state, &accounts_of[reviewer]).await?, &name).await?.authorize(act::DecideApprovals)?;
                let (standing, template, decider) = (am.standing(), approvals::feature_template(&am), approvals::Decider::of(&rm));
                let (applicant, decider_actor) = (actor(&people[0].0), actor(&people[reviewer].0));
                let rejection = approvals::decision_reason(false, "Seeded: not needed yet")?;
                let (pairs, total, url) = (pairs.clone(), plan.approvals, state.config.public_url.clone());
                state
                    .store
                    .write(move |tx| {
                        let viewer = standing.recheck(tx)?;
                        for i in filed..filed + n {
                            let (mp, f) = pairs[i % pairs.len()];
                            let id = approvals::apply_feature_in(tx, &viewer, &template, mp, f, format!("Seeded request {i}"), &applicant, &url)?;
                            if i + pairs.len() < total {
                                approvals::decide_in(tx, &decider, id, false, rejection.clone(), &decider_actor, &url)?;
                            }
                        }
                        Ok(())
                    })
                    .await?;
                filed += n;
                progress(&format!("{filed} of {} applications filed", plan.approvals));
            }
            lines.push(("APPLICATIONS".into(), plan.approvals.to_string()));
            lines.push(("FILING_SECONDS".into(), format!("{:.2}", filing.elapsed().as_secs_f64())));
            // A page deep in the list: the middle, reached by following "next" as a reader would.
            let m = admin_member().await?.authorize(act::ViewApprovals)?;
            let mut cursor = String::new();
            let mut offset = 0u64;
            let target = (plan.approvals as u64 / 2).saturating_sub(1);
            loop {
                let page = approvals::list(&state, &m, approvals::ListFilter { category: String::new(), status: String::new(), search: String::new(), at: crate::model::page::Position { cursor: cursor.clone(), ..Default::default() } }).await?;
                match page.next {
                    Some(next) if offset + (page.items.len() as u64) <= target => {
                        offset += page.items.len() as u64;
                        cursor = next;
                    }
                    _ => break,
                }
            }
            lines.push(("DEEP_CURSOR".into(), cursor));
            lines.push(("DEEP_OFFSET".into(), offset.to_string()));
            // The listed members, and a page of the Members list and of the operator's audit log
            // deep in each.
            let wid = admin_member().await?.workspace().id;
            let password_hash = accounts_of[0].password_hash.clone();
            let mut added = 0;
            while added < plan.listed_members {
                let n = BATCH.min(plan.listed_members - added);
                let hash = password_hash.clone();
                state
                    .store
                    .write(move |tx| {
                        let now = chrono::Utc::now();
                        for i in added..added + n {
                            let account = Account {
                                id: Uuid::now_v7(),
                                email: format!("listed{i}@example.com"),
                                username: format!("listed{i}"),
                                password_hash: hash.clone(),
                                is_operator: false,
                                created: now,
                                session_epoch: 0,
                                email_verified: true,
                                second_factor: None,
                                passkeys: 0,
                            };
                            crate::server::store::accounts::insert(tx, &account)?;
                            let m = crate::server::store::members::Membership {
                                workspace: wid,
                                account: account.id,
                                role: Role::WorkspaceDeveloper,
                                active: true,
                                joined: now + chrono::Duration::microseconds(i as i64),
                            };
                            crate::server::store::members::put_membership(tx, &m)?;
                        }
                        Ok(())
                    })
                    .await?;
                added += n;
                progress(&format!("{added} of {} listed members added", plan.listed_members));
            }
            let middle = |total: u64| (total / 2).saturating_sub(1);
            let deep = |list: crate::server::store::listing::List, scope: u128, sort: &'static str| {
                let store = state.store.clone();
                async move {
                    store
                        .read(move |tx| {
                            let total = crate::server::store::listing::count(tx, list, scope, 0)?;
                            let (mut cursor, mut offset) = (String::new(), 0u64);
                            loop {
                                let window = Window::parse(list, sort, &cursor, crate::model::page::PER_PAGE)?;
                                let q = crate::server::store::listing::Query { scope, filter: 0, window: &window };
                                let page = crate::server::store::listing::page(tx, list, &q, |id| Ok(Some(id)))?.page;
                                match page.next {
                                    Some(next) if offset + page.items.len() as u64 <= middle(total) => {
                                        offset += page.items.len() as u64;
                                        cursor = next;
                                    }
                                    _ => return Ok((cursor, total)),
                                }
                            }
                        })
                        .await
                }
            };
            let (members_cursor, members_total) = deep(crate::server::store::members::LIST, wid.as_u128(), "email").await?;
            let (audit_cursor, audit_total) = deep(crate::server::store::audit::LIST, 0, "-time").await?;
            lines.push(("MEMBERS".into(), members_total.to_string()));
            lines.push(("MEMBERS_PATH".into(), format!("/w/{name}/members")));
            lines.push(("MEMBERS_DEEP_CURSOR".into(), members_cursor));
            lines.push(("AUDIT_EVENTS".into(), audit_total.to_string()));
            lines.push(("AUDIT_DEEP_CURSOR".into(), audit_cursor));
        }
    }
    lines.push(("LOGINS".into(), logins.join(",")));
    lines.push(("SEED_SECONDS".into(), format!("{:.2}", started.elapsed().as_secs_f64())));
    drop(state);
    Ok(Seeded { lines })
}

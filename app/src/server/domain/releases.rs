//! Release control: what a mini program's admins (and the Workspace Admins) do with a release
//! once it was approved — raise, pause, resume, complete or abort the candidate's rollout, and
//! roll the stable back to a version released there before. No new review: each version was
//! reviewed when it was first released. Each change is audited, in the transaction that makes it.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::approvals::{rollout_label, validate_reason, DayFigures, HealthRule, FULL_ROLLOUT};
use crate::model::audit::AuditAction;
use crate::model::minis::VersionState;
use crate::model::AppError;
use crate::server::guard::{act, Authorized, MiniNeed, MiniProgramAccess};
use crate::server::store::audit::{self, Actor};
use crate::server::store::releases::{self, Pause, Release, Resumed};
use crate::server::store::{apps as app_store, minis};
use crate::server::Context;

use super::approvals::supersede_unserved;

/// A change to a candidate's rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// To a larger share, in per-mille.
    Raise(u16),
    Pause,
    Resume,
    /// The candidate becomes the stable.
    Complete,
    /// The candidate is withdrawn; the stable stays.
    Abort,
}

/// The candidate's version a control names, as sent: required, so that it acts on the candidate
/// the person saw and not on one released since.
fn meant_version(version: &str) -> Result<String, AppError> {
    let v = version.trim();
    if v.is_empty() {
        return Err(AppError::invalid("Version", "is required: the version of the candidate to change"));
    }
    Ok(v.to_string())
}

fn no_candidate(app: &str, meant: &str) -> AppError {
    AppError::conflict("Version", format!("{meant} is no longer rolling out to {app}: there is no candidate; reload the page"))
}

fn not_the_candidate(app: &str, meant: &str, current: &str) -> AppError {
    AppError::conflict("Version", format!("{meant} is no longer the candidate on {app}: {current} is; reload the page to see it before changing its rollout"))
}

/// Applies `change` to the release of `mp` to `app`, in one write: the member's standing
/// re-checked, the mini program managed by them (its admin, or a Workspace Admin), then `apply`
/// given the release (404 when the mini program is not released to that App) and the App's name;
/// it returns the audit action and its details.
async fn change(
    cx: &Context,
    m: &Authorized<act::ControlReleases>,
    mp: Uuid,
    app: Uuid,
    actor: Actor,
    apply: impl FnOnce(&redb::WriteTransaction, &mut Release, &str) -> Result<(AuditAction, String), AppError> + Send + 'static,
) -> Result<(), AppError> {
    m.write(cx, move |tx, viewer| {
        let p = MiniProgramAccess::check(tx, viewer, mp, MiniNeed::Manage)?.into_mini_program();
        let not_released = || AppError::NotFound("This mini program is not released to that App.".into());
        let a = app_store::app_of(tx, viewer.workspace(), app)?.ok_or_else(not_released)?;
        let mut r = releases::get(tx, mp, app)?.ok_or_else(not_released)?;
        let before: Vec<String> = r.served().map(|s| s.version.clone()).collect();
        let (action, details) = apply(tx, &mut r, &a.name)?;
        r.forget_old_resumption();
        releases::put(tx, &r)?;
        supersede_unserved(tx, mp, before.iter())?;
        audit::record(tx, &actor, viewer.audited(), action, &p.name, &format!("{}: {details}", a.name))?;
        Ok(())
    })
    .await
}

/// Raises, pauses, resumes, completes or aborts the candidate of `mp` on `app`, which must be
/// `version` (the one the person saw: approving another release replaces the candidate, and a
/// control meant for the one before is refused, 409, changing nothing).
pub async fn control(cx: &Context, m: &Authorized<act::ControlReleases>, mp: Uuid, app: Uuid, version: &str, what: Control, actor: Actor) -> Result<(), AppError> {
    let meant = meant_version(version)?;
    if let Control::Raise(to) = what {
        if to > FULL_ROLLOUT {
            return Err(AppError::invalid("Rollout", "must be a percentage from 0 to 100"));
        }
    }
    let by = m.who().account().username.clone();
    change(cx, m, mp, app, actor, move |tx, r, app_name| {
        let c = r.candidate.as_mut().ok_or_else(|| no_candidate(app_name, &meant))?;
        if c.shipped.version != meant {
            return Err(not_the_candidate(app_name, &meant, &c.shipped.version));
        }
        let version = c.shipped.version.clone();
        Ok(match what {
            Control::Raise(to) => {
                if c.paused.is_some() {
                    return Err(AppError::conflict("Release", format!("{version} is paused on {app_name}: resume it before raising its rollout")));
                }
                if to <= c.rollout {
                    return Err(AppError::invalid("Rollout", format!("must be above the current {}; to give fewer installs {version}, pause or abort it", rollout_label(c.rollout))));
                }
                let from = c.rollout;
                c.rollout = to;
                (AuditAction::ReleaseRaised, format!("{version} from {} to {}", rollout_label(from), rollout_label(to)))
            }
            Control::Pause => {
                if c.paused.is_some() {
                    return Err(AppError::conflict("Release", format!("{version} is already paused on {app_name}")));
                }
                c.paused = Some(Pause { at: crate::server::store::now(), by, reason: "paused from the console".into() });
                (AuditAction::ReleasePaused, format!("{version} at {}", rollout_label(c.rollout)))
            }
            Control::Resume => {
                if c.paused.is_none() {
                    return Err(AppError::conflict("Release", format!("{version} is not paused on {app_name}")));
                }
                releases::room_for_candidate(tx, &[(r.app, app_name.to_string())], r.mini_program)?;
                let c = r.candidate.as_mut().ok_or(AppError::Internal)?;
                c.paused = None;
                let details = format!("{version} at {}", rollout_label(c.rollout));
                // The health rule judges what is reported from now on: what was reported before
                // was judged already (it may be why the candidate was paused).
                let (at, released) = (crate::server::store::now(), c.shipped.released);
                let c = r.candidate.as_ref().ok_or(AppError::Internal)?;
                let reported = crate::server::domain::fleet::reported_since_release(tx, r, c)?;
                r.resumed = Some(Resumed { version: version.clone(), released, at, reported });
                (AuditAction::ReleaseResumed, details)
            }
            Control::Complete => {
                if c.paused.is_some() {
                    return Err(AppError::conflict("Release", format!("{version} is paused on {app_name}: resume it before completing its rollout")));
                }
                let done = r.candidate.take().ok_or(AppError::Internal)?;
                let details = format!("{version} from {} to every install", rollout_label(done.rollout));
                r.make_stable(done.shipped);
                (AuditAction::ReleaseCompleted, details)
            }
            Control::Abort => {
                let gone = r.candidate.take().ok_or(AppError::Internal)?;
                let stays = r.stable.as_ref().map_or("nothing else".to_string(), |s| s.version.clone());
                (AuditAction::ReleaseAborted, format!("{version} at {} withdrawn; {stays} stays", rollout_label(gone.rollout)))
            }
        })
    })
    .await
}

/// Replaces the health rule of the release of `mp` to `app`.
pub async fn set_health_rule(cx: &Context, m: &Authorized<act::ControlReleases>, mp: Uuid, app: Uuid, rule: HealthRule, actor: Actor) -> Result<(), AppError> {
    change(cx, m, mp, app, actor, move |_, r, _| {
        if r.health == rule {
            return Err(AppError::invalid("Failure threshold", "nothing was changed"));
        }
        r.health = rule;
        let how = if rule.roll_back { "withdraw" } else { "pause" };
        Ok((AuditAction::ReleaseHealthRuleChanged, format!("{how} a candidate at a failure rate of {} after {} launches", rule.threshold_label(), rule.min_launches)))
    })
    .await
}

/// Per version, the launches and failure rate of mini program `mp` on `app` over the last
/// `days` days: (version, day since the Unix epoch, launches, failed launches, crashes).
pub async fn daily_figures(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, mp: Uuid, app: Uuid, days: i64) -> Result<Vec<DayFigures>, AppError> {
    let viewer = m.scope();
    let now = cx.clock.now();
    cx.store
        .read(move |tx| {
            MiniProgramAccess::check(tx, &viewer, mp, MiniNeed::See)?;
            app_store::app_of(tx, viewer.workspace(), app)?.or_missing(Missing::App)?;
            crate::server::domain::fleet::figures(tx, app, mp, days, now)
        })
        .await
}

/// Makes `version`, released to `app` before, the stable again at once, with a reason; the
/// stable it replaces is kept among the earlier versions (it can be rolled back to in turn, but
/// is no older container's fallback), and a candidate rolling out there is withdrawn.
pub async fn rollback(cx: &Context, m: &Authorized<act::ControlReleases>, mp: Uuid, app: Uuid, version: String, reason: String, actor: Actor) -> Result<(), AppError> {
    let reason = validate_reason(&reason)?;
    let version = version.trim().to_string();
    change(cx, m, mp, app, actor, move |tx, r, app_name| {
        if r.stable.as_ref().is_some_and(|s| s.version == version) && r.candidate.is_none() {
            return Err(AppError::conflict("Version", format!("{version} is already what every install of {app_name} gets")));
        }
        let mut target = r
            .earlier
            .iter()
            .chain(r.stable.iter())
            .find(|e| e.version == version)
            .cloned()
            .ok_or_else(|| AppError::invalid("Version", format!("{version} was never the stable of this mini program on {app_name}: choose one of the versions released there before")))?;
        let mut v = minis::version(tx, r.mini_program, &version)?.ok_or_else(|| AppError::invalid("Version", format!("{version} is no longer stored")))?;
        if matches!(v.state, VersionState::Removed | VersionState::Retired) {
            return Err(AppError::conflict("Version", format!("{version} is {}; it can't be released again", v.state.label())));
        }
        // What it replaced that is newer than the version gone back to was rolled back from; an
        // older one (a roll forward) stays an older container's fallback.
        let newer = |v: &str| match (semver::Version::parse(v), semver::Version::parse(&version)) {
            (Ok(v), Ok(to)) => v.cmp_precedence(&to).is_gt(),
            _ => v != version,
        };
        let replaced: Vec<String> = r.served().map(|s| s.version.clone()).filter(|v| newer(v)).collect();
        let from = r.served().map(|s| s.version.clone()).collect::<Vec<_>>().join(" and ");
        r.candidate = None;
        target.released = crate::server::store::now();
        r.make_stable(target);
        let mut rolled_back_from = replaced;
        for v in std::mem::take(&mut r.rolled_back_from) {
            if v != version && !rolled_back_from.contains(&v) {
                rolled_back_from.push(v);
            }
        }
        r.rolled_back_from = rolled_back_from.into_iter().filter(|v| r.earlier.iter().any(|e| e.version == *v)).collect();
        v.state = VersionState::Released;
        minis::put_version(tx, &v)?;
        Ok((AuditAction::ReleaseRolledBack, format!("{from} → {version}: {reason}")))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::approvals::tests_support::{release_world, ReleaseWorld};

    fn at(w: &ReleaseWorld) -> Release {
        let (mp, app) = (w.mp, w.app);
        w.state.store.read_blocking(move |tx| releases::get(tx, mp, app)).unwrap().unwrap()
    }

    fn stable(r: &Release) -> &str {
        r.stable.as_ref().map_or("", |s| s.version.as_str())
    }

    #[tokio::test]
    async fn a_candidate_is_raised_paused_resumed_and_completed_and_each_step_is_refused_out_of_turn() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let (cx, admin, mp, app) = (&w.state, &w.admin, w.mp, w.app);
        let r = at(&w);
        assert_eq!((stable(&r), r.candidate.as_ref().unwrap().rollout), ("1.0.0", 100));
        let e = control(cx, admin, mp, app, "1.1.0", Control::Raise(100), w.actor()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Rollout")));
        let e = control(cx, admin, mp, app, "1.1.0", Control::Raise(1001), w.actor()).await.unwrap_err();
        assert_eq!(e.field(), Some("Rollout"));
        control(cx, admin, mp, app, "1.1.0", Control::Raise(250), w.actor()).await.unwrap();
        assert_eq!(at(&w).candidate.unwrap().rollout, 250);
        assert_eq!(control(cx, admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap_err().status(), 409);
        control(cx, admin, mp, app, "1.1.0", Control::Pause, w.actor()).await.unwrap();
        assert_eq!(control(cx, admin, mp, app, "1.1.0", Control::Pause, w.actor()).await.unwrap_err().status(), 409);
        let before = at(&w);
        assert_eq!(control(cx, admin, mp, app, "1.1.0", Control::Raise(500), w.actor()).await.unwrap_err().status(), 409);
        // A page shown before the pause (by a person, or the health rule) cannot complete it.
        let e = control(cx, admin, mp, app, "1.1.0", Control::Complete, w.actor()).await.unwrap_err();
        assert!(e.status() == 409 && e.to_string().contains("resume it before completing"), "{e}");
        assert_eq!(at(&w), before, "a refusal changes nothing");
        control(cx, admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap();
        control(cx, admin, mp, app, "1.1.0", Control::Complete, w.actor()).await.unwrap();
        let r = at(&w);
        assert_eq!(stable(&r), "1.1.0");
        assert!(r.candidate.is_none());
        assert_eq!(r.earlier.iter().map(|e| e.version.as_str()).collect::<Vec<_>>(), ["1.0.0"]);
        assert_eq!(w.state_of("1.0.0").await, VersionState::Superseded);
        assert_eq!(control(cx, admin, mp, app, "1.1.0", Control::Complete, w.actor()).await.unwrap_err().status(), 409);
        let actions = w.audit_actions().await;
        for a in ["release.raised", "release.paused", "release.resumed", "release.completed"] {
            assert!(actions.contains(&a.to_string()), "{a} not audited: {actions:?}");
        }
    }

    #[tokio::test]
    async fn a_control_naming_another_version_than_the_candidate_is_refused_and_changes_nothing() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let (cx, admin, mp, app) = (&w.state, &w.admin, w.mp, w.app);
        let before = at(&w);
        for what in [Control::Raise(500), Control::Pause, Control::Resume, Control::Complete, Control::Abort] {
            let e = control(cx, admin, mp, app, "1.0.0", what, w.actor()).await.unwrap_err();
            assert_eq!((e.status(), e.field()), (409, Some("Version")), "{what:?}");
            assert!(e.to_string().contains("1.0.0 is no longer the candidate on") && e.to_string().contains("1.1.0 is; reload the page"), "{e}");
            let e = control(cx, admin, mp, app, " ", what, w.actor()).await.unwrap_err();
            assert_eq!((e.status(), e.field()), (422, Some("Version")), "{what:?}");
        }
        assert_eq!(at(&w), before, "a refusal changes nothing");
        control(cx, admin, mp, app, " 1.1.0 ", Control::Complete, w.actor()).await.unwrap();
        let e = control(cx, admin, mp, app, "1.1.0", Control::Abort, w.actor()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Version")));
        assert!(e.to_string().contains("1.1.0 is no longer rolling out"), "{e}");
    }

    #[tokio::test]
    async fn a_resumption_is_remembered_for_its_candidate_only() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let (cx, admin, mp, app) = (&w.state, &w.admin, w.mp, w.app);
        control(cx, admin, mp, app, "1.1.0", Control::Pause, w.actor()).await.unwrap();
        control(cx, admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap();
        let r = at(&w);
        let resumed = r.judged_after().expect("the resumption of 1.1.0");
        assert_eq!((resumed.version.as_str(), resumed.reported), ("1.1.0", Default::default()));
        control(cx, admin, mp, app, "1.1.0", Control::Complete, w.actor()).await.unwrap();
        assert_eq!(at(&w).resumed, None, "a completed candidate's resumption is forgotten");
    }

    #[tokio::test]
    async fn a_paused_candidate_resumes_only_while_its_app_serves_fewer_than_the_most_candidates() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let (cx, admin, mp, app) = (&w.state, &w.admin, w.mp, w.app);
        control(cx, admin, mp, app, "1.1.0", Control::Pause, w.actor()).await.unwrap();
        let others = w.state.store.write(move |tx| releases::fixtures::fill_with_candidates(tx, app, releases::MAX_ROLLING_PER_APP)).await.unwrap();
        let before = at(&w);
        let e = control(cx, admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Release")));
        assert!(e.to_string().contains("Wallet already rolls out 64 candidates"), "{e}");
        assert_eq!(at(&w), before, "a refusal changes nothing");
        // A paused one does not count.
        let first = others[0];
        w.state.store.write(move |tx| {
            let mut r = releases::get(tx, first, app)?.ok_or(AppError::Internal)?;
            r.candidate.as_mut().ok_or(AppError::Internal)?.paused = Some(Pause { at: crate::server::store::now(), by: "ann".into(), reason: "test".into() });
            releases::put(tx, &r)
        }).await.unwrap();
        control(cx, admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap();
        assert!(at(&w).candidate.unwrap().paused.is_none());
    }

    #[tokio::test]
    async fn an_abort_withdraws_the_candidate_and_keeps_the_stable() {
        let w = release_world(&["1.0.0", "1.1.0"], 50).await;
        control(&w.state, &w.admin, w.mp, w.app, "1.1.0", Control::Abort, w.actor()).await.unwrap();
        let r = at(&w);
        assert_eq!(stable(&r), "1.0.0");
        assert!(r.candidate.is_none());
        assert_eq!(w.state_of("1.1.0").await, VersionState::Superseded);
        assert_eq!(control(&w.state, &w.admin, w.mp, w.app, "1.1.0", Control::Abort, w.actor()).await.unwrap_err().status(), 409);
    }

    #[tokio::test]
    async fn a_rollback_returns_to_an_earlier_stable_at_once_and_can_be_undone() {
        let w = release_world(&["1.0.0", "1.1.0", "1.2.0"], 1000).await;
        let (cx, admin, mp, app) = (&w.state, &w.admin, w.mp, w.app);
        assert_eq!(stable(&at(&w)), "1.2.0");
        let e = rollback(cx, admin, mp, app, "1.1.0".into(), " ".into(), w.actor()).await.unwrap_err();
        assert_eq!(e.field(), Some("Reason"));
        let e = rollback(cx, admin, mp, app, "0.9.0".into(), "crashes".into(), w.actor()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Version")));
        let e = rollback(cx, admin, mp, app, "1.2.0".into(), "crashes".into(), w.actor()).await.unwrap_err();
        assert_eq!(e.status(), 409);
        rollback(cx, admin, mp, app, "1.0.0".into(), "crashes on start".into(), w.actor()).await.unwrap();
        let r = at(&w);
        assert_eq!(stable(&r), "1.0.0");
        assert_eq!(r.earlier.iter().map(|e| e.version.as_str()).collect::<Vec<_>>(), ["1.2.0", "1.1.0"]);
        assert_eq!((w.state_of("1.0.0").await, w.state_of("1.2.0").await), (VersionState::Released, VersionState::Superseded));
        assert_eq!(r.rolled_back_from, ["1.2.0"], "no older container's fallback");
        // The version rolled back from can be released again the same way.
        rollback(cx, admin, mp, app, "1.2.0".into(), "fixed on the server".into(), w.actor()).await.unwrap();
        let r = at(&w);
        assert_eq!(stable(&r), "1.2.0");
        assert!(r.rolled_back_from.is_empty(), "chosen again, 1.2.0 is no longer marked; 1.0.0, older, was rolled forward from and stays a fallback: {:?}", r.rolled_back_from);
        assert!(w.audit_actions().await.contains(&"release.rolled_back".to_string()));
    }

    #[tokio::test]
    async fn only_a_manager_of_the_mini_program_controls_its_release() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let before = at(&w);
        for other in [&w.developer, &w.other_admin] {
            let e = control(&w.state, other, w.mp, w.app, "1.1.0", Control::Raise(500), w.actor()).await.unwrap_err();
            assert!(matches!(e.status(), 403 | 404), "{e}");
            let e = rollback(&w.state, other, w.mp, w.app, "1.0.0".into(), "why".into(), w.actor()).await.unwrap_err();
            assert!(matches!(e.status(), 403 | 404), "{e}");
        }
        let e = control(&w.state, &w.admin, w.mp, Uuid::now_v7(), "1.1.0", Control::Pause, w.actor()).await.unwrap_err();
        assert_eq!(e.status(), 404);
        assert_eq!(at(&w), before);
    }
}

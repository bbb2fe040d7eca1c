//! One App's release of a mini program on its page: the stable version, the candidate rolling out
//! and its share, the health rule, the fleet's figures per day, and — for the mini program's
//! managers — raising, pausing, resuming, completing, aborting and rolling back.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::releases::{AbortRollout, CompleteRollout, PauseRollout, RaiseRollout, ResumeRollout, RollbackRelease, SetHealthRule};
use crate::model::approvals::{rollout_label, DayFigures, ReleaseView};
use crate::ui::kit::chart::{LineChart, Series};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{action_error, fmt_time, successes, Field, ServerForm};

/// The actions of release control, made in the page's body (see `release::Release`).
#[derive(Clone, Copy)]
pub struct Controls {
    raise: ServerAction<RaiseRollout>,
    pause: ServerAction<PauseRollout>,
    resume: ServerAction<ResumeRollout>,
    complete: ServerAction<CompleteRollout>,
    abort: ServerAction<AbortRollout>,
    rollback: ServerAction<RollbackRelease>,
    health: ServerAction<SetHealthRule>,
}

impl Controls {
    pub fn new() -> Self {
        Controls {
            raise: ServerAction::new(),
            pause: ServerAction::new(),
            resume: ServerAction::new(),
            complete: ServerAction::new(),
            abort: ServerAction::new(),
            rollback: ServerAction::new(),
            health: ServerAction::new(),
        }
    }

    /// Their successes, which reload the release.
    pub fn successes(&self) -> [Memo<usize>; 7] {
        [
            successes(self.raise),
            successes(self.pause),
            successes(self.resume),
            successes(self.complete),
            successes(self.abort),
            successes(self.rollback),
            successes(self.health),
        ]
    }
}

impl Default for Controls {
    fn default() -> Self {
        Controls::new()
    }
}

/// The candidate in words: its version, its share and whether it is rolling out or paused.
fn candidate_text(r: &ReleaseView) -> String {
    match &r.candidate {
        None => "None: every install gets the stable version.".into(),
        Some(c) => format!("{} to {} of installs (since {}), {}", c.version, rollout_label(c.rollout), fmt_time(&c.released), c.state()),
    }
}

/// The days and the launches and failure rate of each version on them, as chart series.
fn series(figures: &[DayFigures]) -> (Vec<String>, Vec<Series>, Vec<Series>) {
    let mut days: Vec<chrono::NaiveDate> = figures.iter().map(|f| f.day).collect();
    days.sort();
    days.dedup();
    let mut versions: Vec<&str> = figures.iter().map(|f| f.version.as_str()).collect();
    versions.sort();
    versions.dedup();
    let on = |v: &str, d: &chrono::NaiveDate| figures.iter().find(|f| f.version == v && f.day == *d);
    let launches = versions
        .iter()
        .map(|v| Series { name: v.to_string(), values: days.iter().map(|d| on(v, d).map_or(0.0, |f| f.launches as f64)).collect() })
        .collect();
    let rates = versions
        .iter()
        .map(|v| Series { name: v.to_string(), values: days.iter().map(|d| on(v, d).map_or(0.0, DayFigures::failure_rate)).collect() })
        .collect();
    (days.iter().map(|d| d.format("%b %-d").to_string()).collect(), launches, rates)
}

/// One App's release, numbered `n` on the page (for unique ids).
#[component]
pub fn AppRelease(controls: Controls, workspace: String, id: Uuid, n: usize, release: ReleaseView, manage: bool) -> impl IntoView {
    let r = release;
    let heading = format!("release-app-{n}");
    let fields = vec![("workspace", workspace.clone()), ("id", id.to_string()), ("app", r.app_id.to_string())];
    let stable = match (&r.version, &r.released) {
        (Some(v), Some(at)) => format!("{v} (since {})", fmt_time(at)),
        _ => "None: only the candidate's share of installs gets this mini program.".into(),
    };
    let rule = format!(
        "{} the candidate when its failure rate is at least {} (lower bound at 95 % confidence) after {} launches",
        if r.health.roll_back { "Withdraw" } else { "Pause" },
        r.health.threshold_label(),
        r.health.min_launches
    );
    let controls_view = manage.then(|| {
        let Controls { raise, pause, resume, complete, abort, rollback, health } = controls;
        let rolling = r.candidate.as_ref().filter(|c| c.paused.is_none()).map(|c| c.rollout);
        let paused = r.candidate.as_ref().is_some_and(|c| c.paused.is_some());
        let has_candidate = r.candidate.is_some();
        let app = r.app.clone();
        // Each control names the candidate shown here: one released since is not changed by it.
        let mut candidate_fields = fields.clone();
        candidate_fields.extend(r.candidate.as_ref().map(|c| ("version", c.version.clone())));
        let raise_fields = candidate_fields.clone();
        let raise_form = rolling.map(move |share| {
            let hint = format!("A percentage above the current {}, such as 25 or 12.5. Raising only adds installs.", rollout_label(share));
            view! {
                <FormDialog title="Raise rollout" param=format!("raise-{n}") opener_label=format!("Raise rollout on {app}")>
                    <ServerForm action=raise fields=raise_fields error=action_error(raise)>
                        <Field label="Rollout" name="rollout" id=format!("raise-{n}-rollout") required=true hint error=action_error(raise) />
                        <button type="submit" class="button button-primary">"Raise"</button>
                    </ServerForm>
                </FormDialog>
            }
        });
        let confirm = |kind: Confirm, shown: bool| {
            let f = candidate_fields.clone();
            let label = format!("{} on {}", kind.title(), r.app);
            let opener = format!("{}…", kind.confirm_label());
            shown.then(move || match kind {
                Confirm::PauseRollout => view! { <ConfirmDialog action=pause kind opener opener_label=label fields=f error=action_error(pause) /> }.into_any(),
                Confirm::ResumeRollout => view! { <ConfirmDialog action=resume kind opener opener_label=label fields=f error=action_error(resume) /> }.into_any(),
                Confirm::CompleteRollout => view! { <ConfirmDialog action=complete kind opener opener_label=label fields=f error=action_error(complete) /> }.into_any(),
                _ => view! { <ConfirmDialog action=abort kind opener opener_label=label fields=f error=action_error(abort) /> }.into_any(),
            })
        };
        let rollbacks = r
            .earlier
            .iter()
            .chain(r.version.iter().filter(|_| has_candidate))
            .map(|v| {
                let mut f = fields.clone();
                f.push(("version", v.clone()));
                let label = format!("Roll back {} to {v}", r.app);
                view! { <ConfirmDialog action=rollback kind=Confirm::RollbackRelease opener=format!("Roll back to {v}…") opener_label=label fields=f error=action_error(rollback) /> }
            })
            .collect_view();
        let threshold = format!("{}", r.health.threshold_bp as f64 / 100.0);
        let min = r.health.min_launches.to_string();
        let check_id = format!("health-{n}-roll-back");
        view! {
            <div class="actions-row">
                {raise_form}
                {confirm(Confirm::PauseRollout, rolling.is_some())}
                {confirm(Confirm::ResumeRollout, paused)}
                {confirm(Confirm::CompleteRollout, rolling.is_some())}
                {confirm(Confirm::AbortRollout, has_candidate)}
                {rollbacks}
                <FormDialog title="Edit health rule" param=format!("health-{n}") opener_label=format!("Edit health rule on {}", r.app)>
                    <ServerForm action=health fields=fields.clone() error=action_error(health)>
                        <Field label="Failure threshold" name="threshold" id=format!("health-{n}-threshold") required=true value=Signal::stored(threshold) hint="A percentage (0.1 to 100): failed launches and crashes over launches, at the lower bound of its 95 % interval." error=action_error(health) />
                        <Field label="Minimum launches" name="min_launches" id=format!("health-{n}-min") kind="number" required=true value=Signal::stored(min) hint="The candidate is judged once it has had this many launches." error=action_error(health) />
                        <div class="check">
                            <input type="checkbox" id=check_id.clone() name="roll_back" value="on" checked=r.health.roll_back />
                            <label for=check_id>"Withdraw the candidate instead of pausing it"</label>
                        </div>
                        <button type="submit" class="button button-primary">"Save health rule"</button>
                    </ServerForm>
                </FormDialog>
            </div>
        }
    });
    let chart = if r.figures.is_empty() {
        view! { <p class="hint">"No installs reported launches of this mini program on this App in the last 14 days."</p> }.into_any()
    } else {
        let (days, launches, rates) = series(&r.figures);
        view! {
            <LineChart title=format!("Launches per day on {}", r.app) points=days.clone() series=launches />
            <LineChart title=format!("Failure rate per day on {}", r.app) points=days series=rates unit="%" />
        }
        .into_any()
    };
    view! {
        <section class="app-release" aria-labelledby=heading.clone()>
            <h3 id=heading.clone()>{r.app.clone()}</h3>
            <dl class="facts">
                <dt>"Stable"</dt>
                <dd>{stable}</dd>
                <dt>"Candidate"</dt>
                <dd>{candidate_text(&r)}</dd>
                <dt>"Health rule"</dt>
                <dd>{rule}</dd>
            </dl>
            {controls_view}
            {chart}
        </section>
    }
}

//! `/w/{name}`: the workspace as any member sees it, and leaving it.

use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::members::{workspace_home, LeaveWorkspace};
use crate::model::approvals::rollout_label;
use crate::model::url_encode;
use crate::model::workspace::{Few, NeedsYou};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{
    action_error, fmt_time, notice_from_query, route_param, FormError, Loaded, Notice, Panel, StatusBadge,
};

#[component]
pub fn WorkspaceHomePage() -> impl IntoView {
    let name = route_param("name");
    let leave = ServerAction::<LeaveWorkspace>::new();
    let data = Resource::new(move || name.get(), workspace_home);
    let joined = notice_from_query("joined", "Welcome! You have joined the workspace.");
    let error = action_error(leave);
    view! {
        <WorkspaceShell active="" title="Overview">
        <Notice message=joined />
        <FormError error />
        <Loaded data=data whole_page=true show=move |h| {
            let role = format!("{} · Assigned to Mini Program: {}", h.role.label(), h.assignment);
            view! {
                <Panel id="ws" title=h.name.clone()>
                    <dl class="facts">
                        <dt>"Status"</dt><dd><StatusBadge status=h.status /></dd>
                        <dt>"Your role"</dt><dd>{role}</dd>
                        <dt>"Member since"</dt><dd>{fmt_time(&h.joined)}</dd>
                    </dl>
                </Panel>
                {h.pending_approvals.map(|n| {
                    let href = format!("/w/{}/approvals?status=pending", h.name);
                    view! {
                        <Panel id="to-decide" title="Approvals">
                            <p>
                                {if n == 0 { "No application is waiting for a decision.".to_string() } else { format!("{n} application(s) waiting for a decision. ") }}
                                {(n > 0).then(|| view! { <a href=href>"Review pending applications"</a> })}
                            </p>
                        </Panel>
                    }
                })}
                {(h.role == crate::model::workspace::Role::WorkspaceDeveloper).then(|| {
                    let href = format!("/w/{}/mini-programs", h.name);
                    view! {
                        <Panel id="assigned" title="Your mini programs">
                            <p>
                                {if h.assignment == "unassigned" { "You are not assigned to any mini program yet: a Mini Program Admin assigns you.".to_string() } else { format!("Assigned to: {}. ", h.assignment) }}
                                {(h.assignment != "unassigned").then(|| view! { <a href=href>"Open your mini programs"</a> })}
                            </p>
                        </Panel>
                    }
                })}
                {h.needs_you.clone().map(|n| view! { <WaitingOnYou workspace=h.name.clone() needs=n /> })}
                {h.members.clone().map(|c| {
                    let members = format!("/w/{}/members", h.name);
                    view! {
                        <Panel id="attention" title="Needs your attention">
                            <ul class="steps">
                                <li>{format!("{} member(s), {} of them blocked. ", c.members, c.blocked)} <a href=members.clone()>"Manage members"</a></li>
                                {(c.invitations > 0).then(|| view! { <li>{format!("{} invitation(s) waiting to be accepted.", c.invitations)}</li> })}
                                {(c.waiting_admissions > 0).then(|| view! { <li>{format!("{} representative(s) waiting for a verified address.", c.waiting_admissions)}</li> })}
                                {(h.status == crate::model::workspace::WorkspaceStatus::Suspended).then(|| view! {
                                    <li>"The workspace is suspended: nothing in it can be changed until the platform operator reactivates it."</li>
                                })}
                            </ul>
                        </Panel>
                    }
                })}
                <Panel id="leave" title="Leave this workspace">
                    <p>{format!("You will lose access to {} and its mini programs. A Workspace Admin can invite you again.", h.name)}</p>
                    <ConfirmDialog action=leave kind=Confirm::LeaveWorkspace opener="Leave workspace…" fields=vec![("workspace", h.name.clone())] error />
                </Panel>
            }.into_any()
        }
        />
        </WorkspaceShell>
    }
}

/// One list of what waits on the member: its heading, the first few items, how many more.
fn few<T: Clone + Send + Sync + 'static>(heading: &'static str, list: Few<T>, empty: &'static str, item: impl Fn(T) -> AnyView) -> impl IntoView {
    let more = list.total.saturating_sub(list.shown.len());
    view! {
        <h3>{heading}</h3>
        {if list.shown.is_empty() {
            view! { <p class="hint">{empty}</p> }.into_any()
        } else {
            view! {
                <ul class="steps">
                    {list.shown.into_iter().map(|x| view! { <li>{item(x)}</li> }).collect_view()}
                    {(more > 0).then(|| view! { <li class="hint">{format!("and {more} more")}</li> })}
                </ul>
            }.into_any()
        }}
    }
}

/// What waits on a member in the mini programs they manage: rollouts in progress or paused,
/// versions not yet applied for, applications waiting for a reviewer.
#[component]
fn WaitingOnYou(workspace: String, needs: NeedsYou) -> impl IntoView {
    let ws = url_encode(&workspace);
    let page = move |mp: uuid::Uuid| format!("/w/{ws}/mini-programs/{mp}");
    let (p1, p2) = (page.clone(), page.clone());
    let ws2 = url_encode(&workspace);
    view! {
        <Panel id="waiting-on-you" title="Waiting on you">
            {few("Rollouts", needs.rollouts, "No candidate is rolling out.", move |r| {
                let text = format!(" {} to {}: {} of installs, {}", r.candidate.version, r.app, rollout_label(r.candidate.rollout), r.candidate.state());
                view! { <a href=p1(r.mini_program)>{r.name}</a>{text} }.into_any()
            })}
            {few("Versions not yet applied for", needs.unapplied, "Every uploaded version has been applied for.", move |v| {
                let text = format!(" {}, uploaded {}: apply for its publishing from the mini program's page.", v.version, fmt_time(&v.uploaded));
                view! { <a href=p2(v.mini_program)>{v.name}</a>{text} }.into_any()
            })}
            {few("Waiting for a reviewer", needs.waiting, "No application about these mini programs is waiting for a reviewer.", move |w| {
                let href = format!("/w/{ws2}/approvals/{}", w.id);
                let name = w.mini_program.unwrap_or_default();
                let what = match &w.version { Some(v) => format!("{}: {name} {v}", w.category.label()), None => format!("{}: {name}", w.category.label()) };
                let since = format!(", since {}", fmt_time(&w.created));
                view! { <a href=href>{what}</a>{since} }.into_any()
            })}
        </Panel>
    }
}

//! Confirmation before consequential actions. With JavaScript, the opening button shows a native
//! modal `<dialog>` (the rest of the page inert, so focus stays inside; Escape cancels and
//! changes nothing; focus returns to the button). Without JavaScript the same button is a GET form
//! that leads to `/confirm/{kind}`, a page with the same words and a plain POST form.
//!
//! What each confirmation says lives once, in [`Confirm`]: the page never takes its words from
//! the URL, so a crafted link can't put other words in front of the action.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use super::{route_param, Field, FormAction, FormError, HiddenFields, PageHeader, ServerForm};
use crate::model::AppError;

const BLOCK_TEXT: &str = "If the member has been blocked, he/she will not be able to view or operate all mini programs he/she has been joined. Are you sure you want to block the member?";
const UNBLOCK_TEXT: &str = "If you unblock the member, he/she will be able to view or operate all mini programs he/she has been joined. Are you sure you want to unblock the member?";

/// Every action that asks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    BlockMember,
    UnblockMember,
    RemoveMember,
    LeaveWorkspace,
    WithdrawApplication,
    RejectApplication,
    SuspendWorkspace,
    ReactivateWorkspace,
    RevokeKey,
    Unassign,
    ApproveApproval,
    RejectApproval,
    WithdrawApproval,
    RetireVersion,
    RotateExposedKeys,
    PauseRollout,
    ResumeRollout,
    CompleteRollout,
    AbortRollout,
    RollbackRelease,
    ResetSecondFactor,
    RevokeToken,
    DeleteSsoProvider,
    DeletePasskey,
    DeleteWebhook,
    RotateWebhookSecret,
}

/// A text input the confirmation asks for (a reason).
pub struct Input {
    pub label: &'static str,
    pub name: &'static str,
    pub hint: &'static str,
    pub maxlength: usize,
}

const REASON_TO_APPLICANT: Input = Input {
    label: "Reason",
    name: "reason",
    hint: "Sent to the applicant.",
    maxlength: 1000,
};
const DECISION_REASON: Input = Input {
    label: "Reason",
    name: "reason",
    hint: "Required. The applicant reads it in the console and by email (at most 2 000 characters).",
    maxlength: crate::model::approvals::REASON_MAX,
};
const REASON_FOR_ROLLBACK: Input = Input {
    label: "Reason",
    name: "reason",
    hint: "Required. Recorded in the audit log with the rollback (at most 2 000 characters).",
    maxlength: crate::model::approvals::REASON_MAX,
};
const REASON_FOR_STATUS: Input = Input {
    label: "Reason",
    name: "reason",
    hint: "Recorded in the audit log and shown to the workspace's members.",
    maxlength: 1000,
};

impl Confirm {
    pub const ALL: [Confirm; 26] = [
        Confirm::BlockMember,
        Confirm::UnblockMember,
        Confirm::RemoveMember,
        Confirm::LeaveWorkspace,
        Confirm::WithdrawApplication,
        Confirm::RejectApplication,
        Confirm::SuspendWorkspace,
        Confirm::ReactivateWorkspace,
        Confirm::RevokeKey,
        Confirm::Unassign,
        Confirm::ApproveApproval,
        Confirm::RejectApproval,
        Confirm::WithdrawApproval,
        Confirm::RetireVersion,
        Confirm::RotateExposedKeys,
        Confirm::PauseRollout,
        Confirm::ResumeRollout,
        Confirm::CompleteRollout,
        Confirm::AbortRollout,
        Confirm::RollbackRelease,
        Confirm::ResetSecondFactor,
        Confirm::RevokeToken,
        Confirm::DeleteSsoProvider,
        Confirm::DeletePasskey,
        Confirm::DeleteWebhook,
        Confirm::RotateWebhookSecret,
    ];

    /// The `/confirm/{slug}` of the page used without JavaScript.
    pub fn slug(self) -> &'static str {
        match self {
            Confirm::BlockMember => "block-member",
            Confirm::UnblockMember => "unblock-member",
            Confirm::RemoveMember => "remove-member",
            Confirm::LeaveWorkspace => "leave-workspace",
            Confirm::WithdrawApplication => "withdraw-application",
            Confirm::RejectApplication => "reject-application",
            Confirm::SuspendWorkspace => "suspend-workspace",
            Confirm::ReactivateWorkspace => "reactivate-workspace",
            Confirm::RevokeKey => "revoke-key",
            Confirm::Unassign => "unassign-mini-program",
            Confirm::ApproveApproval => "approve-approval",
            Confirm::RejectApproval => "reject-approval",
            Confirm::WithdrawApproval => "withdraw-approval",
            Confirm::RetireVersion => "retire-version",
            Confirm::RotateExposedKeys => "rotate-exposed-upload-keys",
            Confirm::PauseRollout => "pause-rollout",
            Confirm::ResumeRollout => "resume-rollout",
            Confirm::CompleteRollout => "complete-rollout",
            Confirm::AbortRollout => "abort-rollout",
            Confirm::RollbackRelease => "rollback-release",
            Confirm::ResetSecondFactor => "reset-second-factor",
            Confirm::RevokeToken => "revoke-access-token",
            Confirm::DeleteSsoProvider => "delete-sso-provider",
            Confirm::DeletePasskey => "delete-passkey",
            Confirm::DeleteWebhook => "delete-webhook",
            Confirm::RotateWebhookSecret => "rotate-webhook-secret",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Confirm> {
        Confirm::ALL.into_iter().find(|c| c.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Confirm::BlockMember => "Block member",
            Confirm::UnblockMember => "Unblock member",
            Confirm::RemoveMember => "Remove member",
            Confirm::LeaveWorkspace => "Leave workspace",
            Confirm::WithdrawApplication => "Withdraw application",
            Confirm::RejectApplication => "Reject application",
            Confirm::SuspendWorkspace => "Suspend workspace",
            Confirm::ReactivateWorkspace => "Reactivate workspace",
            Confirm::RevokeKey => "Revoke key",
            Confirm::Unassign => "Unassign member",
            Confirm::ApproveApproval => "Approve application",
            Confirm::RejectApproval => "Reject application",
            Confirm::WithdrawApproval => "Withdraw application",
            Confirm::RetireVersion => "Retire version",
            Confirm::RotateExposedKeys => "Rotate the Upload Keys they were shown",
            Confirm::PauseRollout => "Pause rollout",
            Confirm::ResumeRollout => "Resume rollout",
            Confirm::CompleteRollout => "Complete rollout",
            Confirm::AbortRollout => "Abort rollout",
            Confirm::RollbackRelease => "Roll back",
            Confirm::ResetSecondFactor => "Reset two-factor authentication",
            Confirm::RevokeToken => "Revoke access token",
            Confirm::DeleteSsoProvider => "Delete single sign-on provider",
            Confirm::DeletePasskey => "Delete passkey",
            Confirm::DeleteWebhook => "Delete webhook endpoint",
            Confirm::RotateWebhookSecret => "Replace the signing secret",
        }
    }

    /// The consequence, in words.
    pub fn consequence(self) -> &'static str {
        match self {
            Confirm::BlockMember => BLOCK_TEXT,
            Confirm::UnblockMember => UNBLOCK_TEXT,
            Confirm::RemoveMember => "The member loses access to the workspace at once. You can invite them again later. Are you sure you want to remove the member?",
            Confirm::LeaveWorkspace => "You lose access to this workspace at once; only a new invitation brings you back. Are you sure you want to leave?",
            Confirm::WithdrawApplication => "The application is withdrawn and its Workspace Name released. You can apply again later. Are you sure?",
            Confirm::RejectApplication => "The applicant is told by email, with your reason. A rejected application can't be reopened.",
            Confirm::SuspendWorkspace => "Nothing in a suspended workspace can be changed, and its mini programs stop being served, until it is reactivated.",
            Confirm::ReactivateWorkspace => "The workspace becomes active again: its members can change things and its mini programs are served.",
            Confirm::Unassign => "The member stops working on this mini program at once: a developer no longer sees it or uploads to it. You can assign them again later.",
            Confirm::ApproveApproval => "Approving takes effect at once: a version is released to the chosen Apps (the one they had is superseded), a removed mini program leaves every container, a feature is activated, or the person joins as a Workspace Developer. The applicant is told. A decision can't be changed.",
            Confirm::RejectApproval => "The applicant is told in the console and by email, with your reason. A rejected application can't be reopened; they can apply again.",
            Confirm::WithdrawApproval => "The application is withdrawn and nobody can decide it any more; a version in review becomes Uploaded again. You can apply again later. Are you sure?",
            Confirm::RevokeKey => "The key stops working at once, with no grace period: a container or a build tool still using it is refused from its next request. Are you sure you want to revoke it?",
            Confirm::RetireVersion => "The version leaves the version lists and no longer counts as the highest: a lower version can be uploaded after it. Its number can't be used again, and the audit log keeps it. A retired version can't be brought back. Are you sure you want to retire it?",
            Confirm::PauseRollout => "No install gets the candidate from its next request: they all get the stable version until you resume the rollout. Are you sure you want to pause it?",
            Confirm::ResumeRollout => "The candidate goes again to the same share of installs it had when it was paused. Are you sure you want to resume it?",
            Confirm::CompleteRollout => "The candidate becomes the stable version: every install of this App gets it from its next request. The version it replaces can be rolled back to. Are you sure?",
            Confirm::AbortRollout => "The candidate is withdrawn: every install gets the stable version from its next request. It can't be resumed; a new version needs a new application. Are you sure you want to abort it?",
            Confirm::RollbackRelease => "Every install of this App gets this version from its next request, and a candidate rolling out is withdrawn. The version served now is kept and can be rolled back to in turn. Are you sure you want to roll back?",
            Confirm::ResetSecondFactor => "The person's authenticator app and recovery codes stop working, and login asks for their password alone until they turn two-factor authentication on again. They are told by email, and the reset is audited. Do this only once you are sure who is asking. Are you sure?",
            Confirm::RevokeToken => "The token stops working at once: a CI job or a command line still using it is refused from its next request. It can't be brought back; make a new one if you need it. Are you sure?",
            Confirm::DeletePasskey => "The passkey stops working at once: it no longer signs you in or counts as your second factor. The device may still list it; remove it there too. Are you sure?",
            Confirm::DeleteWebhook => "No more events are sent to this endpoint, deliveries still queued are dropped, and its record of deliveries is deleted. Are you sure?",
            Confirm::RotateWebhookSecret => "A new secret signs every delivery from now on, retries included; the receiver must switch to it, or it will reject them. Are you sure?",
            Confirm::DeleteSsoProvider => "Its button leaves the login page, and nobody can sign in with it any more. People who signed in with it keep their accounts and can set a password with \"Forgot password?\". Are you sure?",
            Confirm::RotateExposedKeys => "Each App whose Upload Key this person was shown gets a new Upload Key, with the same scope, shown to you once. The keys in use stop working at once, with no grace period: build tools must switch to the new keys. Are you sure you want to rotate them?",
        }
    }

    /// The confirming button.
    pub fn confirm_label(self) -> &'static str {
        match self {
            Confirm::BlockMember => "Block",
            Confirm::UnblockMember => "Unblock",
            Confirm::RemoveMember => "Remove",
            Confirm::LeaveWorkspace => "Leave",
            Confirm::WithdrawApplication => "Withdraw",
            Confirm::RejectApplication => "Reject application",
            Confirm::SuspendWorkspace => "Suspend",
            Confirm::ReactivateWorkspace => "Reactivate",
            Confirm::RevokeKey => "Revoke",
            Confirm::Unassign => "Unassign",
            Confirm::ApproveApproval => "Approve",
            Confirm::RejectApproval => "Reject",
            Confirm::WithdrawApproval => "Withdraw",
            Confirm::RetireVersion => "Retire",
            Confirm::RotateExposedKeys => "Rotate now",
            Confirm::PauseRollout => "Pause",
            Confirm::ResumeRollout => "Resume",
            Confirm::CompleteRollout => "Complete",
            Confirm::AbortRollout => "Abort",
            Confirm::RollbackRelease => "Roll back",
            Confirm::ResetSecondFactor => "Reset",
            Confirm::RevokeToken => "Revoke",
            Confirm::DeleteSsoProvider => "Delete",
            Confirm::DeletePasskey => "Delete",
            Confirm::DeleteWebhook => "Delete",
            Confirm::RotateWebhookSecret => "Replace",
        }
    }

    fn danger(self) -> bool {
        !matches!(self, Confirm::UnblockMember | Confirm::ReactivateWorkspace | Confirm::ApproveApproval | Confirm::ResumeRollout | Confirm::CompleteRollout)
    }

    /// The server function that acts.
    fn path(self) -> &'static str {
        use crate::api::{account, approvals, apps, members, minis, operator, releases, webhooks, workspaces};
        match self {
            Confirm::BlockMember => members::BlockMember::PATH,
            Confirm::UnblockMember => members::UnblockMember::PATH,
            Confirm::RemoveMember => members::RemoveMember::PATH,
            Confirm::LeaveWorkspace => members::LeaveWorkspace::PATH,
            Confirm::WithdrawApplication => workspaces::WithdrawWorkspaceApplication::PATH,
            Confirm::RejectApplication => operator::RejectWorkspaceApplication::PATH,
            Confirm::SuspendWorkspace | Confirm::ReactivateWorkspace => {
                operator::SetWorkspaceStatus::PATH
            }
            Confirm::RevokeKey => apps::RevokeAppKey::PATH,
            Confirm::Unassign => minis::UnassignMiniProgram::PATH,
            Confirm::ApproveApproval => approvals::ApproveApplication::PATH,
            Confirm::RejectApproval => approvals::RejectApplication::PATH,
            Confirm::WithdrawApproval => approvals::WithdrawApplication::PATH,
            Confirm::RetireVersion => minis::RetireVersion::PATH,
            Confirm::RotateExposedKeys => apps::RotateExposedUploadKeys::PATH,
            Confirm::PauseRollout => releases::PauseRollout::PATH,
            Confirm::ResumeRollout => releases::ResumeRollout::PATH,
            Confirm::CompleteRollout => releases::CompleteRollout::PATH,
            Confirm::AbortRollout => releases::AbortRollout::PATH,
            Confirm::RollbackRelease => releases::RollbackRelease::PATH,
            Confirm::ResetSecondFactor => operator::ResetSecondFactor::PATH,
            Confirm::RevokeToken => account::RevokeAccessToken::PATH,
            Confirm::DeleteSsoProvider => operator::DeleteSsoProvider::PATH,
            Confirm::DeletePasskey => account::DeletePasskey::PATH,
            Confirm::DeleteWebhook => webhooks::DeleteWebhook::PATH,
            Confirm::RotateWebhookSecret => webhooks::RotateWebhookSecret::PATH,
        }
    }

    /// The hidden fields the action takes (their values come from the page that asks).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Confirm::BlockMember | Confirm::UnblockMember | Confirm::RemoveMember => {
                &["workspace", "account"]
            }
            Confirm::LeaveWorkspace => &["workspace"],
            Confirm::WithdrawApplication | Confirm::RejectApplication => &["id"],
            Confirm::SuspendWorkspace | Confirm::ReactivateWorkspace => &["id", "action"],
            Confirm::RevokeKey => &["workspace", "app", "key"],
            Confirm::Unassign => &["workspace", "id", "account"],
            Confirm::ApproveApproval | Confirm::RejectApproval => &["workspace", "id"],
            Confirm::WithdrawApproval => &["id"],
            Confirm::RetireVersion => &["workspace", "id", "version"],
            Confirm::RotateExposedKeys => &["workspace", "account"],
            Confirm::PauseRollout | Confirm::ResumeRollout | Confirm::CompleteRollout | Confirm::AbortRollout => &["workspace", "id", "app", "version"],
            Confirm::RollbackRelease => &["workspace", "id", "app", "version"],
            Confirm::ResetSecondFactor => &["account"],
            Confirm::RevokeToken => &["id"],
            Confirm::DeleteSsoProvider => &["id"],
            Confirm::DeletePasskey => &["id"],
            Confirm::DeleteWebhook | Confirm::RotateWebhookSecret => &["workspace", "id"],
        }
    }

    fn input(self) -> Option<&'static Input> {
        match self {
            Confirm::RejectApplication => Some(&REASON_TO_APPLICANT),
            Confirm::RejectApproval => Some(&DECISION_REASON),
            Confirm::SuspendWorkspace | Confirm::ReactivateWorkspace => Some(&REASON_FOR_STATUS),
            Confirm::RollbackRelease => Some(&REASON_FOR_ROLLBACK),
            _ => None,
        }
    }
}

/// The current page (path and query), as a return target.
pub fn here() -> String {
    let location = use_location();
    let search = location.search.get_untracked();
    let path = location.pathname.get_untracked();
    if search.is_empty() {
        path
    } else {
        format!("{path}?{}", search.trim_start_matches('?'))
    }
}

/// A button that asks before `action` runs with `fields` (name, value).
#[component]
pub fn ConfirmDialog(
    action: impl FormAction,
    kind: Confirm,
    /// The opening button's text, e.g. "Block…".
    #[prop(into)]
    opener: String,
    /// The opening button's accessible name when its text is ambiguous (a row of a table).
    #[prop(optional, into)]
    opener_label: Option<String>,
    fields: Vec<(&'static str, String)>,
    /// The error of `action`, shown inside the dialog.
    #[prop(into)]
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let opener_ref = NodeRef::<leptos::html::Button>::new();
    let id = format!("confirm-{}-{}", kind.slug(), fields.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("-"));
    let (title_id, text_id, input_id) = (format!("{id}-title"), format!("{id}-text"), format!("{id}-input"));
    let (title_ref, text_ref) = (title_id.clone(), text_id.clone());
    let open = move |ev: leptos::ev::SubmitEvent| {
        if let Some(d) = dialog.get() {
            ev.prevent_default();
            let _ = d.show_modal();
        }
    };
    let close = move || {
        if let Some(d) = dialog.get() {
            d.close();
        }
    };
    // A successful action closes the dialog.
    Effect::new(move |seen: Option<usize>| {
        let version = action.answers().get();
        if seen.is_some_and(|s| s != version) && action.last_succeeded() {
            close();
        }
        version
    });
    let hidden = fields.clone();
    view! {
        <form method="get" action=format!("/confirm/{}", kind.slug()) class="inline-form" on:submit=open>
            <HiddenFields fields />
            <input type="hidden" name="back" value=here() />
            <button type="submit" class="button" node_ref=opener_ref aria-haspopup="dialog" aria-label=opener_label>{opener}</button>
        </form>
        <Modal dialog opener=opener_ref labelledby=title_ref describedby=text_ref>
            <h2 id=title_id>{kind.title()}</h2>
            <p id=text_id>{kind.consequence()}</p>
            <ServerForm action fields=hidden error>
                {kind.input().map(|i| view! { <Field label=i.label name=i.name id=input_id kind="textarea" required=true maxlength=i.maxlength hint=i.hint error /> })}
                <div class="dialog-actions">
                    <button type="button" class="button" autofocus on:click=move |_| close()>"Cancel"</button>
                    <button type="submit" class=if kind.danger() { "button button-danger" } else { "button button-primary" }>{kind.confirm_label()}</button>
                </div>
            </ServerForm>
        </Modal>
    }
}

/// Tab and Shift+Tab go round the dialog's controls rather than out of it.
fn trap_focus(dialog: NodeRef<leptos::html::Dialog>, ev: leptos::ev::KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if ev.key() != "Tab" {
            return;
        }
        let Some(d) = dialog.get() else { return };
        let Ok(list) = d.query_selector_all(
            "button:not([disabled]), [href], input:not([type=hidden]), select, textarea",
        ) else {
            return;
        };
        let items: Vec<web_sys::HtmlElement> = (0..list.length())
            .filter_map(|i| list.get(i))
            .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            .collect();
        let (Some(first), Some(last)) = (items.first(), items.last()) else { return };
        let active = document().active_element();
        let on = |e: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>());
        if ev.shift_key() && on(first) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && on(last) {
            ev.prevent_default();
            let _ = first.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (dialog, ev);
}

/// A native `<dialog>`, opened modally by its owner (`show_modal`): the rest of the page is
/// inert, Tab stays inside, Escape closes it, and focus goes back to `opener` on closing. With
/// `open` it is rendered open in the page's flow (the page without JavaScript).
#[component]
pub fn Modal(
    dialog: NodeRef<leptos::html::Dialog>,
    opener: NodeRef<leptos::html::Button>,
    #[prop(into)] labelledby: String,
    #[prop(optional, into)] describedby: Option<String>,
    #[prop(optional)] open: bool,
    children: Children,
) -> impl IntoView {
    let restore_focus = move |_| {
        if let Some(b) = opener.get() {
            let _ = b.focus();
        }
    };
    view! {
        <dialog node_ref=dialog class="dialog" open=open aria-labelledby=labelledby aria-describedby=describedby
            on:close=restore_focus on:keydown=move |ev| trap_focus(dialog, ev)>
            {children()}
        </dialog>
    }
}

/// A button that opens a dialog holding a form (children). Without JavaScript the button is a
/// link to the same page with `?{param}=1`, where the dialog is shown in the page.
#[component]
pub fn FormDialog(
    /// The button's text and the dialog's title.
    title: &'static str,
    /// The query parameter that shows the dialog without JavaScript (unique on the page).
    #[prop(into)]
    param: String,
    /// The opening button's accessible name when its text is ambiguous (one of several alike).
    #[prop(optional, into)]
    opener_label: Option<String>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let opener = NodeRef::<leptos::html::Button>::new();
    let query = use_query_map();
    let shown = query.read_untracked().get(&param).is_some();
    let id = format!("dialog-{param}");
    let title_id = format!("{id}-title");
    let open = move |ev: leptos::ev::SubmitEvent| {
        if let Some(d) = dialog.get() {
            ev.prevent_default();
            if !d.open() {
                let _ = d.show_modal();
            }
        }
    };
    let close = move |ev: leptos::ev::MouseEvent| {
        if let Some(d) = dialog.get() {
            ev.prevent_default();
            d.close();
        }
    };
    let without = super::table::query_with(&[(param.as_str(), None)]);
    view! {
        <form method="get" class="inline-form" on:submit=open>
            <input type="hidden" name=param value="1" />
            <button type="submit" class="button button-primary" node_ref=opener aria-haspopup="dialog" aria-label=opener_label>{title}</button>
        </form>
        <Modal dialog opener labelledby=title_id.clone() open=shown>
            <div class="dialog-header">
                <h2 id=title_id>{title}</h2>
                <a class="button" href=without role="button" on:click=close>"Close"</a>
            </div>
            {children()}
        </Modal>
    }
}

/// `/confirm/{kind}`: the confirmation without JavaScript.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    let slug = route_param("kind");
    let query = use_query_map();
    move || {
        let Some(kind) = Confirm::from_slug(&slug.get()) else {
            return view! { <crate::ui::not_found::NotFound /> }.into_any();
        };
        let q = query.read();
        let back = crate::model::local_path(q.get("back").as_deref()).unwrap_or_else(|| "/".into());
        let error = (q.get("__path").as_deref() == Some(kind.path()))
            .then(|| q.get("__err"))
            .flatten()
            .map(|e| leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(&e));
        let error = Signal::derive(move || error.clone());
        let fields: Vec<(&'static str, String)> = kind
            .fields()
            .iter()
            .map(|name| (*name, q.get(name).unwrap_or_default()))
            .collect();
        view! {
            <Title text=kind.title() />
            <PageHeader title=kind.title() crumbs=vec![("Home", "/")] />
            <section class="panel" aria-labelledby="confirm-text">
                <p id="confirm-text">{kind.consequence()}</p>
                <form method="post" action=kind.path()>
                    <FormError error />
                    {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
                    <input type="hidden" name="back" value=back.clone() />
                    {kind.input().map(|i| view! { <Field label=i.label name=i.name kind="textarea" required=true maxlength=i.maxlength hint=i.hint error /> })}
                    <div class="dialog-actions">
                        <a class="button" href=back.clone()>"Cancel"</a>
                        <button type="submit" class=if kind.danger() { "button button-danger" } else { "button button-primary" }>{kind.confirm_label()}</button>
                    </div>
                </form>
            </section>
        }
        .into_any()
    }
}

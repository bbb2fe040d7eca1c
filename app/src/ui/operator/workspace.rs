//! `/operator/workspaces/{id}`: edit the registered information; suspend or reactivate.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{by_address_id, OperatorShell};
use crate::api::operator::{get_workspace, EditWorkspaceInfo, SetWorkspaceStatus};
use crate::model::workspace::{format_representatives, WorkspaceStatus};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{
    action_error, fmt_time, notice_from_query, Field, FormError, Loaded, Notice, Panel, StatusBadge,
};

#[component]
pub fn WorkspaceAdminPage() -> impl IntoView {
    let edit = ServerAction::<EditWorkspaceInfo>::new();
    let status = ServerAction::<SetWorkspaceStatus>::new();
    let data = by_address_id(crate::model::Missing::Workspace, [edit.version(), status.version()], get_workspace);
    let saved = notice_from_query("saved", "Registered information saved.");
    let suspended = notice_from_query(
        "suspended",
        "Workspace suspended. Its members can read but not change anything.",
    );
    let reactivated = notice_from_query("reactivated", "Workspace reactivated.");
    let edit_error = action_error(edit);
    let status_error = action_error(status);
    view! {
        <OperatorShell title="Workspace" active="workspaces" up=("Workspaces", "/operator/workspaces")>
        <Notice message=saved />
        <Notice message=suspended />
        <Notice message=reactivated />
        <Loaded data=data show=move |w| {
            let id = w.id.to_string();
            let (id_edit, id_status) = (id.clone(), id.clone());
            let is_active = w.status == WorkspaceStatus::Active;
            let (verb, label, consequence) = if is_active {
                ("suspend", "Suspend workspace", "While suspended, nothing in the workspace can be changed and its mini programs are no longer served to host apps. Members can still read it.")
            } else {
                ("reactivate", "Reactivate workspace", "The workspace becomes Active again: its members can make changes and its released mini programs are served again.")
            };
            view! {
                <Panel id="ws-name" title=w.name.clone()>
                    <dl class="facts">
                        <dt>"Workspace ID"</dt><dd><code>{id}</code></dd>
                        <dt>"Status"</dt><dd><StatusBadge status=w.status />{w.status_reason.clone().map(|r| format!(" — {r}"))}</dd>
                        <dt>"Generated"</dt><dd>{fmt_time(&w.created)}</dd>
                    </dl>
                </Panel>
                <Panel id="edit" title="Registered information">
                    <p class="hint">"The Workspace Name can't be changed. Every edit is recorded in the audit log."</p>
                    <ActionForm action=edit>
                        <FormError error=edit_error />
                        {crate::ui::kit::register_field("Scope of Business")}
                        <input type="hidden" name="id" value=id_edit />
                        <div class="field">
                            <label for="edit-mcc">"Scope of Business"</label>
                            <input id="edit-mcc" name="mcc" list="mcc-options-edit" required value=w.scope.clone() />
                            <datalist id="mcc-options-edit">
                                {crate::model::mcc::MCC_LIST.iter().map(|(c, d)| view! { <option value=format!("{c} — {d}")></option> }).collect_view()}
                            </datalist>
                            <p class="field-error" role="alert">{move || edit_error.get().filter(|e| e.field() == Some("Scope of Business")).map(|e| e.to_string())}</p>
                        </div>
                        <Field label="Business Address" name="address" kind="textarea" required=true value=Signal::derive({ let a = w.info.address.clone(); move || a.clone() }) error=edit_error />
                        <Field
                            label="Business Representatives"
                            name="representatives"
                            kind="textarea"
                            required=true
                            value=Signal::derive({ let r = format_representatives(&w.info.representatives); move || r.clone() })
                            hint="One per line, as: Jane Doe <jane@example.com>. Added representatives become Workspace Admins."
                            error=edit_error
                        />
                        <button type="submit" class="button button-primary">"Save changes"</button>
                    </ActionForm>
                </Panel>
                <Panel id="status" title="Status">
                    <p>{consequence}</p>
                    <ConfirmDialog
                        action=status
                        kind=if is_active { Confirm::SuspendWorkspace } else { Confirm::ReactivateWorkspace }
                        opener=format!("{label}…")
                        fields=vec![("id", id_status.clone()), ("action", verb.to_string())]
                        error=status_error
                    />
                </Panel>
            }.into_any()
        }
        />
        </OperatorShell>
    }
}

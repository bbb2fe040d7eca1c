//! `/operator/sign-in`: the single sign-on providers (OpenID Connect) people may sign in with —
//! added, edited and deleted by the operator; the login page shows a button for each.

use leptos::prelude::*;

use super::OperatorShell;
use crate::api::operator::{sso_providers, DeleteSsoProvider, SaveSsoProvider};
use crate::model::account::SsoProviderView;
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{action_error, done_notice, fmt_time, DataTable, Field, FormError, Notice, Panel, PanelActions};
use crate::model::AppError;

/// The provider form's fields: empty to add one, or filled from `provider` to edit it (its id
/// fixed, and its secret left blank to keep).
#[component]
fn ProviderFields(provider: Option<SsoProviderView>, #[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let key = provider.as_ref().map(|p| p.id.clone()).unwrap_or_else(|| "new".into());
    let id_of = move |field: &str| format!("sso-{key}-{field}");
    let value = |f: fn(&SsoProviderView) -> String| {
        let v = provider.as_ref().map(f).unwrap_or_default();
        Signal::derive(move || v.clone())
    };
    let editing = provider.is_some();
    view! {
        {match &provider {
            Some(p) => view! {
                <input type="hidden" name="id" value=p.id.clone() />
                <input type="hidden" name="create" value="false" />
            }.into_any(),
            None => view! {
                <input type="hidden" name="create" value="true" />
                <Field label="ID" name="id" id=id_of("id") required=true maxlength=32 error
                    hint="Names the provider in addresses (/sso/ID): lowercase letters, digits and '-'. It can't be changed later." />
            }.into_any(),
        }}
        <Field label="Button label" name="label" id=id_of("label") required=true maxlength=40 value=value(|p| p.label.clone()) error
            hint="The login page's button reads \"Sign in with\" and this (for example: Acme Okta)." />
        <Field label="Issuer URL" name="issuer" id=id_of("issuer") required=true maxlength=500 value=value(|p| p.issuer.clone()) error
            hint="The provider's OpenID Connect issuer; its discovery document is read from ISSUER/.well-known/openid-configuration." />
        <Field label="Client ID" name="client_id" id=id_of("client-id") required=true maxlength=200 value=value(|p| p.client_id.clone()) error />
        <Field label="Client secret" name="client_secret" id=id_of("client-secret") kind="password" autocomplete="off" required=!editing maxlength=500 error
            hint=if editing { "Leave blank to keep the saved secret." } else { "Kept on this server, never shown again." } />
        <Field label="Allowed email domains" name="allowed_domains" id=id_of("domains") maxlength=2000 value=value(|p| p.allowed_domains.join(", ")) error
            hint="Only people whose email address is in one of these domains may sign in with it (for example: acme.com, acme.co.uk), and for these the provider's word proves the address. Blank for any domain: then its word proves no address, and it can't sign in to an account that already uses one." />
        <Field label="Extra scopes" name="scopes" id=id_of("scopes") maxlength=500 value=value(|p| p.scopes.join(" ")) error
            hint="Asked beside openid, email and profile, separated by spaces — such as groups, for workspaces that give roles by group." />
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let save = ServerAction::<SaveSsoProvider>::new();
    let delete = ServerAction::<DeleteSsoProvider>::new();
    let data = Resource::new(move || save.version().get() + delete.version().get(), |_| sso_providers());
    let error = action_error(save);
    let delete_error = action_error(delete);
    let saved = done_notice(save, "saved", "The provider is saved.");
    let deleted = done_notice(delete, "deleted", "The provider is deleted.");
    let done = Signal::derive(move || saved.get().or_else(|| deleted.get()));
    view! {
        <OperatorShell title="Single sign-on" active="sign-in">
        <Notice message=done />
        <FormError error=delete_error />
        <Panel id="sso-title" title="Single sign-on providers">
            <PanelActions slot>
                <FormDialog title="Add provider" param="add">
                    <ActionForm action=save>
                        <FormError error />
                        <ProviderFields provider=None error />
                        <button type="submit" class="button button-primary">"Save provider"</button>
                    </ActionForm>
                </FormDialog>
            </PanelActions>
            <p class="hint">"People sign in at an OpenID Connect provider (Okta, Microsoft Entra ID, Google Workspace, Keycloak, Authentik…) with the authorization code flow and PKCE. Register this server as a web client there, with the redirect URI shown in the list. An account is found by the provider's subject, else by an email address the provider has verified, else made. Workspace Admins choose a provider for their workspace, may require it, and may give roles by the provider's groups."</p>
            <DataTable
                label="Single sign-on providers"
                columns=vec!["Button label", "ID", "Issuer", "Client ID", "Allowed email domains", "Redirect URI", "Used by", "Added", "Actions"]
                data
                empty="No providers yet: people sign in with their password."
                row=move |p: SsoProviderView| {
                    let edit_label = format!("Edit provider {}", p.label);
                    let delete_label = format!("Delete {}", p.label);
                    let id = p.id.clone();
                    view! {
                        <tr>
                            <td>{p.label.clone()}</td>
                            <td><code>{p.id.clone()}</code></td>
                            <td class="break">{p.issuer.clone()}</td>
                            <td class="break">{p.client_id.clone()}</td>
                            <td>{if p.allowed_domains.is_empty() { "Any".to_string() } else { p.allowed_domains.join(", ") }}</td>
                            <td class="break"><code>{p.redirect_uri.clone()}</code></td>
                            <td>{if p.workspaces.is_empty() { "No workspace".to_string() } else { p.workspaces.join(", ") }}</td>
                            <td class="nowrap">{fmt_time(&p.created)}</td>
                            <td class="row-actions">
                                <FormDialog title="Edit provider" param=format!("edit-{}", p.id) opener_label=edit_label>
                                    <ActionForm action=save>
                                        <FormError error />
                                        <ProviderFields provider=Some(p.clone()) error />
                                        <button type="submit" class="button button-primary">"Save provider"</button>
                                    </ActionForm>
                                </FormDialog>
                                <ConfirmDialog action=delete kind=Confirm::DeleteSsoProvider opener="Delete…" opener_label=delete_label fields=vec![("id", id)] error=delete_error />
                            </td>
                        </tr>
                    }.into_any()
                }
            />
        </Panel>
        </OperatorShell>
    }
}

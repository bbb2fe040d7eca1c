//! Passkeys in the browser: the account page's list (add, rename, delete), "Sign in with a
//! passkey" on the login page, and a passkey as the second step of a login. The server's options
//! are handed to `navigator.credentials` through `PublicKeyCredential.parse…OptionsFromJSON`, and
//! the browser's answer goes back as its `toJSON()`. It all needs JavaScript; without it the
//! buttons say so.

use leptos::prelude::*;

use super::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use super::kit::{action_error, done_notice, fmt_time, DataTable, ErrorMessage, Field, FormError, Notice, Panel, ServerForm};
use crate::api::account::{
    begin_passkey, begin_passkey_second_step, begin_passkey_sign_in, finish_passkey, finish_passkey_second_step,
    finish_passkey_sign_in, my_passkeys, DeletePasskey, RenamePasskey,
};
use crate::model::account::PasskeyView;
use crate::model::AppError;

/// Asks the browser for a new credential (`create`) or an assertion with the server's options
/// (JSON); the answer is the credential's `toJSON()`, as JSON.
#[cfg(feature = "hydrate")]
async fn ask_browser(create: bool, options: &str) -> Result<String, String> {
    use js_sys::{Function, Object, Promise, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    let fail = |what: &'static str| move |e: JsValue| {
        let name = Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" => "The browser's passkey request was cancelled or timed out.".to_string(),
            "InvalidStateError" => "This authenticator already holds a passkey for your account.".to_string(),
            _ => format!("The browser could not {what}: {}", e.as_string().or_else(|| Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string())).unwrap_or(name)),
        }
    };
    let window = web_sys::window().ok_or("no window")?;
    let pkc = Reflect::get(&window, &"PublicKeyCredential".into()).map_err(fail("use passkeys"))?;
    if pkc.is_undefined() {
        return Err("This browser does not support passkeys.".into());
    }
    let parsed = JSON::parse(options).map_err(fail("read the request"))?;
    let public_key = Reflect::get(&parsed, &"publicKey".into()).map_err(fail("read the request"))?;
    let parser = if create { "parseCreationOptionsFromJSON" } else { "parseRequestOptionsFromJSON" };
    let parse: Function = Reflect::get(&pkc, &parser.into()).map_err(fail("read the request"))?.dyn_into().map_err(|_| "This browser is too old for passkeys.".to_string())?;
    let options = parse.call1(&pkc, &public_key).map_err(fail("read the request"))?;
    let arg = Object::new();
    Reflect::set(&arg, &"publicKey".into(), &options).map_err(fail("read the request"))?;
    let credentials = window.navigator().credentials();
    let method: Function = Reflect::get(&credentials, &(if create { "create" } else { "get" }).into())
        .map_err(fail("ask the authenticator"))?
        .dyn_into()
        .map_err(|_| "This browser does not support passkeys.".to_string())?;
    let promise: Promise = method
        .call1(&credentials, &arg)
        .map_err(fail("ask the authenticator"))?
        .dyn_into()
        .map_err(|_| "This browser does not support passkeys.".to_string())?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(fail("use the passkey"))?;
    let to_json: Function = Reflect::get(&credential, &"toJSON".into()).map_err(fail("read the answer"))?.dyn_into().map_err(|_| "This browser is too old for passkeys.".to_string())?;
    let json = to_json.call0(&credential).map_err(fail("read the answer"))?;
    JSON::stringify(&json).map_err(fail("read the answer"))?.as_string().ok_or_else(|| "The browser's answer could not be read.".into())
}

#[cfg(not(feature = "hydrate"))]
async fn ask_browser(_create: bool, _options: &str) -> Result<String, String> {
    Err("Passkeys need JavaScript.".into())
}

/// Goes to `to` with a whole page load (the signed-in state changed).
fn go(to: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(to);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = to;
}

/// Why a passkey ceremony stopped: the server refused, or the browser did not answer.
#[derive(Clone)]
enum Stopped {
    Server(AppError),
    Browser(String),
}

/// A button that runs a passkey ceremony: `run` asks the server, then the browser, then the
/// server again; its error is shown beside the button.
#[component]
fn CeremonyButton<F, Fut>(label: &'static str, #[prop(optional)] primary: bool, run: F) -> impl IntoView
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), Stopped>> + 'static,
{
    let (error, set_error) = signal(None::<Stopped>);
    let (busy, set_busy) = signal(false);
    let click = move |_| {
        let run = run.clone();
        set_error.set(None);
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            if let Err(e) = run().await {
                set_error.set(Some(e));
            }
            set_busy.set(false);
        });
    };
    view! {
        <div class="passkey-action">
            <button type="button" class=if primary { "button button-primary" } else { "button" } on:click=click aria-busy=move || busy.get().then_some("true")>{label}</button>
            <p class="hint">"Your browser asks your device for the passkey (this needs JavaScript)."</p>
            <div role="alert">
                {move || error.get().map(|e| match e {
                    Stopped::Server(error) => view! { <ErrorMessage error /> }.into_any(),
                    Stopped::Browser(said) => view! { <p class="alert alert-error">{said}</p> }.into_any(),
                })}
            </div>
        </div>
    }
}

/// "Sign in with a passkey" (the login page): the browser offers the passkeys it keeps for this
/// console, and the one chosen signs its account in.
#[component]
pub fn PasskeySignIn(next: Memo<String>) -> impl IntoView {
    let run = move || async move {
        let options = begin_passkey_sign_in().await.map_err(Stopped::Server)?;
        let answer = ask_browser(false, &options).await.map_err(Stopped::Browser)?;
        let to = crate::model::local_path(Some(&next.get_untracked())).unwrap_or_else(|| "/".into());
        finish_passkey_sign_in(answer, Some(to.clone())).await.map_err(Stopped::Server)?;
        go(&to);
        Ok(())
    };
    view! { <CeremonyButton label="Sign in with a passkey" run /> }
}

/// A passkey as the second step of a login whose password was right.
#[component]
pub fn PasskeySecondStep(next: Memo<String>, #[prop(optional)] primary: bool) -> impl IntoView {
    let run = move || async move {
        let options = begin_passkey_second_step().await.map_err(Stopped::Server)?;
        let answer = ask_browser(false, &options).await.map_err(Stopped::Browser)?;
        let to = crate::model::local_path(Some(&next.get_untracked())).unwrap_or_else(|| "/".into());
        finish_passkey_second_step(answer, Some(to.clone())).await.map_err(Stopped::Server)?;
        go(&to);
        Ok(())
    };
    view! { <CeremonyButton label="Use a passkey" primary run /> }
}

/// The account page's passkeys: the list (renamed and deleted behind a dialog and a
/// confirmation), and adding one.
#[component]
pub fn PasskeysPanel() -> impl IntoView {
    let rename = ServerAction::<RenamePasskey>::new();
    let delete = ServerAction::<DeletePasskey>::new();
    let (added, set_added) = signal(0u32);
    let list = Resource::new(move || (added.get(), rename.version().get(), delete.version().get()), |_| my_passkeys());
    let rename_error = action_error(rename);
    let delete_error = action_error(delete);
    let renamed = done_notice(rename, "passkey_renamed", "The passkey is renamed.");
    let deleted = done_notice(delete, "passkey_deleted", "The passkey is deleted: it signs nobody in any more.");
    let (name, set_name) = signal(String::new());
    let (added_notice, set_added_notice) = signal(None::<String>);
    let done = Signal::derive(move || added_notice.get().or_else(|| renamed.get()).or_else(|| deleted.get()));
    let run = move || async move {
        let options = begin_passkey(name.get_untracked()).await.map_err(Stopped::Server)?;
        let answer = ask_browser(true, &options).await.map_err(Stopped::Browser)?;
        let made = finish_passkey(answer).await.map_err(Stopped::Server)?;
        set_added_notice.set(Some(format!("The passkey {} is added: you can sign in with it, or use it after your password.", made.name)));
        set_added.update(|n| *n += 1);
        Ok(())
    };
    view! {
        <Panel id="passkeys" title="Passkeys">
            <Notice message=done />
            <FormError error=delete_error />
            <p class="hint">"A passkey signs you in with your device's screen lock or a security key instead of your password, and counts as a second factor after your password. Add one on each device you use."</p>
            <DataTable
                label="Passkeys"
                columns=vec!["Name", "Added", "Last used", "Actions"]
                data=list
                empty="No passkeys yet."
                row=move |p: PasskeyView| {
                    let (id, delete_id) = (p.id.to_string(), p.id.to_string());
                    let (rename_label, delete_label) = (format!("Rename {}", p.name), format!("Delete {}", p.name));
                    let current = p.name.clone();
                    let value = Signal::derive(move || current.clone());
                    let field_id = format!("passkey-name-{}", p.id);
                    view! {
                        <tr>
                            <td>{p.name.clone()}</td>
                            <td class="nowrap">{fmt_time(&p.created)}</td>
                            <td class="nowrap">{p.last_used.as_ref().map(fmt_time).unwrap_or_else(|| "Never".into())}</td>
                            <td class="row-actions">
                                <FormDialog title="Rename passkey" param=format!("rename-{}", p.id) opener_label=rename_label>
                                    <ServerForm action=rename fields=vec![("id", id.clone())] error=rename_error>
                                        <Field label="Name" name="name" id=field_id required=true maxlength=60 value error=rename_error />
                                        <button type="submit" class="button button-primary">"Rename"</button>
                                    </ServerForm>
                                </FormDialog>
                                <ConfirmDialog action=delete kind=Confirm::DeletePasskey opener="Delete…" opener_label=delete_label fields=vec![("id", delete_id)] error=delete_error />
                            </td>
                        </tr>
                    }.into_any()
                }
            />
            <h3>"Add a passkey"</h3>
            <div class="field">
                <label for="new-passkey-name">"Passkey name"</label>
                <input id="new-passkey-name" type="text" maxlength="60" aria-describedby="new-passkey-name-hint"
                    prop:value=move || name.get() on:input=move |ev| set_name.set(event_target_value(&ev)) />
                <p class="hint" id="new-passkey-name-hint">"So you can tell them apart (for example: Work laptop)."</p>
            </div>
            <CeremonyButton label="Add a passkey" primary=true run />
        </Panel>
    }
}

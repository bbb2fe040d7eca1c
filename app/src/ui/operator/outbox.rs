//! `/operator/outbox`: every email, its delivery state, and each message in full.

use leptos::prelude::*;

use super::{by_address_id, filtered_rows, OperatorList, OperatorShell};
use crate::api::operator::{get_outbox_message, list_outbox};
use crate::model::page::FilterWord;
use crate::model::workspace::{MailState, OutboxView};
use crate::ui::kit::{fmt_time, Badge, DataTable, Loaded, Panel, StatusBadge};

#[component]
pub fn OutboxPage() -> impl IntoView {
    let data = filtered_rows("state", list_outbox);
    view! {
        <OperatorList
            title="Outbox" active="outbox"
            search="Search recipient or subject"
            filters=vec![("state", "State", MailState::options("All"))]
        >
            <DataTable
                label="Outbox"
                columns=vec!["Queued", "To", "Subject", "State", "Attempts", "Last error"]
                sortable=vec![("Queued", "created")]
                data
                empty="No messages match."
                row=|m: OutboxView| view! {
                    <tr>
                        <td class="nowrap">{fmt_time(&m.created)}</td>
                        <td>{m.to.join(", ")}</td>
                        <td><a href=format!("/operator/outbox/{}", m.id)>{m.subject.clone()}</a></td>
                        <td><StatusBadge status=Badge::mail(&m.state) /></td>
                        <td>{m.attempts}</td>
                        <td class="details">{m.last_error.clone().unwrap_or_default()}</td>
                    </tr>
                }.into_any()
            />
        </OperatorList>
    }
}

#[component]
pub fn OutboxMessagePage() -> impl IntoView {
    let data = by_address_id(crate::model::Missing::Message, [], get_outbox_message);
    view! {
        <OperatorShell title="Message" active="outbox" up=("Outbox", "/operator/outbox")>
        <Loaded data=data show=move |m| view! {
            <Panel id="subject" title=m.subject.clone()>
                <dl class="facts">
                    <dt>"To"</dt><dd>{m.to.join(", ")}</dd>
                    <dt>"State"</dt><dd><StatusBadge status=Badge::mail(&m.state) /></dd>
                    <dt>"Queued"</dt><dd>{fmt_time(&m.created)}</dd>
                    <dt>"Sent"</dt><dd>{m.sent.map(|t| fmt_time(&t)).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Attempts"</dt><dd>{m.attempts}</dd>
                    <dt>"Last error"</dt><dd>{m.last_error.clone().unwrap_or_else(|| "—".into())}</dd>
                </dl>
                {m.redacted.then(|| view! {
                    <p class="alert alert-info" role="note">"The secret link in this message was removed from the stored copy after it was sent, so the outbox can't be used to open it."</p>
                })}
                {m.carries_link.then(|| view! {
                    <p class="alert alert-info" role="note">"This message holds a secret link (verification, password reset or invitation). It is removed from this copy as soon as the message is sent. With no SMTP server configured, this outbox is how the message reaches its recipient: pass the link on only to them."</p>
                })}
                <pre class="mail-body">{m.body.clone()}</pre>
            </Panel>
        }.into_any()
        />
        </OperatorShell>
    }
}

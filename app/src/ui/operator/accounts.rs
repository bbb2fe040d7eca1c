//! `/operator/accounts`: every account, and — while no SMTP server is configured — marking an
//! address verified for a person who can't receive the link.

use leptos::prelude::*;

use super::OperatorShell;
use crate::api::operator::{list_accounts, operator_overview, MarkAccountVerified, ResetSecondFactor};
use crate::model::account::AccountView;
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{ServerForm, ListPanel,
    action_error, done_notice, fmt_time, list_position, query_param, Badge, DataTable,
    FormError, ListControls, Loading, Notice, StatusBadge,
};

#[component]
pub fn AccountsPage() -> impl IntoView {
    let (q, page) = (query_param("q"), list_position());
    let mark = ServerAction::<MarkAccountVerified>::new();
    let reset = ServerAction::<ResetSecondFactor>::new();
    let data = Resource::new(
        move || (q.get(), page.get(), mark.version().get() + reset.version().get()),
        |(q, p, _)| list_accounts(q, p),
    );
    let overview = Resource::new(|| (), |_| operator_overview());
    let error = action_error(mark);
    let reset_error = action_error(reset);
    let marked = done_notice(mark, "verified", "The address is marked verified.");
    let was_reset = done_notice(reset, "second_factor_reset", "Two-factor authentication is reset. The person is told by email.");
    let done = Signal::derive(move || marked.get().or_else(|| was_reset.get()));
    view! {
        <OperatorShell title="Accounts" active="accounts">
        <Notice message=done />
        <FormError error />
        <ListPanel label="Accounts">
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let smtp = overview.await.map(|o| o.smtp_configured).unwrap_or(true);
                    let hint = if smtp {
                        "Mail is sent through SMTP: people verify their address with the emailed link."
                    } else {
                        "No SMTP server is configured, so verification links wait in the outbox. Pass a link on to its owner, or mark an address verified once you know it is theirs (this is audited)."
                    };
                    view! {
                        <p class="hint">{hint}</p>
                        <ListControls search_label="Search username or email" />
                        <DataTable
                            label="Accounts"
                            columns=vec!["Username", "Email", "Email status", "Two-factor", "Operator", "Created", "Actions"]
                            sortable=vec![("Username", "username"), ("Email", "email"), ("Created", "created")]
                            data
                            empty="No accounts match."
                            row=move |a: AccountView| {
                                let id = a.id.to_string();
                                let label = format!("Mark verified: {}", a.email);
                                let reset_label = format!("Reset two-factor authentication of {}", a.username);
                                view! {
                                    <tr>
                                        <td>{a.username.clone()}</td>
                                        <td>{a.email.clone()}</td>
                                        <td><StatusBadge status=Badge::email(a.email_verified) /></td>
                                        <td><StatusBadge status=Badge::second_factor(a.second_factor) /></td>
                                        <td>{if a.is_operator { "Yes" } else { "No" }}</td>
                                        <td class="nowrap">{fmt_time(&a.created)}</td>
                                        <td class="row-actions">
                                            {(!a.email_verified && !smtp).then(|| view! {
                                                <ServerForm action=mark fields=vec![("account", id.clone()), ("back", crate::ui::kit::dialog::here())]>
                                                    <button type="submit" class="button" aria-label=label>"Mark verified"</button>
                                                </ServerForm>
                                            })}
                                            {a.second_factor.then(|| view! {
                                                <ConfirmDialog action=reset kind=Confirm::ResetSecondFactor opener="Reset two-factor…" opener_label=reset_label fields=vec![("account", id)] error=reset_error />
                                            })}
                                        </td>
                                    </tr>
                                }.into_any()
                            }
                        />
                    }
                })}
            </Suspense>
        </ListPanel>
        </OperatorShell>
    }
}

//! Email: stored in the outbox first (in the use case's transaction), then sent by this worker
//! over SMTP with retries and backoff. With no SMTP server configured the outbox is the record.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::server::store::outbox::{self, OutboxMessage};
use crate::server::store::Store;

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS) or `smtps://host` (TLS),
    /// with optional `user:password@`.
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("--smtp-url: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("--mail-from: {e}"))?;
        Ok(Mailer { transport, from })
    }

    async fn send(&self, m: &OutboxMessage) -> Result<(), String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(m.subject.clone());
        for to in &m.to {
            builder = builder.to(to
                .parse::<Mailbox>()
                .map_err(|e| format!("recipient {to}: {e}"))?);
        }
        let email = builder.body(m.body.clone()).map_err(|e| e.to_string())?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Sends due messages until the process ends; woken early by `wake` when a message is queued.
pub async fn run_worker(store: Store, mailer: Mailer, wake: Arc<Notify>) {
    loop {
        match store.read({ let now = store.clock().now(); move |tx| outbox::due(tx, now, 20) }).await {
            Ok(due) => {
                for m in due {
                    let result = mailer.send(&m).await;
                    if let Err(e) = &result {
                        tracing::warn!(message = %m.id, attempt = m.attempts + 1, error = %e, "sending mail failed; will retry");
                    } else {
                        tracing::info!(message = %m.id, "mail sent");
                    }
                    let id = m.id;
                    if let Err(e) = store
                        .write(move |tx| outbox::record_attempt(tx, id, result, crate::server::store::now()))
                        .await
                    {
                        tracing::error!(error = %e, "could not record a mail attempt");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read the outbox"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

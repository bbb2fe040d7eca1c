//! Email: stored in the outbox first (in the use case's transaction), then sent by this worker
//! over SMTP with retries and backoff. With no SMTP server configured the outbox is the record.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::server::store::outbox::{self, OutboxMessage};
use crate::server::store::Store;

/// Why a mail could not be set up or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("--smtp-url: {0}")]
    SmtpUrl(#[source] lettre::transport::smtp::Error),
    #[error("--mail-from: {0}")]
    From(#[source] lettre::address::AddressError),
    #[error("recipient {to}: {source}")]
    Recipient { to: String, #[source] source: lettre::address::AddressError },
    #[error("{0}")]
    Message(#[from] lettre::error::Error),
    #[error("{0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS) or `smtps://host` (TLS),
    /// with optional `user:password@`.
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(MailError::SmtpUrl)?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(MailError::From)?;
        Ok(Mailer { transport, from })
    }

    async fn send(&self, m: &OutboxMessage) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(m.subject.clone());
        for to in &m.to {
            builder = builder.to(to
                .parse::<Mailbox>()
                .map_err(|source| MailError::Recipient { to: to.clone(), source })?);
        }
        let email = builder.body(m.body.clone())?;
        self.transport.send(email).await?;
        Ok(())
    }
}

/// Sends due messages until the process ends; woken early by `wake` when a message is queued,
/// or when the clock moved (a retry may be due).
pub async fn run_worker(store: Store, mailer: Mailer, wake: Arc<Notify>) {
    let mut moved = store.clock().moved();
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
                    let (id, result) = (m.id, result.map_err(|e| e.to_string()));
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
            Ok(()) = moved.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

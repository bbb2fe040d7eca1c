//! Single sign-on: the OpenID Connect providers the operator configured, the identities they
//! sign in (the provider's subject, linked to one account), and which workspaces use which.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec;
use super::tables::{SSO_IDENTITIES, SSO_PROVIDERS, SSO_WORKSPACES};
use super::Reads;
use crate::model::AppError;

/// At most this many providers: the login page shows a button for each.
pub const MAX_PROVIDERS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoProvider {
    pub id: String,
    /// The login page's button reads "Sign in with {label}".
    pub label: String,
    /// The OpenID Connect issuer; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Lowercase email domains whose people may sign in; empty for any.
    pub allowed_domains: Vec<String>,
    /// Scopes asked beside `openid email profile`, such as `groups`.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub created: DateTime<Utc>,
}

impl SsoProvider {
    /// Whether `email`'s domain may sign in with this provider.
    pub fn admits(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase()).unwrap_or_default();
        !domain.is_empty() && (self.allowed_domains.is_empty() || self.allowed_domains.iter().any(|d| *d == domain))
    }
}

pub fn put(tx: &WriteTransaction, p: &SsoProvider) -> Result<(), AppError> {
    codec::put(tx, SSO_PROVIDERS, p.id.as_str(), p)
}

pub fn get(tx: &impl Reads, id: &str) -> Result<Option<SsoProvider>, AppError> {
    tx.row(SSO_PROVIDERS, id)
}

/// Every provider, by id (few: at most [`MAX_PROVIDERS`]).
pub fn list(tx: &impl Reads) -> Result<Vec<SsoProvider>, AppError> {
    super::codec::all(&tx.open(SSO_PROVIDERS)?)
}

/// Deletes a provider and the identities it signed in (their accounts stay).
pub fn remove(tx: &WriteTransaction, id: &str) -> Result<(), AppError> {
    tx.open_table(SSO_PROVIDERS)?.remove(id)?;
    let mut identities = tx.open_table(SSO_IDENTITIES)?;
    let mut subjects: Vec<String> = Vec::new();
    for row in identities.range((id, "")..)? {
        let (k, _) = row?;
        let (p, subject) = k.value();
        if p != id {
            break;
        }
        subjects.push(subject.to_string());
    }
    for s in subjects {
        identities.remove((id, s.as_str()))?;
    }
    Ok(())
}

/// The account that `subject` at `provider` signs in, if linked.
pub fn identity(tx: &impl Reads, provider: &str, subject: &str) -> Result<Option<Uuid>, AppError> {
    Ok(tx.open(SSO_IDENTITIES)?.get((provider, subject))?.map(|v| Uuid::from_u128(v.value())))
}

pub fn link(tx: &WriteTransaction, provider: &str, subject: &str, account: Uuid) -> Result<(), AppError> {
    tx.open_table(SSO_IDENTITIES)?.insert((provider, subject), account.as_u128())?;
    Ok(())
}

pub fn unlink(tx: &WriteTransaction, provider: &str, subject: &str) -> Result<(), AppError> {
    tx.open_table(SSO_IDENTITIES)?.remove((provider, subject))?;
    Ok(())
}

/// Unlinks every identity that signs `account` in; how many there were. It reads every linked
/// identity: it runs only when an account's address is proven by someone else (rare).
pub fn unlink_account(tx: &WriteTransaction, account: Uuid) -> Result<usize, AppError> {
    let mut identities = tx.open_table(SSO_IDENTITIES)?;
    let mut theirs: Vec<(String, String)> = Vec::new();
    for row in identities.iter()? {
        let (k, v) = row?;
        if v.value() == account.as_u128() {
            let (p, subject) = k.value();
            theirs.push((p.to_string(), subject.to_string()));
        }
    }
    for (p, subject) in &theirs {
        identities.remove((p.as_str(), subject.as_str()))?;
    }
    Ok(theirs.len())
}

/// The workspaces that use `provider`.
pub fn workspaces_using(tx: &impl Reads, provider: &str) -> Result<Vec<Uuid>, AppError> {
    let t = tx.open(SSO_WORKSPACES)?;
    let mut out = Vec::new();
    for row in t.range((provider, 0u128)..=(provider, u128::MAX))? {
        out.push(Uuid::from_u128(row?.0.value().1));
    }
    Ok(out)
}

/// Notes that `workspace` moved from the provider `from` to `to` (either may be none).
pub fn set_workspace(tx: &WriteTransaction, workspace: Uuid, from: Option<&str>, to: Option<&str>) -> Result<(), AppError> {
    let mut t = tx.open_table(SSO_WORKSPACES)?;
    if let Some(p) = from {
        t.remove((p, workspace.as_u128()))?;
    }
    if let Some(p) = to {
        t.insert((p, workspace.as_u128()), ())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    fn provider(id: &str) -> SsoProvider {
        SsoProvider {
            id: id.into(),
            label: id.to_uppercase(),
            issuer: format!("https://{id}.example"),
            client_id: "c".into(),
            client_secret: "s".into(),
            allowed_domains: vec!["example.com".into()],
            scopes: vec![],
            created: Utc::now(),
        }
    }

    #[test]
    fn removing_a_provider_unlinks_its_identities_only_and_workspaces_are_listed_per_provider() {
        let store = Store::memory();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        store
            .write_blocking(move |tx| {
                put(tx, &provider("okta"))?;
                put(tx, &provider("okta-2"))?;
                link(tx, "okta", "sub-1", a)?;
                link(tx, "okta", "sub-2", b)?;
                link(tx, "okta-2", "sub-1", b)?;
                set_workspace(tx, a, None, Some("okta"))?;
                set_workspace(tx, b, None, Some("okta-2"))?;
                set_workspace(tx, b, Some("okta-2"), Some("okta"))?;
                remove(tx, "okta-2")
            })
            .unwrap();
        let (ids, sub1, gone, using, using2) = store
            .read_blocking(|tx| {
                Ok((
                    list(tx)?.into_iter().map(|p| p.id).collect::<Vec<_>>(),
                    identity(tx, "okta", "sub-1")?,
                    identity(tx, "okta-2", "sub-1")?,
                    workspaces_using(tx, "okta")?.len(),
                    workspaces_using(tx, "okta-2")?.len(),
                ))
            })
            .unwrap();
        assert_eq!(ids, vec!["okta".to_string()]);
        assert_eq!(sub1, Some(a));
        assert_eq!(gone, None);
        assert_eq!((using, using2), (2, 0));
    }

    #[test]
    fn allowed_domains_match_the_whole_domain_ignoring_case() {
        let p = provider("okta");
        assert!(p.admits("Ann@Example.COM"));
        assert!(!p.admits("ann@sub.example.com"));
        assert!(!p.admits("ann@example.com.evil.test"));
        assert!(!p.admits("no-at-sign"));
        let any = SsoProvider { allowed_domains: vec![], ..p };
        assert!(any.admits("ann@anywhere.test"));
    }
}

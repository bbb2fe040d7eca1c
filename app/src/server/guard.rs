//! Guards: a value of these types exists only when the check passed, so a function that takes one
//! is authorized by having it.

use std::marker::PhantomData;

use tower_sessions::Session;
use uuid::Uuid;

pub use crate::server::policy::{act, Action, WorkspaceAction};

use crate::model::{Missing, OrMissing};
use crate::model::AppError;
use crate::server::store::accounts::{self, Account};
use crate::server::store::sessions;
use crate::server::Context;

const ACCOUNT_ID: &str = sessions::ACCOUNT_KEY;
const EPOCH: &str = sessions::EPOCH_KEY;
pub(crate) const LOGIN_AT: &str = sessions::LOGIN_AT_KEY;
/// Unix seconds of the last request; moving it forward re-saves the session, which slides the
/// idle expiry (tower-sessions saves only modified sessions).
pub(crate) const LAST_SEEN: &str = sessions::LAST_SEEN_KEY;
pub(crate) const CLIENT: &str = sessions::CLIENT_KEY;
pub(crate) const AGENT: &str = sessions::AGENT_KEY;
pub(crate) const METHOD: &str = sessions::METHOD_KEY;
const SECOND_STEP: &str = sessions::SECOND_STEP_KEY;
const SSO: &str = sessions::SSO_KEY;
const SSO_PENDING: &str = sessions::SSO_PENDING_KEY;
const SSO_SECOND_STEP: &str = sessions::SSO_SECOND_STEP_KEY;
const PASSKEY_CEREMONY: &str = sessions::PASSKEY_CEREMONY_KEY;
/// How long the second step of a login may wait after the password.
pub const SECOND_STEP_SECS: i64 = 5 * 60;
/// How long after signing in a session may make a lasting way into the account (a personal
/// access token, a passkey); later, the person signs in again first (see
/// [`SignedIn::signed_in_recently`]).
pub const RECENT_SIGN_IN_SECS: i64 = 2 * 3600;

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store failure");
    AppError::Internal
}

/// A signed-in person, checked against the store on this request.
/// Its fields are private: it is made only from a session checked against the store.
#[derive(Clone)]
pub struct SignedIn {
    account: Account,
    session: Session,
    /// Made from a personal access token rather than a browser's session.
    token: bool,
    /// When the session signed in (Unix seconds); `i64::MIN` for a token.
    signed_in_at: i64,
}

impl SignedIn {
    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The handle this session is stored under (none for a token's request, which has no
    /// stored session).
    pub fn session_handle(&self) -> Option<u128> {
        self.session.id().map(|i| sessions::handle(&i))
    }

    /// Refuses a browser's session in `workspace` where the workspace requires single sign-on and
    /// the session was not signed in with its provider. A personal access token passes here: it
    /// is held to the rule where it acts, by the provider its session kept on it
    /// (`studio::person`).
    pub async fn single_sign_on_admits(&self, workspace: &crate::server::store::workspaces::Workspace) -> Result<(), AppError> {
        if let Some(sso) = workspace.single_sign_on.as_ref().filter(|s| s.required) {
            let provider = self.session.get::<String>(SSO).await.ok().flatten();
            if !self.token && provider.as_deref() != Some(sso.provider.as_str()) {
                return Err(Member::single_sign_on_required(&workspace.name));
            }
        }
        Ok(())
    }

    /// The single sign-on provider the browser's session signed in with; `None` for another way
    /// and for a personal access token.
    pub async fn single_sign_on_provider(&self) -> Option<String> {
        if self.token {
            return None;
        }
        self.session.get::<String>(SSO).await.ok().flatten()
    }

    /// A signed-in person as a test sets it up: a session signed in by the system clock's now.
    #[cfg(test)]
    pub fn for_tests(account: Account, session: Session) -> SignedIn {
        SignedIn { account, session, token: false, signed_in_at: chrono::Utc::now().timestamp() }
    }

    /// The same person, as a session that signed in at `at` (Unix seconds).
    #[cfg(test)]
    pub fn signed_in_at(self, at: i64) -> SignedIn {
        SignedIn { signed_in_at: at, ..self }
    }

    /// Refuses a session that signed in more than [`RECENT_SIGN_IN_SECS`] ago, and a personal
    /// access token, for an action that makes a lasting way into the account (`to`, as in "To
    /// make a token, …"): someone who holds a stolen session cookie must not be able to turn it
    /// into a credential that outlives the session. Signing in again (by any means the account
    /// has) starts a fresh session, which may.
    pub fn signed_in_recently(&self, clock: &crate::server::clock::Clock, to: &str) -> Result<(), AppError> {
        let age = clock.timestamp().saturating_sub(self.signed_in_at);
        if self.token || !(0..=RECENT_SIGN_IN_SECS).contains(&age) {
            return Err(AppError::SignInAgain(format!(
                "To {to}, sign in again first: this session signed in more than {} hours ago.",
                RECENT_SIGN_IN_SECS / 3600
            )));
        }
        Ok(())
    }

    /// The signed-in person of the current server function's request, or 401.
    pub async fn require() -> Result<SignedIn, AppError> {
        SignedIn::optional().await?.ok_or(AppError::Unauthenticated)
    }

    /// The signed-in person of the current server function's request, if any.
    pub async fn optional() -> Result<Option<SignedIn>, AppError> {
        let state = Context::current()?;
        let session = current_session().await?;
        SignedIn::from_session(&state, session).await
    }

    /// Resolves a session to its account. A session past its absolute lifetime, from before the
    /// last password change, of a deleted account, or holding data we cannot read is ended.
    pub async fn from_session(
        state: &Context,
        session: Session,
    ) -> Result<Option<SignedIn>, AppError> {
        let (id, epoch, login_at) = match read_keys(&session).await {
            Ok(Some(keys)) => keys,
            Ok(None) => return Ok(None),
            Err(_) => {
                session.flush().await.map_err(session_error)?;
                return Ok(None);
            }
        };
        let age = state.clock.timestamp().saturating_sub(login_at);
        if age < 0 || age as u64 > state.config.session_absolute.as_secs() {
            session.flush().await.map_err(session_error)?;
            return Ok(None);
        }
        let account = state.store.read(move |tx| accounts::get(tx, id)).await?;
        match account {
            Some(account) if account.session_epoch == epoch => {
                let now = state.clock.timestamp();
                let seen = session.get::<i64>(LAST_SEEN).await.ok().flatten().unwrap_or(0);
                // At most one write per interval, small against the idle timeout.
                let interval = (state.config.session_idle.as_secs() as i64 / 4).clamp(1, 60);
                if now - seen >= interval {
                    session.insert(LAST_SEEN, now).await.map_err(session_error)?;
                }
                Ok(Some(SignedIn { account, session, token: false, signed_in_at: login_at }))
            }
            _ => {
                session.flush().await.map_err(session_error)?;
                Ok(None)
            }
        }
    }

    /// Starts a signed-in session for `account` under a fresh session id, noting where from and
    /// how (for the person's list of sessions).
    pub async fn start(
        clock: &crate::server::clock::Clock,
        session: &Session,
        account: &Account,
        client: Option<std::net::IpAddr>,
        agent: Option<String>,
        method: crate::model::account::SignInMethod,
    ) -> Result<(), AppError> {
        session.cycle_id().await.map_err(session_error)?;
        let _ = session.remove_value(SECOND_STEP).await.map_err(session_error)?;
        let _ = session.remove_value(SSO).await.map_err(session_error)?;
        let _ = session.remove_value(SSO_PENDING).await.map_err(session_error)?;
        let _ = session.remove_value(SSO_SECOND_STEP).await.map_err(session_error)?;
        let now = clock.timestamp();
        session.insert(METHOD, method.label()).await.map_err(session_error)?;
        session.insert(LAST_SEEN, now).await.map_err(session_error)?;
        if let Some(c) = client {
            session.insert(CLIENT, c.to_string()).await.map_err(session_error)?;
        }
        if let Some(a) = agent {
            let a: String = a.chars().take(300).collect();
            session.insert(AGENT, a).await.map_err(session_error)?;
        }
        session
            .insert(ACCOUNT_ID, account.id)
            .await
            .map_err(session_error)?;
        session
            .insert(EPOCH, account.session_epoch)
            .await
            .map_err(session_error)?;
        session
            .insert(LOGIN_AT, now)
            .await
            .map_err(session_error)?;
        crate::server::metrics::sign_in(method.label());
        Ok(())
    }

    /// Starts a signed-in session made at the single sign-on provider `provider` (labelled
    /// `label`), which the workspaces that require that provider admit.
    pub async fn start_single_sign_on(
        clock: &crate::server::clock::Clock,
        session: &Session,
        account: &Account,
        client: Option<std::net::IpAddr>,
        agent: Option<String>,
        provider: &str,
        label: &str,
    ) -> Result<(), AppError> {
        SignedIn::start(clock, session, account, client, agent, crate::model::account::SignInMethod::SingleSignOn).await?;
        session
            .insert(METHOD, crate::model::account::SignInMethod::single_sign_on(label))
            .await
            .map_err(session_error)?;
        session.insert(SSO, provider).await.map_err(session_error)
    }

    /// Keeps a single sign-on begun in this browser until the provider sends it back.
    pub async fn keep_pending_sso<T: serde::Serialize>(session: &Session, pending: &T) -> Result<(), AppError> {
        session.insert(SSO_PENDING, pending).await.map_err(session_error)
    }

    /// Takes out the single sign-on begun in this browser: an answer is used once.
    pub async fn take_pending_sso<T: serde::de::DeserializeOwned>(session: &Session) -> Result<Option<T>, AppError> {
        Ok(session.remove::<T>(SSO_PENDING).await.ok().flatten())
    }

    /// Notes the passkey ceremony this browser began (its challenge waits in the store).
    pub async fn keep_ceremony(session: &Session, id: &str) -> Result<(), AppError> {
        session.insert(PASSKEY_CEREMONY, id).await.map_err(session_error)
    }

    /// The passkey ceremony this browser began last, if any.
    pub async fn ceremony(session: &Session) -> Result<Option<String>, AppError> {
        Ok(session.get::<String>(PASSKEY_CEREMONY).await.ok().flatten())
    }

    /// The password of `account` was right and its second factor is asked next: the session
    /// (under a fresh id) remembers that for [`SECOND_STEP_SECS`], and grants nothing.
    pub async fn begin_second_step(
        clock: &crate::server::clock::Clock,
        session: &Session,
        account: &Account,
    ) -> Result<(), AppError> {
        session.cycle_id().await.map_err(session_error)?;
        let _ = session.remove_value(SSO_SECOND_STEP).await.map_err(session_error)?;
        session
            .insert(SECOND_STEP, (account.id, account.session_epoch, clock.timestamp()))
            .await
            .map_err(session_error)
    }

    /// A single sign-on answered for `account`, which has a second factor: its second step is
    /// asked next, as after a password, and once passed the session counts as signed in with the
    /// provider `provider` (labelled `label`).
    pub async fn begin_second_step_after_single_sign_on(
        clock: &crate::server::clock::Clock,
        session: &Session,
        account: &Account,
        provider: &str,
        label: &str,
    ) -> Result<(), AppError> {
        SignedIn::begin_second_step(clock, session, account).await?;
        session.insert(SSO_SECOND_STEP, (account.id, provider, label)).await.map_err(session_error)
    }

    /// The provider (id, label) at which the login of `account` waiting for its second step began,
    /// or `None` when it began with the password.
    pub async fn second_step_after(session: &Session, account: Uuid) -> Option<(String, String)> {
        match session.get::<(Uuid, String, String)>(SSO_SECOND_STEP).await {
            Ok(Some((a, provider, label))) if a == account => Some((provider, label)),
            _ => None,
        }
    }

    /// A session just started (by [`SignedIn::start`]) after a second step that followed the
    /// single sign-on provider `provider` (labelled `label`): it counts as signed in with it, and
    /// says so with the second factor it took (`second`).
    pub async fn signed_in_with_provider_and(session: &Session, provider: &str, label: &str, second: &str) -> Result<(), AppError> {
        session
            .insert(METHOD, format!("{} and {second}", crate::model::account::SignInMethod::single_sign_on(label)))
            .await
            .map_err(session_error)?;
        session.insert(SSO, provider).await.map_err(session_error)
    }

    /// The login waiting for its second factor in this session: (account, session epoch), if one
    /// was begun less than [`SECOND_STEP_SECS`] ago.
    pub async fn second_step(clock: &crate::server::clock::Clock, session: &Session) -> Result<Option<(Uuid, u64)>, AppError> {
        let Ok(Some((id, epoch, at))) = session.get::<(Uuid, u64, i64)>(SECOND_STEP).await else {
            return Ok(None);
        };
        let age = clock.timestamp() - at;
        if !(0..=SECOND_STEP_SECS).contains(&age) {
            let _ = session.remove_value(SECOND_STEP).await.map_err(session_error)?;
            return Ok(None);
        }
        Ok(Some((id, epoch)))
    }

    /// The person a personal access token names (checked by the caller against the store in
    /// this request), for a request that has no session: the session is a fresh one of this
    /// request only, never saved.
    pub fn by_token(state: &Context, account: Account) -> SignedIn {
        let store = std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(state.store.clone()));
        SignedIn { account, session: Session::new(None, store, None), token: true, signed_in_at: i64::MIN }
    }

    /// Ends this session: its record is deleted and the cookie cleared.
    pub async fn end(session: &Session) -> Result<(), AppError> {
        session.flush().await.map_err(session_error)
    }

    /// After the epoch moves on with this session kept as it is (turning two factors on, whose
    /// recovery codes wait for this session's id): this session moves to the new epoch (others
    /// are now stale).
    pub async fn stay_at(&self, account: &Account) -> Result<(), AppError> {
        self.session.insert(EPOCH, account.session_epoch).await.map_err(session_error)
    }

    /// After the epoch moves on (password change, "sign out everywhere"): this session moves to
    /// the new epoch (others are now stale).
    pub async fn renew(&self, account: &Account) -> Result<(), AppError> {
        self.session.cycle_id().await.map_err(session_error)?;
        self.session
            .insert(EPOCH, account.session_epoch)
            .await
            .map_err(session_error)
    }
}

async fn read_keys(
    session: &Session,
) -> Result<Option<(Uuid, u64, i64)>, tower_sessions::session::Error> {
    let Some(id) = session.get::<Uuid>(ACCOUNT_ID).await? else {
        return Ok(None);
    };
    let epoch = session.get::<u64>(EPOCH).await?.unwrap_or(0);
    let login_at = session.get::<i64>(LOGIN_AT).await?.unwrap_or(0);
    Ok(Some((id, epoch, login_at)))
}

/// The session of the current server function's request.
pub async fn current_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer on this request");
        AppError::Internal
    })
}

/// A platform operator (made only by [`Operator::require`]).
pub struct Operator(SignedIn);

impl Operator {
    pub fn signed_in(&self) -> &SignedIn {
        &self.0
    }

    /// An operator as a test sets it up.
    #[cfg(test)]
    pub fn for_tests(who: SignedIn) -> Operator {
        Operator(who)
    }

    /// The signed-in operator of the current request. Where operators must use two factors
    /// (`--require-operator-second-factor`), one without is refused until they turn it on.
    pub async fn require() -> Result<Operator, AppError> {
        let op = Operator::check(SignedIn::require().await?)?;
        if Context::current()?.config.operators_need_second_factor && !op.0.account.has_second_factor() {
            return Err(AppError::SecondFactorRequired(
                "The operator area requires two-factor authentication on this server. Turn it on on your account page, then come back.".into(),
            ));
        }
        Ok(op)
    }

    /// Passes only for a platform operator's account (also used by `mpdp dev seed`, which signs
    /// people in through real sessions outside a request).
    pub fn check(signed_in: SignedIn) -> Result<Operator, AppError> {
        if !signed_in.account.is_operator {
            return Err(AppError::Forbidden(
                "Only platform operators may use the operator area.".into(),
            ));
        }
        Ok(Operator(signed_in))
    }
}

/// An active member of a workspace (not blocked). Anyone else — including members of other
/// workspaces — gets 404, so workspace names are not revealed.
/// Its fields are private: a `Member` is made only by [`Member::check`], and read through its
/// accessors.
#[derive(Clone)]
pub struct Member {
    who: SignedIn,
    workspace: crate::server::store::workspaces::Workspace,
    membership: crate::server::store::members::Membership,
}

impl Member {
    /// The signed-in person.
    pub fn who(&self) -> &SignedIn {
        &self.who
    }

    pub fn workspace(&self) -> &crate::server::store::workspaces::Workspace {
        &self.workspace
    }

    pub fn membership(&self) -> &crate::server::store::members::Membership {
        &self.membership
    }

    /// A member as a test sets it up (the checks themselves are tested against the store).
    #[cfg(test)]
    pub fn for_tests(who: SignedIn, workspace: crate::server::store::workspaces::Workspace, membership: crate::server::store::members::Membership) -> Member {
        Member { who, workspace, membership }
    }

    pub async fn require(workspace_name: &str) -> Result<Member, AppError> {
        let who = SignedIn::require().await?;
        let state = Context::current()?;
        Member::check(&state, who, workspace_name).await
    }

    pub async fn check(
        state: &Context,
        who: SignedIn,
        workspace_name: &str,
    ) -> Result<Member, AppError> {
        use crate::server::store::workspaces as ws;
        let name = workspace_name.to_string();
        let account = who.account.id;
        let found = state
            .store
            .read(move |tx| {
                let Some(w) = ws::workspace_by_name(tx, &name)? else {
                    return Ok(None);
                };
                Ok(crate::server::store::members::membership(tx, w.id, account)?.map(|m| (w, m)))
            })
            .await?;
        match found {
            Some((workspace, membership)) if membership.active => {
                if workspace.require_second_factor && !who.account.has_second_factor() {
                    return Err(Member::second_factor_required(&workspace.name));
                }
                who.single_sign_on_admits(&workspace).await?;
                Ok(Member { who, workspace, membership })
            }
            Some((workspace, _)) => Err(Member::blocked(&workspace.name)),
            None => Err(AppError::NotFound(format!("There is no workspace named {workspace_name} that you are a member of."))),
        }
    }

    /// Passes only if the policy table lets this member's role do the action `A` (and, for a
    /// change, the workspace is not suspended): the one way to an [`Authorized`] guard.
    pub fn authorize<A: Action>(self, _action: A) -> Result<Authorized<A>, AppError> {
        let action = A::ACTION;
        if !crate::server::policy::allows(self.membership.role, action) {
            return Err(AppError::Forbidden(action.refusal().into()));
        }
        if action.is_change() && self.workspace.status == crate::model::workspace::WorkspaceStatus::Suspended {
            return Err(Member::suspended(&self.workspace.name));
        }
        Ok(Authorized { member: self, action: PhantomData })
    }

    /// The refusal for a blocked member of `workspace`.
    pub fn blocked(workspace: &str) -> AppError {
        AppError::Forbidden(format!(
            "Your access to the workspace {workspace} has been blocked by its Workspace Admin. Your other workspaces are not affected."
        ))
    }

    /// The refusal of a member without a second factor in a workspace that requires one.
    pub fn second_factor_required(workspace: &str) -> AppError {
        AppError::SecondFactorRequired(format!(
            "{workspace} requires two-factor authentication. Turn it on on your account page, then come back."
        ))
    }

    /// The refusal of a session not signed in with the single sign-on a workspace requires.
    pub fn single_sign_on_required(workspace: &str) -> AppError {
        AppError::SingleSignOnRequired(format!(
            "{workspace} requires single sign-on: sign in with its provider to use it. Your other workspaces are not affected."
        ))
    }

    /// The refusal of a change in the suspended `workspace`.
    pub fn suspended(workspace: &str) -> AppError {
        AppError::Forbidden(format!(
            "The workspace {workspace} is suspended: nothing in it can be changed until the platform operator reactivates it."
        ))
    }
}

/// A member whom the policy table allows the action `A` (for a change, in a workspace that is not
/// suspended), made only by [`Member::authorize`]. A use case names the action it needs in its
/// parameter (`&Authorized<act::InviteMembers>`), so it can't be called with a weaker proof, and
/// proves it again in the write transaction that acts ([`Authorized::standing`]).
pub struct Authorized<A: Action> {
    member: Member,
    action: PhantomData<A>,
}

impl<A: Action> std::ops::Deref for Authorized<A> {
    type Target = Member;

    fn deref(&self) -> &Member {
        &self.member
    }
}

impl<A: Action> Authorized<A> {
    /// The member's standing, for checks in the caller's transaction ([`MiniProgramAccess`]).
    pub fn scope(&self) -> MemberScope {
        MemberScope::of(&self.member)
    }

    /// Runs `change` in one write transaction after proving there again what this guard proved
    /// ([`Standing::recheck`]); `change` is given the member's standing as it is now.
    pub async fn write<T, F>(&self, cx: &Context, change: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction, &MemberScope) -> Result<T, AppError> + Send + 'static,
    {
        let standing = self.standing();
        cx.store.write(move |tx| change(tx, &standing.recheck(tx)?)).await
    }

    /// What this guard proved, to be proved again in the write transaction that acts
    /// ([`Standing::recheck`]).
    pub fn standing(&self) -> Standing {
        Standing { scope: self.scope(), action: A::ACTION }
    }

    /// A guard as a test sets it up, without the request's check: the use case's own write
    /// transaction must then refuse what the policy does not allow.
    #[cfg(test)]
    pub fn for_tests(member: Member) -> Authorized<A> {
        Authorized { member, action: PhantomData }
    }

    /// The same member, authorized for another action too (or refused it).
    pub fn also<B: Action>(&self, action: B) -> Result<Authorized<B>, AppError> {
        self.member.clone().authorize(action)
    }
}

/// A member's authorization for one action, cut loose from the request so the write transaction
/// that acts can check it again: a block, a role change, a removal or a suspension committed since
/// the request's check is refused there.
#[derive(Clone)]
pub struct Standing {
    scope: MemberScope,
    action: WorkspaceAction,
}

impl Standing {
    /// Re-reads, in the write transaction that acts, what the guard checked on the request: the
    /// member is still an active member whose role the policy table allows the action, and, for
    /// a change, the workspace is not suspended. Returns the member's standing as it is now (their
    /// role may have changed to another that the action also allows).
    pub fn recheck(&self, tx: &redb::WriteTransaction) -> Result<MemberScope, AppError> {
        self.scope.recheck(tx, self.action)
    }
}

/// A member's standing in their workspace, cut loose from the request so a store transaction can
/// take it along. Its fields are private: it is made only from an [`Authorized`] guard (or
/// re-read by [`Standing::recheck`]).
#[derive(Clone)]
pub struct MemberScope {
    workspace: Uuid,
    workspace_name: String,
    account: Uuid,
    role: crate::model::workspace::Role,
}

impl MemberScope {
    fn of(m: &Member) -> MemberScope {
        MemberScope {
            workspace: m.workspace.id,
            workspace_name: m.workspace.name.clone(),
            account: m.who.account.id,
            role: m.membership.role,
        }
    }

    pub fn workspace(&self) -> Uuid {
        self.workspace
    }

    pub fn workspace_name(&self) -> &str {
        &self.workspace_name
    }

    /// The workspace as the audit log names it (`audit::record`).
    pub fn audited(&self) -> Option<(Uuid, &str)> {
        Some((self.workspace, &self.workspace_name))
    }

    pub fn account(&self) -> Uuid {
        self.account
    }

    pub fn role(&self) -> crate::model::workspace::Role {
        self.role
    }

    /// The standing of `account` in the workspace, read in `tx`, for a request that names its
    /// person by a personal access token rather than a session: an active member (with a second
    /// factor where the workspace requires one) whose role the policy table allows `action`, and,
    /// for a change, the workspace not suspended — the same checks as [`Standing::recheck`].
    pub fn for_account(
        tx: &impl crate::server::store::Reads,
        workspace: Uuid,
        workspace_name: &str,
        account: Uuid,
        action: WorkspaceAction,
    ) -> Result<MemberScope, AppError> {
        let unchecked = MemberScope {
            workspace,
            workspace_name: workspace_name.to_string(),
            account,
            role: crate::model::workspace::Role::WorkspaceDeveloper,
        };
        unchecked.recheck(tx, action)
    }

    /// Re-reads, in the write transaction that acts, what the guard checked on the request: the
    /// member is still an active member whose role the policy table allows `action`, and, for a
    /// change, the workspace is not suspended — so a block, a role change or a suspension
    /// committed since the check can't slip between the check and the write.
    /// Returns the scope with the member's role as it is now.
    fn recheck(&self, tx: &impl crate::server::store::Reads, action: WorkspaceAction) -> Result<MemberScope, AppError> {
        use crate::server::store::workspaces as ws;
        let gone = || AppError::NotFound(format!("There is no workspace named {} that you are a member of.", self.workspace_name));
        let m = crate::server::store::members::membership(tx, self.workspace, self.account)?.ok_or_else(gone)?;
        if !m.active {
            return Err(Member::blocked(&self.workspace_name));
        }
        if !crate::server::policy::allows(m.role, action) {
            return Err(AppError::Forbidden(action.refusal().into()));
        }
        let w = ws::get_workspace(tx, self.workspace)?.ok_or_else(gone)?;
        if action.is_change() && w.status == crate::model::workspace::WorkspaceStatus::Suspended {
            return Err(Member::suspended(&self.workspace_name));
        }
        if w.require_second_factor && !accounts::get(tx, self.account)?.is_some_and(|a| a.has_second_factor()) {
            return Err(Member::second_factor_required(&self.workspace_name));
        }
        Ok(MemberScope { role: m.role, ..self.clone() })
    }
}

pub use crate::server::policy::MiniNeed;

/// The mini-program-scoped guard: exists only when the member may do the [`MiniNeed`] on the
/// mini program, checked in the caller's transaction. One that the member may not even see is
/// "not found", saying nothing more; one they see but may not act on is refused (403).
pub struct MiniProgramAccess {
    mini_program: crate::server::store::minis::MiniProgram,
    part: Option<crate::model::minis::MiniRole>,
}

impl MiniProgramAccess {
    /// Checks `need` on the mini program `id` in the caller's transaction (a read, or the write
    /// that acts).
    pub fn check(tx: &impl crate::server::store::Reads, scope: &MemberScope, id: Uuid, need: MiniNeed) -> Result<MiniProgramAccess, AppError> {
        use crate::server::store::minis;
        MiniProgramAccess::decide(scope, minis::get(tx, scope.workspace, id)?, minis::role(tx, id, scope.account)?, need)
    }

    fn decide(
        scope: &MemberScope,
        found: Option<crate::server::store::minis::MiniProgram>,
        part: Option<crate::model::minis::MiniRole>,
        need: MiniNeed,
    ) -> Result<MiniProgramAccess, AppError> {
        use crate::server::policy::mini_allows;
        let mini_program = found.or_missing(Missing::MiniProgram)?;
        if !mini_allows(scope.role, part, MiniNeed::See) {
            return Err(Missing::MiniProgram.into());
        }
        if !mini_allows(scope.role, part, need) {
            return Err(AppError::Forbidden(need.refusal().into()));
        }
        Ok(MiniProgramAccess { mini_program, part })
    }

    pub fn mini_program(&self) -> &crate::server::store::minis::MiniProgram {
        &self.mini_program
    }

    pub fn into_mini_program(self) -> crate::server::store::minis::MiniProgram {
        self.mini_program
    }

    /// The member's part in it, if assigned.
    pub fn part(&self) -> Option<crate::model::minis::MiniRole> {
        self.part
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::server::domain::accounts::verified_account;
    use crate::server::store::sessions::RedbSessionStore;
    use crate::server::store::Store;
    use crate::server::Config;

    async fn setup() -> (Context, Account) {
        let mut config = Config::default();
        config.session_absolute = Duration::from_secs(60);
        let state = Context::new(Store::memory(), config);
        let account = verified_account(&state, "ann").await;
        (state, account)
    }

    fn session(state: &Context) -> Session {
        Session::new(
            None,
            Arc::new(RedbSessionStore::new(state.store.clone())),
            None,
        )
    }

    #[tokio::test]
    async fn a_started_session_resolves_to_its_account() {
        let (state, account) = setup().await;
        let s = session(&state);
        SignedIn::start(&state.clock, &s, &account, None, None, crate::model::account::SignInMethod::Password).await.unwrap();
        let who = SignedIn::from_session(&state, s).await.unwrap().unwrap();
        assert_eq!(who.account.id, account.id);
    }

    #[tokio::test]
    async fn a_session_past_its_absolute_lifetime_is_ended() {
        let (state, account) = setup().await;
        let s = session(&state);
        SignedIn::start(&state.clock, &s, &account, None, None, crate::model::account::SignInMethod::Password).await.unwrap();
        s.insert(LOGIN_AT, chrono::Utc::now().timestamp() - 61)
            .await
            .unwrap();
        assert!(SignedIn::from_session(&state, s.clone())
            .await
            .unwrap()
            .is_none());
        assert!(
            s.get::<Uuid>(ACCOUNT_ID).await.unwrap().is_none(),
            "its data is gone"
        );
    }

    #[tokio::test]
    async fn a_session_from_before_a_password_change_is_ended() {
        let (state, account) = setup().await;
        let s = session(&state);
        SignedIn::start(&state.clock, &s, &account, None, None, crate::model::account::SignInMethod::Password).await.unwrap();
        let mut changed = account.clone();
        changed.session_epoch += 1;
        state
            .store
            .write(move |tx| crate::server::store::accounts::update(tx, &changed))
            .await
            .unwrap();
        assert!(SignedIn::from_session(&state, s).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unreadable_session_data_counts_as_signed_out() {
        let (state, _) = setup().await;
        let s = session(&state);
        s.insert(ACCOUNT_ID, "not a uuid").await.unwrap();
        assert!(SignedIn::from_session(&state, s).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_guard_is_made_only_for_an_action_the_role_may_do_and_changes_wait_out_a_suspension() {
        use crate::model::workspace::{Role, WorkspaceStatus};
        let (state, account) = setup().await;
        let workspace = |status| crate::server::store::workspaces::Workspace { id: Uuid::nil(), ..crate::server::store::workspaces::fixtures::workspace("Acme", status) };
        let member = |role, status| {
            let membership = crate::server::store::members::Membership { workspace: Uuid::nil(), account: account.id, role, active: true, joined: chrono::Utc::now() };
            Member::for_tests(SignedIn::for_tests(account.clone(), session(&state)), workspace(status), membership)
        };
        let status = |r: Result<(), AppError>| r.err().map(|e| e.status()).unwrap_or(200);
        let mpa = member(Role::MiniProgramAdmin, WorkspaceStatus::Active);
        assert_eq!(status(mpa.clone().authorize(act::CreateMiniPrograms).map(drop)), 200);
        assert_eq!(status(mpa.clone().authorize(act::InviteMembers).map(drop)), 403, "not a Workspace Admin");
        let created = mpa.authorize(act::CreateMiniPrograms).unwrap();
        assert_eq!(status(created.also(act::ViewMiniPrograms).map(drop)), 200);
        assert_eq!(status(created.also(act::ManageApps).map(drop)), 403);
        let suspended = member(Role::WorkspaceAdmin, WorkspaceStatus::Suspended);
        assert_eq!(status(suspended.clone().authorize(act::ViewMembers).map(drop)), 200, "reading goes on");
        assert_eq!(status(suspended.authorize(act::InviteMembers).map(drop)), 403, "changes wait");
    }

    #[tokio::test]
    async fn a_second_factor_required_after_the_request_was_checked_is_refused_in_the_write() {
        use crate::model::workspace::{Role, WorkspaceStatus};
        use crate::server::store::{members, workspaces as ws};
        let (state, account) = setup().await;
        let w = ws::fixtures::workspace("Acme", WorkspaceStatus::Active);
        let id = w.id;
        let m = members::Membership { workspace: id, account: account.id, role: Role::WorkspaceAdmin, active: true, joined: chrono::Utc::now() };
        state.store.write(move |tx| { ws::insert_workspace(tx, &w)?; members::put_membership(tx, &m) }).await.unwrap();
        let who = SignedIn::for_tests(account.clone(), session(&state));
        let admin = Member::check(&state, who.clone(), "Acme").await.unwrap().authorize(act::InviteMembers).unwrap();
        // The workspace comes to require two factors between the request's check and its write.
        state
            .store
            .write(move |tx| {
                let mut w = ws::get_workspace(tx, id)?.unwrap();
                w.require_second_factor = true;
                ws::update_workspace(tx, &w)
            })
            .await
            .unwrap();
        let e = admin.write(&state, |_, _| Ok(())).await.unwrap_err();
        assert_eq!((e.status(), e.code()), (403, "second_factor_required"));
        let e = Member::check(&state, who, "Acme").await.err().unwrap();
        assert_eq!(e.code(), "second_factor_required");
        // With a second factor, both pass.
        let mut with = account.clone();
        with.second_factor = Some(chrono::Utc::now());
        let stored = with.clone();
        state.store.write(move |tx| crate::server::store::accounts::update(tx, &stored)).await.unwrap();
        let admin = Member::check(&state, SignedIn::for_tests(with, session(&state)), "Acme").await.unwrap().authorize(act::InviteMembers).unwrap();
        admin.write(&state, |_, _| Ok(())).await.unwrap();
    }

    #[test]
    fn the_mini_program_guard_follows_the_part_and_the_role() {
        use crate::model::minis::MiniRole::{Admin, Developer};
        use crate::model::workspace::Role::*;
        let mp = crate::server::store::minis::MiniProgram {
            id: Uuid::nil(),
            workspace: Uuid::nil(),
            name: "Coupons".into(),
            description: String::new(),
            category: "Shopping".into(),
            has_icon: false,
            removed: false,
            created: chrono::Utc::now(),
            created_by: "ann".into(),
            features: vec![],
        };
        let scope = |role| MemberScope { workspace: Uuid::nil(), workspace_name: "Acme".into(), account: Uuid::nil(), role };
        let status = |role, part, need| match MiniProgramAccess::decide(&scope(role), Some(mp.clone()), part, need) {
            Ok(_) => 200,
            Err(e) => e.status(),
        };
        assert_eq!(status(WorkspaceDeveloper, None, MiniNeed::See), 404, "a developer does not see what they are not assigned to");
        assert_eq!(status(WorkspaceDeveloper, Some(Developer), MiniNeed::Upload), 200);
        assert_eq!(status(WorkspaceDeveloper, Some(Developer), MiniNeed::Manage), 403);
        assert_eq!(status(WorkspaceReviewer, None, MiniNeed::See), 200);
        assert_eq!(status(WorkspaceReviewer, None, MiniNeed::Upload), 403);
        assert_eq!(status(MiniProgramAdmin, Some(Admin), MiniNeed::Manage), 200);
        assert_eq!(status(MiniProgramAdmin, None, MiniNeed::Manage), 403);
        assert_eq!(status(WorkspaceAdmin, None, MiniNeed::Manage), 200);
        assert!(MiniProgramAccess::decide(&scope(WorkspaceAdmin), None, None, MiniNeed::See).is_err());
    }
}

//! Argon2id password hashing with OWASP's parameters, run on its own threads and bounded so a
//! burst of logins cannot take every core from the rest of the server.
//!
//! The hashing threads are few (half the cores, at least one) and, on Linux, run at the lowest
//! scheduling priority (nice 19): when a container request or a page render wants a core, the
//! scheduler gives it at once instead of sharing it fairly with a 19 MiB hash. Logins then wait a
//! little longer under load; everything else does not.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::model::account::validate_password_length;
use crate::model::AppError;

/// OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
/// Beyond this many waiting hash jobs new logins are told to retry rather than queue forever.
const MAX_WAITING: usize = 256;

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid Argon2 parameters"),
    )
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// The hashing threads' queue; they end when the last `Hasher` clone is dropped.
    jobs: mpsc::Sender<Job>,
    waiting: Arc<AtomicUsize>,
    /// Verified against when the account does not exist, so both cases cost the same time.
    dummy_hash: Arc<OnceLock<String>>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        // Leave at least one core to everything else (the container API, page renders).
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let permits = (cores / 2).max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..permits {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("mpdp-hash-{n}"))
                .spawn(move || {
                    lowest_priority();
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Hasher {
            permits: Arc::new(Semaphore::new(permits)),
            jobs,
            waiting: Arc::new(AtomicUsize::new(0)),
            dummy_hash: Arc::new(OnceLock::new()),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::RateLimited {
                message: "The server is busy signing people in. Please try again in a few seconds."
                    .into(),
                retry_after_secs: 5,
            });
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| AppError::Internal)?;
        let (done, out) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(job());
                drop(permit);
            }))
            .map_err(|_| {
                tracing::error!("no password hashing thread is running");
                AppError::Internal
            })?;
        out.await.map_err(|_| {
            tracing::error!("a password hashing job failed");
            AppError::Internal
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks `password` against `hash`; with no hash (unknown account), or one without a
    /// password, it still spends the time of a real check and answers `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let dummy = self.dummy_hash.clone();
        self.run(move || {
            let (hash, real) = checked_against(hash, || {
                dummy
                    .get_or_init(|| hash_blocking("not a real password").unwrap_or_default())
                    .clone()
            });
            let Ok(parsed) = PasswordHash::new(&hash) else {
                tracing::error!("a stored password hash could not be parsed");
                return false;
            };
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
                && real
        })
        .await
    }
}

/// The hash a login is checked against, and whether a match counts: the account's own, or —
/// for an unknown account, or one with no password (made by single sign-on, or taken back from
/// its registrant) — the dummy's, so that every refusal costs one Argon2 check and the time of
/// the answer tells nothing of the account.
fn checked_against(hash: Option<String>, dummy: impl FnOnce() -> String) -> (String, bool) {
    match hash {
        Some(h) if PasswordHash::new(&h).is_ok() => (h, true),
        Some(h) => {
            if !h.is_empty() {
                tracing::error!("a stored password hash could not be parsed");
            }
            (dummy(), false)
        }
        None => (dummy(), false),
    }
}

/// Lowers the calling thread to nice 19. Linux keeps a nice value per thread, so this touches the
/// hashing threads only. Raising it back would need a privilege, which is why hashing has threads
/// of its own rather than borrowing the blocking pool's.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; 0 means the calling thread.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
        if rc != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not lower the priority of a password hashing thread"
            );
        }
    }
}

/// Hashes synchronously (the command line, which is not on the async executor).
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// The whole password rule: length, and not one of the commonly used passwords.
pub fn validate_new_password(field: &str, password: &str) -> Result<(), AppError> {
    validate_password_length(field, password)?;
    if common_passwords().contains(password.to_lowercase().as_str()) {
        return Err(AppError::invalid(
            field,
            "is one of the most commonly used passwords; choose a less guessable one",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_without_a_password_is_checked_against_the_dummy_hash() {
        let own = hash_blocking("amber otter 17").unwrap();
        let dummy = || "the dummy".to_string();
        assert_eq!(checked_against(Some(own.clone()), dummy), (own, true));
        for none in [None, Some(String::new()), Some("not a hash".to_string())] {
            assert_eq!(checked_against(none.clone(), dummy), ("the dummy".to_string(), false), "{none:?}");
        }
    }

    #[test]
    fn common_passwords_are_refused_ignoring_case() {
        assert!(common_passwords().len() > 10_000);
        for weak in [
            "password",
            "Password1",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            if weak.len() >= 8 {
                let e = validate_new_password("Password", weak).unwrap_err();
                assert_eq!(e.field(), Some("Password"), "{weak}");
            }
        }
        assert!(validate_new_password("Password", "short").is_err());
        assert!(validate_new_password("Password", "correct horse battery staple 42").is_ok());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_at_the_lowest_priority_off_the_async_threads() {
        let hasher = Hasher::new();
        let (name, nice) = hasher
            .run(|| {
                // SAFETY: getpriority only reads its integer arguments; 0 is the calling thread.
                let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
                (std::thread::current().name().map(str::to_owned), nice)
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("mpdp-hash-0"));
        assert_eq!(nice, 19);
        // SAFETY: as above.
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        assert_ne!(here, 19, "the caller's own priority is untouched");
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = Hasher::new();
        let hash = hasher.hash("a long passphrase 9".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher
            .verify("a long passphrase 9".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("a long passphrase 8".into(), Some(hash))
            .await
            .unwrap());
        assert!(
            !hasher
                .verify("not a real password".into(), None)
                .await
                .unwrap(),
            "no account never verifies"
        );
    }
}

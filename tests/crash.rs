//! The crash loop: the real binary takes concurrent writes over HTTP — Studio uploads signed with
//! an Upload Key, publishing applications and their decisions — and is killed with SIGKILL at a
//! random moment, round after round, then restarted on the same data directory. After every
//! kill, `mpdp check` (the file opens without manual repair; every version's bundle is there with
//! its sha256, so no record exists without its file) must pass, and after every restart every
//! write that was acknowledged with 2xx must be found. Rounds: `MPDP_CRASH_ROUNDS` (default 20);
//! the random moments — each a number of writes acknowledged after the round's load began, from 1
//! to 40 — come from `MPDP_CRASH_SEED` (printed, so a failing run can be repeated).

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::load::*;
use common::*;

/// A small xorshift generator: the moments to kill at, repeatable from the printed seed.
struct Moments(u64);

impl Moments {
    /// A number from `from` up to (not including) `to`.
    fn next(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

/// The part of `all` acknowledged after `since` (counts of uploads, applications, decisions).
fn since(all: &Ledger, since: (usize, usize, usize)) -> Ledger {
    Ledger {
        uploads: all.uploads[since.0..].to_vec(),
        applications: all.applications[since.1..].to_vec(),
        decisions: all.decisions[since.2..].to_vec(),
        refusals: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_no_acknowledged_write() {
    let rounds: usize = std::env::var("MPDP_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("MPDP_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("crash loop: {rounds} rounds, MPDP_CRASH_SEED={seed}");
    let mut moments = Moments(seed);
    let dir = DataDir::new();
    let (first, _op) = server_with_operator_in(&dir, &[]).await;
    let team = Arc::new(team(&first, 4).await);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut server = Some(first);
    let (mut orphans, mut temp_files) = (0usize, 0usize);
    // Each round looks for what was acknowledged since the last look; the end looks for all.
    let mut verified = (0, 0, 0);
    for round in 1..=rounds {
        let s = match server.take() {
            Some(s) => s,
            None => Server::start_in(&dir, &[]),
        };
        let mut nexts = Vec::new();
        for mp in &team.mps {
            nexts.push(resume(&team, &s.base, mp, &ledger).await);
        }
        // The moment: once this many more writes have been acknowledged since the chains began.
        let moment = moments.next(1, 41) as usize;
        let began = ledger.lock().unwrap().acknowledged();
        let mut chains = Vec::new();
        for (mp, next) in team.mps.iter().zip(nexts) {
            chains.push(tokio::spawn(chain(team.clone(), s.base.clone(), mp.clone(), next, u64::MAX, ledger.clone())));
        }
        acknowledged_at_least(&ledger, began + moment).await;
        tokio::task::spawn_blocking(move || s.kill9()).await.unwrap();
        let mut unanswered = 0;
        for c in chains {
            unanswered += c.await.unwrap() as usize;
        }
        let snapshot = ledger.lock().unwrap().clone();

        // Stopped: the file opens as it is, and no version record lacks its bundle.
        let out = Command::new(bin()).arg("check").arg("--data-dir").arg(dir.path()).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "round {round}: mpdp check after kill -9 failed:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
        orphans = report.lines().filter(|l| l.starts_with("orphan bundle")).count();
        temp_files += report.lines().filter(|l| l.starts_with("unfinished upload")).count();

        // Restarted on the same directory: what was acknowledged is there.
        let s = Server::start_in(&dir, &[]);
        let left = std::fs::read_dir(dir.path().join("bundles").join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(left, 0, "round {round}: the restart leaves no unfinished upload in bundles/tmp");
        let fresh = since(&snapshot, verified);
        verified = (snapshot.uploads.len(), snapshot.applications.len(), snapshot.decisions.len());
        let lost = lost(&team, &s.base, dir.path(), &fresh).await;
        assert!(lost.is_empty(), "round {round} (killed after {moment} more writes acknowledged): acknowledged writes lost:\n{}", lost.join("\n"));
        println!(
            "round {round:>3}: killed after {moment:>2} more writes acknowledged, {unanswered} writes in flight; {} acknowledged so far, all found",
            snapshot.acknowledged()
        );
        server = Some(s);
    }
    let s = server.take().unwrap();
    let all = ledger.lock().unwrap().clone();
    let lost = lost(&team, &s.base, dir.path(), &all).await;
    let (ok, _) = s.stop();
    assert!(ok, "the server stops cleanly after the loop");
    let server_errors: Vec<_> = all.refusals.iter().filter(|(_, status, _)| *status >= 500).collect();
    println!(
        "crash loop: {rounds} rounds, {} acknowledged writes ({} uploads, {} applications, {} decisions), {} lost; {} refusals; orphan bundle files {orphans}, unfinished uploads found in bundles/tmp after the kills {temp_files} (each removed by the next start); orphan bundles are harmless and reported by mpdp check",
        all.acknowledged(),
        all.uploads.len(),
        all.applications.len(),
        all.decisions.len(),
        lost.len(),
        all.refusals.len()
    );
    assert!(lost.is_empty(), "acknowledged writes lost:\n{}", lost.join("\n"));
    assert!(server_errors.is_empty(), "answered with a server error: {server_errors:?}");
    assert!(all.uploads.len() >= rounds, "the load wrote too little to prove anything: {all:?}");
}

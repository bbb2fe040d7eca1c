//! Backup and restore with the real binary: `mpdp backup` taken through the running server while
//! it takes concurrent writes, `mpdp restore` into a new directory (and refused into a non-empty
//! one), `mpdp check` on the result, a server started on it that has every write acknowledged
//! before the backup began, with the counts the backup reported; then `mpdp compact`, and an
//! offline backup of the stopped server.

mod common;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::load::*;
use common::*;

async fn mpdp(args: Vec<std::ffi::OsString>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(bin()).args(args).output().unwrap()).await.unwrap()
}

fn args(parts: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    parts.iter().map(|p| p.as_ref().to_os_string()).collect()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The number after `label` in a line of output ("… 12 versions …" → 12 for "versions").
fn count_before(out: &str, label: &str) -> u64 {
    let words: Vec<&str> = out.split(|c: char| c.is_whitespace() || c == '(' || c == ',').filter(|w| !w.is_empty()).collect();
    let i = words.iter().position(|w| *w == label).unwrap_or_else(|| panic!("no “{label}” in {out}"));
    words[i - 1].parse().unwrap_or_else(|_| panic!("no number before “{label}” in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_whole_and_checks_clean() {
    let dir = DataDir::new();
    let (server, _op) = server_with_operator_in(&dir, &[]).await;
    let team = Arc::new(team(&server, 3).await);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    // Some history first, then a load that runs through the backup.
    for mp in &team.mps {
        chain(team.clone(), server.base.clone(), mp.clone(), 0, 2, ledger.clone()).await;
    }
    let mut load = Vec::new();
    for mp in &team.mps {
        let next = resume(&team, &server.base, mp, &ledger).await;
        load.push(tokio::spawn(chain(team.clone(), server.base.clone(), mp.clone(), next, u64::MAX, ledger.clone())));
    }
    let history = ledger.lock().unwrap().acknowledged();
    acknowledged_past(&ledger, history).await;

    // While it runs, the data file is the server's: check and compact are refused, backup is not.
    let o = mpdp(args(&[&"check", &"--data-dir", &dir.path()])).await;
    assert!(!o.status.success() && text(&o).contains("needs the server stopped"), "{}", text(&o));
    let o = mpdp(args(&[&"compact", &"--data-dir", &dir.path()])).await;
    assert!(!o.status.success() && text(&o).contains("needs the server stopped"), "{}", text(&o));

    let backups = DataDir::new();
    let archive = backups.path().join("acme.tar");
    let acknowledged_before = ledger.lock().unwrap().clone();
    let o = mpdp(args(&[&"backup", &"--data-dir", &dir.path(), &"--out", &archive])).await;
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("online, by the running server"), "{said}");
    let backed_up_versions = count_before(&said, "versions");
    acknowledged_past(&ledger, acknowledged_before.acknowledged()).await;
    let during = ledger.lock().unwrap().acknowledged() - acknowledged_before.acknowledged();
    for l in &load {
        l.abort();
    }
    assert!(during > 0, "writes went on while the backup ran");
    println!("backup under load: {said}\n{} writes acknowledged before the backup began, {during} more while and after it ran", acknowledged_before.acknowledged());

    // A second backup to the same name is refused; the archive is untouched.
    let o = mpdp(args(&[&"backup", &"--data-dir", &dir.path(), &"--out", &archive])).await;
    assert!(!o.status.success() && text(&o).contains("--out") && text(&o).contains("already exists"), "{}", text(&o));

    // Restore: never into a directory that holds something.
    let o = mpdp(args(&[&"restore", &"--from", &archive, &"--data-dir", &dir.path()])).await;
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("--data-dir") && text(&o).contains("is not empty"), "{}", text(&o));
    let restored = DataDir::new();
    let o = mpdp(args(&[&"restore", &"--from", &archive, &"--data-dir", &restored.path()])).await;
    assert!(o.status.success(), "{}", text(&o));
    let o = mpdp(args(&[&"check", &"--data-dir", &restored.path()])).await;
    let checked = text(&o);
    assert!(o.status.success() && checked.contains("OK: no problems (0 orphan bundles"), "{checked}");
    assert_eq!(count_before(&checked, "versions;"), backed_up_versions, "{checked}");

    // A server on the restored directory has everything acknowledged before the backup began,
    // and exactly as many versions as the backup reported — none half there.
    let copy = Server::start_in(&restored, &[]);
    let missing = lost(&team, &copy.base, restored.path(), &acknowledged_before).await;
    assert!(missing.is_empty(), "missing from the restored copy:\n{}", missing.join("\n"));
    let mut listed = 0;
    for mp in &team.mps {
        listed += versions(&team, &copy.base, mp).await.len() as u64;
    }
    assert_eq!(listed, backed_up_versions);
    assert!(listed >= acknowledged_before.uploads.len() as u64);
    let (ok, log) = copy.stop();
    assert!(ok, "{log}");

    // Compaction of the stopped copy keeps it whole.
    let o = mpdp(args(&[&"compact", &"--data-dir", &restored.path()])).await;
    assert!(o.status.success() && text(&o).contains("bytes before"), "{}", text(&o));
    let o = mpdp(args(&[&"check", &"--data-dir", &restored.path()])).await;
    assert!(o.status.success(), "{}", text(&o));

    // The original has everything, and a stopped server is backed up from its file.
    let all = ledger.lock().unwrap().clone();
    let lost = lost(&team, &server.base, dir.path(), &all).await;
    assert!(lost.is_empty(), "{}", lost.join("\n"));
    let (ok, log) = server.stop();
    assert!(ok, "{log}");
    let offline = backups.path().join("offline.tar");
    let o = mpdp(args(&[&"backup", &"--data-dir", &dir.path(), &"--out", &offline])).await;
    assert!(o.status.success() && text(&o).contains("offline"), "{}", text(&o));
    assert!(count_before(&text(&o), "versions") >= backed_up_versions);
}

#[tokio::test]
async fn a_damaged_data_file_is_refused_with_what_to_do() {
    let dir = DataDir::new();
    std::fs::write(dir.path().join("mpdp.redb"), b"this is not a database, whatever its name says").unwrap();
    let o = mpdp(args(&[&"check", &"--data-dir", &dir.path()])).await;
    assert!(!o.status.success());
    assert!(text(&o).contains("mpdp restore") && text(&o).contains("mpdp check"), "{}", text(&o));
    let o = mpdp(args(&[&"serve", &"--listen", &"127.0.0.1:0", &"--data-dir", &dir.path()])).await;
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot be opened") && text(&o).contains("mpdp restore"), "{}", text(&o));
    let o = mpdp(args(&[&"restore", &"--from", &dir.path().join("mpdp.redb"), &"--data-dir", &dir.path().join("new")])).await;
    assert!(!o.status.success() && text(&o).contains("--from") && text(&o).contains("not an mpdp backup"), "{}", text(&o));
    assert!(!dir.path().join("new").join("mpdp.redb").exists());
}

//! `mpdp studio …`: the developer's client of the Studio API (`/api/studio/v1`).
//!
//! `upload` checks everything it can locally first (the flags, then the bundle directory), packs
//! the directory into a deterministic `.tar.gz` (the same files always give the same bytes, so the
//! same SHA-256), signs what it sends with the Upload Key and streams the archive to the server.
//! `versions` lists what has been uploaded. The key never leaves this machine: only signatures do.
//! `verify` checks, as a container does, a manifest from the container API and its bundle: the
//! platform's signature, the uploader's signature, and the bundle's sha256 and size.

mod bundle;
mod client;
mod credentials;
#[cfg(test)]
mod fixtures;
mod flags;
mod login;
mod verify;
mod wire;

use client::{platform_key, publish, upload, versions};
use verify::verify;

pub use flags::StudioCommand;

/// Runs a Studio command.
pub async fn run(command: StudioCommand) -> anyhow::Result<()> {
    match command {
        StudioCommand::Upload(args) => upload(args).await,
        StudioCommand::Versions(args) => versions(args).await,
        StudioCommand::Verify(args) => {
            print!("{}", verify(&args)?);
            Ok(())
        }
        StudioCommand::Login(args) => login::login(args).await,
        StudioCommand::Publish(args) => publish(args).await,
        StudioCommand::PlatformKey(args) => platform_key(args).await,
    }
}

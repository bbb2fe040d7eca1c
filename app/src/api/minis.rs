//! Mini programs: create, list, one with its versions, and who works on it.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::minis::{Assignables, MiniProgramView, VersionView};
use crate::model::page::Page;
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::model::minis::MiniRole;
#[cfg(feature = "ssr")]
use crate::server::{
    guard::{act, Member},
    domain::{minis as domain, workspaces::actor},
    state::AppState, Context,
};

/// The mini programs the person may see (a Workspace Developer: those assigned to them).
#[server(prefix = "/api", endpoint = "list-mini-programs")]
pub async fn list_mini_programs(workspace: String) -> Result<Vec<MiniProgramView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    domain::list(&Context::current()?, &m).await
}

/// One mini program, with its members.
#[server(prefix = "/api", endpoint = "get-mini-program")]
pub async fn get_mini_program(workspace: String, id: Uuid) -> Result<MiniProgramView, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    domain::get(&Context::current()?, &m, id).await
}

/// A page of a mini program's versions.
#[server(prefix = "/api", endpoint = "list-versions")]
pub async fn list_versions(
    workspace: String,
    id: Uuid,
    #[server(flatten)] at: Position,
) -> Result<Page<VersionView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    domain::versions(&Context::current()?, &m, id, at).await
}

/// Retires a version that was uploaded and never released (Workspace Admins): it leaves the
/// version lists, and a lower version can be uploaded after it.
#[server(prefix = "/api", endpoint = "retire-version")]
pub async fn retire_version(
    workspace: String,
    id: Uuid,
    version: String,
    /// The page to return to after a plain form post from the confirmation page.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = super::acting(&workspace, act::RetireVersions).await?;
    domain::retire_version(&state, &admin, id, version, actor).await?;
    super::return_to(back)
}

/// A mini program's icon, as a `data:` URL for an `<img>`.
#[server(prefix = "/api", endpoint = "mini-program-icon")]
pub async fn mini_program_icon(workspace: String, id: Uuid) -> Result<String, AppError> {
    use base64::Engine;
    let m = Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    let bytes = domain::icon(&Context::current()?, &m, id).await?;
    let kind = match imagesize::image_type(&bytes) {
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        _ => "image/webp",
    };
    Ok(format!("data:{kind};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// Creates a mini program (name, description, category, and an icon as base64, read from the
/// chosen file in the browser); its creator becomes its admin.
#[server(prefix = "/api", endpoint = "create-mini-program")]
pub async fn create_mini_program(
    workspace: String,
    name: String,
    #[server(default)] description: String,
    category: String,
    #[server(default)] icon: String,
) -> Result<Uuid, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::CreateMiniPrograms)?;
    let state = AppState::current()?;
    let icon = icon_bytes(&icon)?;
    let actor = actor(&m.who(), super::client_addr_of_request().await);
    let form = domain::MiniForm { name, description, category };
    let id = domain::create(&state, &m, form, icon, actor).await?;
    leptos_axum::redirect(&format!("/w/{}/mini-programs/{id}", m.workspace().name));
    Ok(id)
}

/// Reads an icon sent as base64 (a `data:` URL or bare), "" for none.
#[cfg(feature = "ssr")]
fn icon_bytes(icon: &str) -> Result<Option<Vec<u8>>, AppError> {
    use base64::Engine;
    match icon.trim() {
        "" => Ok(None),
        text => {
            let data = text.split_once(";base64,").map_or(text, |(_, d)| d);
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .map(Some)
                .map_err(|_| AppError::invalid("Icon", "could not be read: choose the image file again"))
        }
    }
}

/// Changes a mini program's name, description, category and (when a file is chosen) icon.
#[server(prefix = "/api", endpoint = "edit-mini-program")]
pub async fn edit_mini_program(
    workspace: String,
    id: Uuid,
    name: String,
    #[server(default)] description: String,
    category: String,
    #[server(default)] icon: String,
) -> Result<(), AppError> {
    let m = Member::require(&workspace).await?.authorize(act::AssignMiniPrograms)?;
    let icon = icon_bytes(&icon)?;
    let actor = actor(&m.who(), super::client_addr_of_request().await);
    let form = domain::MiniForm { name, description, category };
    domain::edit(&Context::current()?, &m, id, form, icon, actor).await
}

/// The workspace's active members to assign to a mini program: those whose username or email
/// contains `q`, at most [`ASSIGNABLE_SHOWN`](crate::model::minis::ASSIGNABLE_SHOWN).
#[server(prefix = "/api", endpoint = "assignable-members")]
pub async fn assignable_members(workspace: String, #[server(default)] q: String) -> Result<Assignables, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::AssignMiniPrograms)?;
    domain::assignable(&Context::current()?, &m, q).await
}

/// Assigns a member to a mini program as admin or developer.
#[server(prefix = "/api", endpoint = "assign-mini-program")]
pub async fn assign_mini_program(workspace: String, id: Uuid, account: Uuid, role: String) -> Result<(), AppError> {
    let m = Member::require(&workspace).await?.authorize(act::AssignMiniPrograms)?;
    let role = MiniRole::parse(&role)?;
    let actor = actor(&m.who(), super::client_addr_of_request().await);
    domain::assign(&Context::current()?, &m, id, account, role, actor).await
}

/// Takes a member off a mini program.
#[server(prefix = "/api", endpoint = "unassign-mini-program")]
pub async fn unassign_mini_program(
    workspace: String,
    id: Uuid,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, m, actor) = super::acting(&workspace, act::AssignMiniPrograms).await?;
    domain::unassign(&state, &m, id, account, actor).await?;
    super::return_to(back)
}

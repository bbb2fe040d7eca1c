//! A mini program's release panel: where it is released, its activated features, its pending
//! applications, and — for its admins — applying for publishing review, removal or a feature.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::approvals::{mini_program_approvals, ApplyFeature, ApplyPublishing, ApplyRemoval};
use crate::model::approvals::{MiniApprovals, FEATURES, REASON_MAX};
use crate::model::AppError;
use crate::ui::kit::dialog::FormDialog;
use crate::ui::kit::{action_error, all_successes, successes, CheckGroup, ErrorPanel, Field, Loading, Panel, ServerForm};

use super::rollout::{AppRelease, Controls};

/// A mini program's release data, and the applications that change it. The page makes it in its
/// body: the panel is rendered inside the page's Suspense, which the server may run twice (once
/// to find the resources it reads), so a resource made in the panel would get other ids on the
/// server than in the browser, and the browser would hydrate with another resource's data.
#[derive(Clone, Copy)]
pub struct Release {
    publish: ServerAction<ApplyPublishing>,
    removal: ServerAction<ApplyRemoval>,
    feature: ServerAction<ApplyFeature>,
    controls: Controls,
    data: Resource<Result<MiniApprovals, AppError>>,
}

impl Release {
    /// For the mini program `id` (`None`: no such mini program) of `workspace`.
    pub fn new(workspace: Memo<String>, id: Memo<Option<Uuid>>) -> Self {
        let publish = ServerAction::<ApplyPublishing>::new();
        let removal = ServerAction::<ApplyRemoval>::new();
        let feature = ServerAction::<ApplyFeature>::new();
        let controls = Controls::new();
        let [raised, paused, resumed, completed, aborted, rolled_back, ruled] = controls.successes();
        let changes = all_successes([successes(publish), successes(removal), successes(feature), raised, paused, resumed, completed, aborted, rolled_back, ruled]);
        let data = Resource::new(
            move || (workspace.get(), id.get(), changes()),
            |(ws, id, _)| async move {
                match id {
                    Some(id) => mini_program_approvals(ws, id).await,
                    None => Err(crate::model::Missing::MiniProgram.into()),
                }
            },
        );
        Release { publish, removal, feature, controls, data }
    }
}

#[component]
pub fn ReleasePanel(
    release: Release,
    workspace: String,
    id: Uuid,
    /// Whether the person may apply (the mini program's admin, or a Workspace Admin).
    manage: bool,
) -> impl IntoView {
    let Release { publish, removal, feature, controls, data } = release;
    let (publish_error, removal_error, feature_error) = (action_error(publish), action_error(removal), action_error(feature));
    view! {
        <Panel id="mp-release" title="Release">
            <Suspense fallback=Loading>
                {move || {
                    let workspace = workspace.clone();
                    Suspend::new(async move {
                        let r = match data.await {
                            Ok(r) => r,
                            Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                        };
                        let id_text = id.to_string();
                        let publish_form = r.publishable.clone().filter(|_| manage).map(|version| {
                            let (ws, id_text) = (workspace.clone(), id_text.clone());
                            let apps = r.apps.clone();
                            view! {
                                <FormDialog title="Apply for publishing review" param="publish">
                                    <ServerForm action=publish fields=vec![("workspace", ws), ("id", id_text)] error=publish_error>
                                        <div class="field">
                                            <label for="publish-version">"Version"</label>
                                            <input id="publish-version" name="version" value=version readonly aria-describedby="publish-version-hint" />
                                            <p class="hint" id="publish-version-hint">"The newest version, as uploaded. It is In review until the application is decided."</p>
                                        </div>
                                        <CheckGroup
                                            label="Apps"
                                            name="apps"
                                            options=apps.into_iter().map(|(app, label)| (app.to_string(), label, false)).collect()
                                            empty="This workspace has no Apps yet: a Workspace Admin adds them in App Manage."
                                            error=publish_error
                                        />
                                        <Field label="Rollout" name="rollout" hint="The percentage of each App's installs that get it once approved, such as 10 or 12.5 (empty: 100 %). Below 100 % it rolls out as a candidate beside the stable version, and its managers raise, pause, complete or abort it without a new review." error=publish_error />
                                        <Field label="Note" name="note" kind="textarea" maxlength=REASON_MAX hint="What changed, for the reviewer (optional)." error=publish_error />
                                        <button type="submit" class="button button-primary">"Apply for publishing review"</button>
                                    </ServerForm>
                                </FormDialog>
                            }
                        });
                        let removal_form = (manage && r.removable).then(|| {
                            let (ws, id_text) = (workspace.clone(), id_text.clone());
                            view! {
                                <FormDialog title="Apply for removal" param="removal">
                                    <ServerForm action=removal fields=vec![("workspace", ws), ("id", id_text)] error=removal_error>
                                        <p>"Once approved, the mini program is taken off every App at once and can't be published again."</p>
                                        <Field label="Reason" name="reason" kind="textarea" required=true maxlength=REASON_MAX error=removal_error />
                                        <button type="submit" class="button button-danger">"Apply for removal"</button>
                                    </ServerForm>
                                </FormDialog>
                            }
                        });
                        let feature_form = (manage && !r.requestable.is_empty()).then(|| {
                            let (ws, id_text) = (workspace.clone(), id_text.clone());
                            let options = r.requestable.clone();
                            view! {
                                <FormDialog title="Apply for feature activation" param="feature">
                                    <ServerForm action=feature fields=vec![("workspace", ws), ("id", id_text)] error=feature_error>
                                        <Field label="Feature" name="feature" kind="select" required=true options hint="One capability per application; once approved it is in the mini program's manifest." error=feature_error />
                                        <Field label="Note" name="note" kind="textarea" maxlength=REASON_MAX hint="Why the mini program needs it (optional)." error=feature_error />
                                        <button type="submit" class="button button-primary">"Apply for feature activation"</button>
                                    </ServerForm>
                                </FormDialog>
                            }
                        });
                        view! {
                            <div class="actions-row">{publish_form}{feature_form}{removal_form}</div>
                            {(manage && r.publishable.is_none()).then(|| view! {
                                <p class="hint">"To apply for publishing review, upload a new version: only the newest version, while Uploaded, can be sent."</p>
                            })}
                            {if r.releases.is_empty() {
                                view! { <p>"Not released to any App."</p> }.into_any()
                            } else {
                                r.releases.iter().cloned().enumerate().map(|(n, release)| {
                                    view! { <AppRelease controls workspace=workspace.clone() id n release manage /> }
                                }).collect_view().into_any()
                            }}
                            <dl class="facts">
                                <dt>"Activated features"</dt>
                                <dd>
                                    {if r.features.is_empty() {
                                        "None".to_string()
                                    } else {
                                        r.features.iter().map(|(_, label)| label.clone()).collect::<Vec<_>>().join(", ")
                                    }}
                                </dd>
                                <dt>"Pending applications"</dt>
                                <dd>
                                    {plain_list_or(
                                        "None",
                                        r.pending.iter().map(|(app, title)| {
                                            let href = format!("/w/{}/approvals/{app}", crate::model::url_encode(&workspace));
                                            view! { <li><a href=href>{title.clone()}</a></li> }.into_any()
                                        }).collect(),
                                    )}
                                </dd>
                            </dl>
                            <h3 class="hint">"Features that can be activated"</h3>
                            <ul class="plain hint">
                                {FEATURES.iter().map(|f| view! { <li><strong>{f.label}</strong>{format!(" ({}) — {}", f.code, f.description)}</li> }).collect_view()}
                            </ul>
                        }.into_any()
                    })
                }}
            </Suspense>
        </Panel>
    }
}

/// The items (`<li>`s) as a plain list, or the words `none` when there are none.
fn plain_list_or(none: &'static str, items: Vec<AnyView>) -> AnyView {
    if items.is_empty() {
        none.into_any()
    } else {
        view! { <ul class="plain">{items}</ul> }.into_any()
    }
}

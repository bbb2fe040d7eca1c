//! Toasts: short messages about what just worked, in one place at the corner of the screen,
//! announced politely (`role="status"`); they fade after a while or are dismissed. Failures are
//! not toasts: they are alerts next to the form or at the top of the page (`FormError`), where
//! they stay. A page's notice from its URL (after a redirect, with or without JavaScript) is a
//! toast too.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::model::AppError;

/// How long a success stays on screen.
const SUCCESS_MS: u64 = 6_000;

#[derive(Clone, Debug, PartialEq)]
struct Toast {
    id: u64,
    text: String,
}

/// The console's toasts, provided once by the app.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn provide() -> Toasts {
        let t = Toasts {
            list: RwSignal::new(Vec::new()),
            next: StoredValue::new(0),
        };
        provide_context(t);
        t
    }

    /// Says that something worked.
    pub fn success(self, text: impl Into<String>) {
        let text = text.into();
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            // The same message twice in a row is shown once.
            l.retain(|t| t.text != text);
            l.push(Toast { id, text });
        });
        set_timeout(
            move || self.dismiss(id),
            std::time::Duration::from_millis(SUCCESS_MS),
        );
    }

    fn dismiss(self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// Toasts each success of `action`, in the words `ok` gives it.
pub fn toast_action<S>(action: ServerAction<S>, ok: impl Fn(&S::Output) -> String + Send + Sync + 'static)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let toasts = use_toasts();
    Effect::watch(
        move || action.version().get(),
        move |_, _, _| {
            if let Some(Ok(out)) = action.value().get_untracked() {
                toasts.success(ok(&out));
            }
        },
        false,
    );
}

fn toast_view(t: Toast, toasts: Toasts) -> impl IntoView {
    let id = t.id;
    view! {
        <div class="toast toast-success">
            <p>{t.text}</p>
            <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| toasts.dismiss(id)>"×"</button>
        </div>
    }
}

/// Where toasts appear: once, in the app's layout.
#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            {move || toasts.list.get().into_iter().map(|t| toast_view(t, toasts)).collect_view()}
        </div>
    }
}

/// A success message that the page itself carries (from its URL after a redirect): shown as a
/// toast, rendered by the server so it works without JavaScript; dismissible.
#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    let dismissed = RwSignal::new(false);
    view! {
        <div class="notice-slot" role="status">
            {move || {
                message.get().filter(|_| !dismissed.get()).map(|m| {
                    view! {
                        <div class="toast toast-success toast-notice">
                            <p>{m}</p>
                            <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| dismissed.set(true)>"×"</button>
                        </div>
                    }
                })
            }}
        </div>
    }
}

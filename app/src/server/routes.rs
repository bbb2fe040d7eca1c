//! Routes declared once: a [`Routes`] adds each route to the axum router and to the list of what
//! this build serves ("METHOD path"), which `mpdp routes` prints and the authorization tests hold
//! against their table. A route cannot be served without being listed, nor listed without being
//! served.

use axum::handler::Handler;
use axum::routing::{get, post};
use axum::Router;

/// An axum router that remembers its endpoints.
pub struct Routes<S> {
    router: Router<S>,
    endpoints: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes { router: Router::new(), endpoints: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Serves GET `path` with `handler`.
    pub fn get<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, get(handler));
        self.endpoints.push(format!("GET {path}"));
        self
    }

    /// Serves POST `path` with `handler`.
    pub fn post<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, post(handler));
        self.endpoints.push(format!("POST {path}"));
        self
    }

    /// What these routes serve: "METHOD path", in the order declared.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The axum router, to add layers and state to.
    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_added_is_listed_and_one_path_takes_two_methods() {
        async fn ok() -> &'static str {
            "ok"
        }
        let routes: Routes<()> = Routes::default().get("/a", ok).post("/a", ok).get("/b/{id}", ok);
        assert_eq!(routes.endpoints(), ["GET /a", "POST /a", "GET /b/{id}"]);
        let _router: Router = routes.into_router();
    }
}

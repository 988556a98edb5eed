//! `RouteTable`: a surface's routes registered together with a list of what
//! was registered. The invariant: a table's `routes()` are exactly the
//! (method, path) pairs its router serves, because the only way to add a
//! route to the router is through the method that records it. The
//! authorization matrix test enumerates these lists, so a route added without
//! a matrix row fails that test.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::state::AppState;

/// One surface of the application (`/account`, `/orgs`, `/v1`, …).
pub struct RouteTable {
    name: &'static str,
    prefix: &'static str,
    router: Router<AppState>,
    routes: Vec<(&'static str, String)>,
}

impl RouteTable {
    /// A surface whose paths are written in full.
    pub fn new(name: &'static str) -> Self {
        Self::nested(name, "")
    }

    /// A surface served under `prefix` (its paths are written relative to
    /// it, and listed in full).
    pub fn nested(name: &'static str, prefix: &'static str) -> Self {
        Self {
            name,
            prefix,
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// What the surface is called in test messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where the surface is nested (`""` when it is not).
    pub fn prefix(&self) -> &'static str {
        self.prefix
    }

    /// `(method, full path)` of every route, in registration order.
    pub fn routes(&self) -> &[(&'static str, String)] {
        &self.routes
    }

    /// The router, relative to `prefix()`.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<AppState>,
    ) -> Self {
        // axum merges method routers registered on the same path, so a
        // GET and a POST on one path are two calls and two table rows.
        self.router = self.router.route(path, route);
        self.routes.push((method, format!("{}{path}", self.prefix)));
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("GET", path, get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("POST", path, post(handler))
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("PUT", path, put(handler))
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add("PATCH", path, patch(handler))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add("DELETE", path, delete(handler))
    }
}

//! Test helpers: a fresh app per test on each engine, a pinned clock, and a
//! client that keeps cookies and the CSRF token like a browser would.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use gatehouse::clock::FixedClock;
use gatehouse::config::Config;
use gatehouse::db::Db;
use gatehouse::{AppState, build_router};
use http_body_util::BodyExt;
use tower::ServiceExt;
use uuid::Uuid;

/// 2026-11-25 12:00:00 UTC.
pub const START: i64 = 1_795_608_000;
pub const PASSWORD: &str = "Correct-Horse-Battery-42!";
pub const NEW_PASSWORD: &str = "Another-Strong-Passphrase-77";
/// The secret key of every test app (so that no test writes a key file).
pub const TEST_SECRET_KEY: &str = "dGVzdCBrZXkgZm9yIGdhdGVob3VzZSB0ZXN0cyAzMiE=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub engine: Engine,
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    cleanup: Option<Cleanup>,
    /// Pools of `separate_instance`s, closed by `finish`.
    extra_dbs: Vec<Db>,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PostgresDb { admin_url: String, name: String },
}

fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (prefix, _) = base.rsplit_once('/').unwrap_or((base, ""));
    format!("{prefix}/{name}")
}

/// Creates a fresh database for one test and returns its URL.
async fn fresh_database(engine: Engine) -> (String, Cleanup) {
    match engine {
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join("gatehouse-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{}.db", Uuid::new_v4().simple()));
            (
                format!("sqlite://{}", path.display()),
                Cleanup::SqliteFile(path),
            )
        }
        Engine::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
            let name = format!("gh_test_{}", Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            (
                with_database(&admin_url, &name),
                Cleanup::PostgresDb { admin_url, name },
            )
        }
    }
}

impl TestApp {
    pub async fn new(engine: Engine) -> Self {
        Self::with_config(engine, |_| {}).await
    }

    pub async fn with_config(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Self {
        let (url, cleanup) = fresh_database(engine).await;
        let mut config = Config::default();
        config.database.database_url = url.clone();
        config.public_url = Some("http://localhost:8080".into());
        config.hash_concurrency = Some(2);
        config.keys.secret_key = Some(TEST_SECRET_KEY.to_owned().into());
        tweak(&mut config);
        let db = Db::connect(&url, 4).await.unwrap();
        db.migrate().await.unwrap();
        let clock = Arc::new(FixedClock::at(START));
        let state = AppState::new(config, db, clock.clone()).await.unwrap();
        TestApp {
            engine,
            router: build_router(state.clone()),
            state,
            clock,
            cleanup: Some(cleanup),
            extra_dbs: Vec::new(),
        }
    }

    /// A second router over this app's state (the same database *and* the
    /// same in-memory state, e.g. quota leases): for stories about what the
    /// database shares, not about what an instance keeps to itself.
    pub fn another_instance(&self) -> Router {
        build_router(self.state.clone())
    }

    /// A truly separate instance: its own connection pool and its own
    /// `AppState` (nothing in memory shared) over this app's database, as a
    /// second process behind a load balancer would be.
    pub async fn separate_instance(&mut self) -> Router {
        let config = (*self.state.config).clone();
        let db = Db::connect(&config.database.database_url, 4).await.unwrap();
        let state = AppState::new(config, db.clone(), self.clock.clone())
            .await
            .unwrap();
        self.extra_dbs.push(db);
        build_router(state)
    }

    pub fn client(&self) -> Client {
        let mut c = Client::new(self.router.clone());
        c.db = Some(self.state.db.clone());
        c
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub async fn finish(mut self) {
        for db in self.extra_dbs.drain(..) {
            db.close().await;
        }
        self.state.db.close().await;
        match self.cleanup.take() {
            Some(Cleanup::SqliteFile(path)) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Some(Cleanup::PostgresDb { admin_url, name }) => {
                if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await;
                    admin.close().await;
                }
            }
            None => {}
        }
    }

    /// Counts rows of a table (test inspection only).
    pub async fn count(&self, sql: &'static str) -> i64 {
        match self.db() {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }

    /// From now on every `statement` on `table` (`"INSERT"`, `"DELETE"`, …)
    /// fails with `message`, as a full disk, a lost connection or a crash
    /// would: a trigger named `name`, removed by `stop_failing`.
    pub async fn start_failing(&self, name: &str, statement: &str, table: &str, message: &str) {
        let sql = match self.db() {
            Db::Sqlite(_) => vec![format!(
                "CREATE TRIGGER {name} BEFORE {statement} ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )],
            Db::Postgres(_) => vec![
                format!(
                    "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
                ),
                format!(
                    "CREATE TRIGGER {name} BEFORE {statement} ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION {name}()"
                ),
            ],
        };
        for sql in &sql {
            self.execute(sql).await;
        }
    }

    /// Removes the trigger `start_failing` put on `table`.
    pub async fn stop_failing(&self, name: &str, table: &str) {
        let sql = match self.db() {
            Db::Sqlite(_) => format!("DROP TRIGGER {name}"),
            Db::Postgres(_) => format!("DROP TRIGGER {name} ON {table}"),
        };
        self.execute(&sql).await;
    }

    async fn execute(&self, sql: &str) {
        match self.db() {
            Db::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(p)
                .await
                .map(drop)
                .unwrap(),
            Db::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(p)
                .await
                .map(drop)
                .unwrap(),
        }
    }
}

/// The engines this run covers: SQLite always, PostgreSQL with
/// `TEST_DATABASE_URL`.
pub fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        v.push(Engine::Postgres);
    }
    v
}

/// Runs the same story on every engine, each on a fresh database.
pub async fn each_engine<F, Fut>(story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
{
    each_engine_with(|_| {}, story).await;
}

pub async fn each_engine_with<F, Fut>(tweak: impl Fn(&mut Config), story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
{
    for engine in engines() {
        let app = TestApp::with_config(engine, &tweak).await;
        story(app).await.finish().await;
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "body: {}", self.body);
        assert_eq!(self.location(), Some(to));
    }

    /// Asserts the status, showing the body when it differs.
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }
}

/// Extracts the value of the `csrf_token` hidden field of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A browser-like client: keeps cookies, remembers the CSRF token of the last
/// page, and comes from a fixed IP address.
pub struct Client {
    router: Router,
    /// The app's database, for helpers that read what a person would find
    /// in their mailbox.
    pub db: Option<Db>,
    pub cookies: HashMap<String, String>,
    pub csrf: Option<String>,
    pub ip: String,
    pub user_agent: String,
}

impl Client {
    pub fn new(router: Router) -> Self {
        Self {
            router,
            db: None,
            cookies: HashMap::new(),
            csrf: None,
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Gatehouse-Test".into(),
        }
    }

    /// The same browser talking to another instance.
    pub fn switch_instance(&mut self, router: Router) {
        self.router = router;
    }

    pub fn session_cookie(&self) -> Option<&String> {
        self.cookies.get("gatehouse_session")
    }

    pub async fn send(&mut self, req: Request<Body>) -> TestResponse {
        let mut req = req;
        let ip: std::net::IpAddr = self.ip.parse().unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        req.headers_mut()
            .insert(header::USER_AGENT, self.user_agent.parse().unwrap());
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        for raw in headers.get_all(header::SET_COOKIE) {
            let raw = raw.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = value.is_empty() || raw.to_ascii_lowercase().contains("max-age=0");
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// Posts a form with the CSRF token of the last page seen.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, &[]).await
    }

    /// Opens `form_page` as a user would, asserts it rendered, and posts
    /// `fields` to `action` with the CSRF token from that page: one line per
    /// form a test fills in, instead of a bare GET kept only for its token.
    pub async fn submit(
        &mut self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let page = self.get(form_page).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "GET {form_page} before posting {action}: {}",
            page.body
        );
        let token = csrf_in(&page.body)
            .unwrap_or_else(|| panic!("{form_page} has no CSRF token to post {action} with"));
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all, &[]).await
    }

    /// Posts exactly these fields and headers (no token added).
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn signup(&mut self, email: &str, name: &str, password: &str) -> TestResponse {
        self.submit(
            "/signup",
            "/signup",
            &[
                ("email", email),
                ("display_name", name),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> TestResponse {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn logout(&mut self) -> TestResponse {
        self.submit("/account", "/logout", &[]).await
    }
}

/// Signs up a new user and signs that client out again; returns the email.
pub async fn registered(app: &TestApp, email: &str, name: &str) -> String {
    let mut c = app.client();
    let res = c.signup(email, name, PASSWORD).await;
    res.assert_redirect("/account");
    email.to_owned()
}

/// A client signed in as a freshly registered user.
pub async fn signed_in(app: &TestApp, email: &str, name: &str) -> Client {
    let mut c = app.client();
    c.signup(email, name, PASSWORD)
        .await
        .assert_redirect("/account");
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
    c
}

/// Calls the JSON API with a bearer key and no cookies.
pub async fn api(
    router: &Router,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    json: Option<&str>,
) -> TestResponse {
    let mut c = Client::new(router.clone());
    let mut req = Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    // Every master-key request says why (`admin_without_reason` tests the
    // refusal when it does not).
    if path.starts_with("/v1/admin") {
        req = req.header("x-gatehouse-reason", ADMIN_REASON);
    }
    let body = match json {
        Some(j) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_owned())
        }
        None => Body::empty(),
    };
    c.send(req.body(body).unwrap()).await
}

/// The reason `api` sends with every `/v1/admin` request.
pub const ADMIN_REASON: &str = "ticket OPS-1: integration test";

/// A `/v1/admin` request with the given reason header (or none).
pub async fn admin_with_reason(
    router: &Router,
    method: Method,
    path: &str,
    bearer: &str,
    reason: Option<&str>,
) -> TestResponse {
    let mut c = Client::new(router.clone());
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    if let Some(reason) = reason {
        req = req.header("x-gatehouse-reason", reason);
    }
    c.send(req.body(Body::empty()).unwrap()).await
}

/// The JSON body of a response.
pub fn json_of(res: &TestResponse) -> serde_json::Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", res.body))
}

//! Email delivery through the durable outbox, against a real SMTP server on
//! loopback (a small one in this binary, `SmtpSink`, that speaks enough SMTP
//! for lettre and keeps what it receives) — never a mock transport. The
//! message is committed with the change, a fresh worker sends what an
//! earlier process left, two workers never send the same message, a failure
//! is retried with backoff and then given up (visible on `/ops/outbox`), and
//! without SMTP each message is an `.eml` file.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use base64::Engine as _;
use gatehouse::clock::Clock;
use gatehouse::config::{Config, SmtpTls};
use gatehouse::db::Db;
use gatehouse::jobs::outbox::{LEASE_SECS, MAX_ATTEMPTS, Pass, Worker, backoff};
use gatehouse::mail::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::*;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA, dot-unstuffed, CRLF line endings.
    pub data: String,
}

impl Received {
    /// The value of a top-level header (unfolded), by name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The decoded body of the part with this content type
    /// (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let marker = format!("Content-Type: {content_type}");
        let start = self.data.find(&marker)?;
        let rest = &self.data[start..];
        let (headers, body) = rest.split_once("\r\n\r\n")?;
        let body = body.split("\r\n--").next()?;
        let encoding = headers
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        Some(match encoding.as_str() {
            "base64" => {
                let joined: String = body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(joined)
                        .unwrap(),
                )
                .unwrap()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.to_owned(),
        })
    }

    /// Both parts, checked to be there.
    pub fn text_and_html(&self) -> (String, String) {
        let text = self.part("text/plain").expect("a plain-text part");
        let html = self.part("text/html").expect("an HTML part");
        (text, html)
    }
}

fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The first `{prefix}…` path in `text` (a link's path, without the host).
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    let full = format!("http://localhost:8080{prefix}");
    let start = text.find(&full)? + "http://localhost:8080".len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// An SMTP server on 127.0.0.1 that accepts every message (or, `failing`,
/// refuses every sender with a temporary error) and keeps what it got.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    pub async fn failing() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(failing: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = converse(socket, store, failing).await;
                });
            }
        });
        Self {
            port,
            received,
            task: Arc::new(task),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The messages received for one recipient.
    pub fn to(&self, email: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == email))
            .collect()
    }

    /// Points a configuration at this server (plain SMTP on loopback).
    pub fn configure(&self, c: &mut Config) {
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = Some(self.port);
        c.mail.smtp_tls = SmtpTls::None;
        c.mail.mail_from = "Gatehouse <no-reply@gatehouse.test>".into();
    }
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_owned()
}

async fn converse(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    failing: bool,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut from = String::new();
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            if failing {
                write.write_all(b"451 4.3.0 Try again later\r\n").await?;
                continue;
            }
            from = address(&cmd[10..]);
            rcpt.clear();
            write.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(address(&cmd[8..]));
            write.write_all(b"250 2.1.5 OK\r\n").await?;
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            store.lock().unwrap().push(Received {
                mail_from: from.clone(),
                rcpt_to: rcpt.clone(),
                data,
            });
            write.write_all(b"250 2.0.0 Queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else lettre's pool may send.
            write.write_all(b"250 2.0.0 OK\r\n").await?;
        }
    }
}

/// A worker of its own (a fresh mailer from the app's configuration), as a
/// process started after a crash would have.
pub fn fresh_worker(app: &TestApp) -> Worker {
    Worker::new(Mailer::from_config(&app.state.config).unwrap())
}

/// One pass of a fresh worker at the app's clock.
pub async fn deliver(app: &TestApp) -> Pass {
    fresh_worker(app)
        .send_due(app.db(), app.clock.unix())
        .await
        .unwrap()
}

/// Runs `story` on every engine with the app's mail going to a new sink.
pub async fn each_engine_with_sink<F, Fut>(story: F)
where
    F: Fn(TestApp, SmtpSink) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for engine in engines() {
        let sink = SmtpSink::start().await;
        let app = TestApp::with_config(engine, |c| sink.configure(c)).await;
        story(app, sink).await.finish().await;
    }
}

/// One text column of the outbox (test inspection only).
pub async fn outbox_column(app: &TestApp, sql: &'static str, id: uuid::Uuid) -> String {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(id).fetch_one(p).await,
    }
    .unwrap()
}

/// The ids of queued messages, oldest first.
pub async fn outbox_ids(app: &TestApp) -> Vec<uuid::Uuid> {
    let sql = "SELECT id FROM outbox ORDER BY created_at, id";
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap()
}

/// A registered user whose sign-up mail (the verification link) has been
/// taken out of the outbox, so that a story is about the messages it makes.
pub async fn quiet_user(app: &TestApp, email: &str) {
    registered(app, email, "Someone").await;
    let sql = "DELETE FROM outbox WHERE recipient = $1";
    match app.db() {
        Db::Sqlite(p) => sqlx::query(sql).bind(email).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(sql).bind(email).execute(p).await.map(drop),
    }
    .unwrap();
}

/// Asks for a password reset of `email` from a new anonymous browser.
pub async fn ask_reset(app: &TestApp, email: &str) -> TestResponse {
    let mut c = app.client();
    c.submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await
}

#[tokio::test]
async fn a_message_arrives_over_smtp_with_both_parts_its_id_and_no_unsubscribe_when_it_is_security()
{
    each_engine_with_sink(|app, sink| async move {
        quiet_user(&app, "bob@example.com").await;
        ask_reset(&app, "bob@example.com")
            .await
            .assert_redirect("/password/forgot");
        let id = *outbox_ids(&app).await.last().unwrap();
        assert_eq!(
            outbox_column(&app, "SELECT status FROM outbox WHERE id = $1", id).await,
            "pending"
        );
        assert_eq!(deliver(&app).await.sent, 1);

        let got = sink.to("bob@example.com");
        assert_eq!(got.len(), 1, "{:?}", sink.received());
        let m = &got[0];
        assert_eq!(m.mail_from, "no-reply@gatehouse.test");
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Reset your Gatehouse password")
        );
        assert_eq!(
            m.header("Message-ID"),
            Some(format!("<{id}@gatehouse.test>"))
        );
        assert!(m.header("List-Unsubscribe").is_none(), "a security message");
        let (text, html) = m.text_and_html();
        let link = link_in(&text, "/password/reset/").expect("the link in the text part");
        assert_eq!(link_in(&html, "/password/reset/"), Some(link.clone()));
        assert!(text.contains("30 minutes"));

        // Sent: marked so, and the body with the link is gone from the row.
        assert_eq!(
            outbox_column(&app, "SELECT status FROM outbox WHERE id = $1", id).await,
            "sent"
        );
        assert_eq!(
            outbox_column(&app, "SELECT text_body FROM outbox WHERE id = $1", id).await,
            ""
        );
        // Nothing more to send.
        assert_eq!(deliver(&app).await, Pass::default());
        assert_eq!(sink.received().len(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a_message_committed_before_a_restart_is_sent_by_a_fresh_worker() {
    for engine in engines() {
        let sink = SmtpSink::start().await;
        let app = TestApp::with_config(engine, |c| sink.configure(c)).await;
        quiet_user(&app, "bob@example.com").await;
        ask_reset(&app, "bob@example.com").await;
        // The process that committed it stops before sending: another
        // process, with its own pool and worker, starts.
        let db = Db::connect(&app.state.config.database.database_url, 2)
            .await
            .unwrap();
        let pass = fresh_worker(&app)
            .send_due(&db, app.clock.unix())
            .await
            .unwrap();
        assert_eq!(pass.sent, 1);
        assert_eq!(sink.to("bob@example.com").len(), 1);
        db.close().await;
        app.finish().await;
    }
}

#[tokio::test]
async fn two_workers_on_two_instances_send_each_message_once() {
    for engine in engines() {
        let sink = SmtpSink::start().await;
        let app = TestApp::with_config(engine, |c| sink.configure(c)).await;
        let people: Vec<String> = (0..6).map(|i| format!("p{i}@example.com")).collect();
        for p in &people {
            quiet_user(&app, p).await;
            ask_reset(&app, p).await.assert_redirect("/password/forgot");
        }
        let url = &app.state.config.database.database_url;
        let (db_a, db_b) = (
            Db::connect(url, 2).await.unwrap(),
            Db::connect(url, 2).await.unwrap(),
        );
        let (a, b) = (fresh_worker(&app), fresh_worker(&app));
        let now = app.clock.unix();
        let (pa, pb) = tokio::join!(a.send_due(&db_a, now), b.send_due(&db_b, now));
        let (pa, pb) = (pa.unwrap(), pb.unwrap());
        assert_eq!(pa.sent + pb.sent, people.len());
        let got = sink.received();
        assert_eq!(got.len(), people.len(), "each message once");
        let mut ids: Vec<_> = got.iter().map(|m| m.header("Message-ID")).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), people.len());
        for p in &people {
            assert_eq!(sink.to(p).len(), 1, "{p}");
        }
        db_a.close().await;
        db_b.close().await;
        app.finish().await;
    }
}

#[tokio::test]
async fn a_message_held_by_a_worker_that_died_is_sent_by_another_after_the_lease_with_the_same_id()
{
    each_engine_with_sink(|app, sink| async move {
        quiet_user(&app, "bob@example.com").await;
        ask_reset(&app, "bob@example.com").await;
        let id = *outbox_ids(&app).await.last().unwrap();
        let now = app.clock.unix();
        // A worker claims it and dies before sending.
        let held = app
            .db()
            .claim_mail("worker-that-died", now + LEASE_SECS, 10, now)
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        // Nobody else may send it while the lease lasts.
        assert_eq!(deliver(&app).await, Pass::default());
        assert!(sink.received().is_empty());
        app.clock.advance(LEASE_SECS + 1);
        assert_eq!(deliver(&app).await.sent, 1);
        let got = sink.to("bob@example.com");
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].header("Message-ID"),
            Some(format!("<{id}@gatehouse.test>"))
        );
        // The dead worker's late "sent" changes nothing.
        assert!(
            !app.db()
                .mark_mail_sent(id, "worker-that-died", app.clock.unix())
                .await
                .unwrap()
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_message_the_server_refuses_is_retried_with_backoff_then_given_up_and_shown_to_operators()
{
    for engine in engines() {
        let sink = SmtpSink::failing().await;
        let app = TestApp::with_config(engine, |c| sink.configure(c)).await;
        quiet_user(&app, "bob@example.com").await;
        ask_reset(&app, "bob@example.com").await;
        let id = *outbox_ids(&app).await.last().unwrap();
        for attempt in 1..MAX_ATTEMPTS {
            let pass = deliver(&app).await;
            assert_eq!(pass.retrying, 1, "attempt {attempt}");
            // Not again before its backoff is over.
            app.clock.advance(backoff(attempt) - 1);
            assert_eq!(deliver(&app).await, Pass::default(), "attempt {attempt}");
            app.clock.advance(1);
        }
        let last = deliver(&app).await;
        assert_eq!(last.given_up, 1);
        assert_eq!(
            outbox_column(&app, "SELECT status FROM outbox WHERE id = $1", id).await,
            "failed"
        );
        assert_eq!(
            outbox_column(&app, "SELECT html_body FROM outbox WHERE id = $1", id).await,
            ""
        );
        app.clock.advance(86_400);
        assert_eq!(deliver(&app).await, Pass::default(), "given up for good");
        assert!(sink.received().is_empty());

        let mut op = crate::ops::operator(&app, "opal@example.com").await;
        let page = op.get("/ops/outbox").await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains(&format!("id=\"mail-{id}\"")));
        assert!(page.contains("failed"));
        assert!(page.contains("Try again later"), "the last error is shown");
        assert!(page.contains("bob@example.com"));
        assert!(!page.contains("/password/reset/"), "never a body or link");
        app.finish().await;
    }
}

#[tokio::test]
async fn without_smtp_each_message_is_an_eml_file_named_by_its_id() {
    for engine in engines() {
        let dir = std::env::temp_dir()
            .join("gatehouse-outbox-tests")
            .join(uuid::Uuid::new_v4().simple().to_string());
        let out = dir.clone();
        let app = TestApp::with_config(engine, move |c| c.mail.outbox_dir = out.clone()).await;
        quiet_user(&app, "bob@example.com").await;
        ask_reset(&app, "bob@example.com").await;
        let id = *outbox_ids(&app).await.last().unwrap();
        assert_eq!(deliver(&app).await.sent, 1);
        let file = dir.join(format!("{id}.eml"));
        let raw = std::fs::read_to_string(&file).expect("the .eml file");
        let m = Received {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data: raw,
        };
        assert_eq!(m.header("To").as_deref(), Some("bob@example.com"));
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Reset your Gatehouse password")
        );
        let (text, _) = m.text_and_html();
        assert!(link_in(&text, "/password/reset/").is_some());
        let _ = std::fs::remove_dir_all(&dir);
        app.finish().await;
    }
}

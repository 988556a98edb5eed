//! Invitations: the owner creates a link that works once, for seven days,
//! for the invited address only — an existing user accepts it, a new one
//! signs up through it even when registration is closed.

use axum::http::StatusCode;
use gatehouse::clock::Clock;
use gatehouse::db::flags::ACCOUNT_REGISTRATION;

use crate::helpers::*;
use crate::orgs::{add_member, two_orgs};

/// The value of the read-only link field on the invitations page.
fn shown_link(html: &str) -> Option<String> {
    let start = html.find("id=\"invitation-link\"")?;
    let rest = &html[start..];
    let marker = "value=\"";
    let v = rest.find(marker)? + marker.len();
    let end = rest[v..].find('"')? + v;
    Some(rest[v..end].to_owned())
}

impl Client {
    /// Invites `email` to `slug` and returns the link's path
    /// (`/invitations/<token>`).
    pub async fn invite(&mut self, slug: &str, email: &str, role: &str, teams: &[&str]) -> String {
        let mut fields = vec![("email", email), ("role", role)];
        for t in teams {
            fields.push(("teams", t));
        }
        let invitations = format!("/orgs/{slug}/invitations");
        self.ensure_sudo(&invitations).await;
        self.submit(&invitations, &invitations, &fields)
            .await
            .assert_redirect(&format!("/orgs/{slug}/invitations"));
        // The page after the redirect (its flash is shown and spent).
        let page = self.get(&format!("/orgs/{slug}/invitations")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(shown_link(&page.body).is_none(), "the link is only emailed");
        self.last_invitation_link(email).await
    }
}

impl Client {
    /// The link of the newest invitation message queued for `email`, as
    /// the invitee will find it in the message (read from the outbox before
    /// it is sent; `mail` tests read it from the SMTP server).
    pub async fn last_invitation_link(&self, email: &str) -> String {
        let db = self.db.clone().expect("a client of a test app");
        let sql = "SELECT text_body FROM outbox WHERE kind = 'invitation' AND recipient = $1 \
                   ORDER BY created_at DESC, id DESC LIMIT 1";
        let email = email.to_lowercase();
        let text: String = match &db {
            gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(&email).fetch_one(p).await,
            gatehouse::db::Db::Postgres(p) => {
                sqlx::query_scalar(sql).bind(&email).fetch_one(p).await
            }
        }
        .unwrap();
        crate::mail::link_in(&text, "/invitations/").expect("the link in the message")
    }
}

async fn invitation_id(app: &TestApp, email: &str) -> String {
    let sql = "SELECT id FROM invitations WHERE email = $1 ORDER BY created_at DESC LIMIT 1";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .bind(email)
            .fetch_one(p)
            .await
            .unwrap()
            .to_string(),
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .bind(email)
            .fetch_one(p)
            .await
            .unwrap()
            .to_string(),
    }
}

#[tokio::test]
async fn an_existing_user_accepts_and_joins_with_the_role_and_teams() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let research = ada.create_team("acme", "Research").await;
        ada.create_team("acme", "Sales").await;
        registered(&app, "bob@example.com", "Bob").await;
        let link = ada
            .invite("acme", "Bob@Example.com", "member", &[&research])
            .await;
        let token = link.trim_start_matches("/invitations/").to_owned();

        // The link is shown once; the pending list has the invitation.
        let page = ada.get("/orgs/acme/invitations").await;
        assert!(shown_link(&page.body).is_none(), "shown only once");
        assert!(page.contains("bob@example.com"));
        assert!(page.contains("Research"));
        assert!(page.contains("in 7 days"));
        // Only the digest is stored, and the audit event never holds the link.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE role = 'member'")
                .await,
            1
        );
        let leaked = format!("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%{token}%'");
        assert_eq!(app.count(Box::leak(leaked.into_boxed_str())).await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.created' AND org_id IS NOT NULL AND detail LIKE '%bob@example.com%'")
                .await,
            1
        );

        let mut bob = app.client();
        bob.login("bob@example.com", PASSWORD).await.assert_redirect("/account");
        let shown = bob.get(&link).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.contains("Join Acme"));
        assert!(shown.contains("as <strong>member</strong>"));
        bob.post(&link, &[]).await.assert_redirect("/orgs/acme");
        let overview = bob.get("/orgs/acme").await;
        assert_eq!(overview.status, StatusCode::OK);
        assert!(overview.contains("You joined Acme as member."));
        assert!(overview.contains("Research"));
        // On the team, holding what it is granted on workspaces: nothing yet.
        assert!(overview.contains("None yet"));
        assert!(!overview.contains("Sales"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'bob@example.com' AND role = 'member'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM team_members tm JOIN users u ON u.id = tm.user_id WHERE u.email = 'bob@example.com'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.accepted' AND org_id IS NOT NULL")
                .await,
            1
        );

        // The link works once.
        let again = bob.post(&link, &[]).await;
        assert_eq!(again.status, StatusCode::GONE);
        assert!(again.contains("This invitation is no longer valid"));
        assert_eq!(bob.get(&link).await.status, StatusCode::GONE);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'bob@example.com'")
                .await,
            1
        );
        assert!(
            !ada.get("/orgs/acme/invitations")
                .await
                .contains("bob@example.com")
        );
        // A made-up link is simply not found, with the same page.
        let unknown = bob.get("/invitations/notarealtoken").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(unknown.contains("This invitation is no longer valid"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_new_user_signs_up_through_the_link_while_registration_is_closed() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        let link = ada
            .invite("acme", "newcomer@example.com", "owner", &[&team])
            .await;
        let token = link.trim_start_matches("/invitations/").to_owned();
        app.db()
            .set_flag(ACCOUNT_REGISTRATION, false, app.clock.unix())
            .await
            .unwrap();

        let mut c = app.client();
        let shown = c.get(&link).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.contains(&format!("/login?next=%2Finvitations%2F{token}")));
        assert!(shown.contains(&format!("/signup?invitation={token}")));
        // Plain sign-up stays closed.
        assert!(c.get("/signup").await.contains("Registration is closed"));
        let form = c.get(&format!("/signup?invitation={token}")).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.contains("join <strong>Acme</strong>"));
        assert!(form.contains("value=\"newcomer@example.com\""));
        assert!(form.contains("readonly"));

        // The email is the invited one whatever the form says.
        let res = c
            .post(
                "/signup",
                &[
                    ("email", "someone-else@example.com"),
                    ("display_name", "Newcomer"),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                    ("invitation", &token),
                ],
            )
            .await;
        res.assert_redirect("/orgs/acme");
        let overview = c.get("/orgs/acme").await;
        assert!(overview.contains("You are an owner of this organization."));
        assert!(overview.contains("Research"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'someone-else@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'newcomer@example.com' AND role = 'owner'")
                .await,
            1
        );
        // Spent: neither the link nor the sign-up form takes it again.
        assert_eq!(
            app.client()
                .get(&format!("/signup?invitation={token}"))
                .await
                .status,
            StatusCode::GONE
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_sign_up_form_refuses_a_spent_invitation_and_keeps_registration_closed() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let link = ada.invite("acme", "late@example.com", "member", &[]).await;
        let token = link.trim_start_matches("/invitations/").to_owned();
        app.db()
            .set_flag(ACCOUNT_REGISTRATION, false, app.clock.unix())
            .await
            .unwrap();
        app.clock.advance(7 * 86_400);
        let mut c = app.client();
        let res = c
            .submit(
                "/login",
                "/signup",
                &[
                    ("email", "late@example.com"),
                    ("display_name", "Late"),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                    ("invitation", &token),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::GONE);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'late@example.com'")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_user_with_another_email_cannot_accept() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let link = ada.invite("acme", "bob@example.com", "owner", &[]).await;
        let mut eve = signed_in(&app, "eve@example.com", "Eve").await;
        let page = eve.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("You are signed in as <strong>eve@example.com</strong>"));
        assert!(!page.contains("Accept and join"));
        let res = eve.post(&link, &[]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'eve@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE accepted_at IS NULL")
                .await,
            1
        );
        assert_eq!(eve.get("/orgs/acme").await.status, StatusCode::NOT_FOUND);
        // An anonymous POST is sent to sign in, and nothing changes.
        let mut anon = app.client();
        let res = anon.submit("/login", &link, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().unwrap().starts_with("/login"));
        app
    })
    .await;
}

#[tokio::test]
async fn signing_in_from_the_link_comes_back_to_it() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        registered(&app, "bob@example.com", "Bob").await;
        let link = ada.invite("acme", "bob@example.com", "member", &[]).await;
        let token = link.trim_start_matches("/invitations/").to_owned();
        let mut bob = app.client();
        bob.get(&format!("/login?next=%2Finvitations%2F{token}"))
            .await
            .assert_status(StatusCode::OK);
        bob.post(
            "/login",
            &[
                ("email", "bob@example.com"),
                ("password", PASSWORD),
                ("next", &link),
            ],
        )
        .await
        .assert_redirect(&link);
        assert!(bob.get(&link).await.contains("Accept and join Acme"));
        app
    })
    .await;
}

#[tokio::test]
async fn expired_and_revoked_links_no_longer_work() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        registered(&app, "bob@example.com", "Bob").await;
        registered(&app, "carol@example.com", "Carol").await;
        let expiring = ada.invite("acme", "bob@example.com", "member", &[]).await;
        let revoked = ada.invite("acme", "carol@example.com", "member", &[]).await;

        let id = invitation_id(&app, "carol@example.com").await;
        ada.submit("/orgs/acme/invitations", &format!("/orgs/acme/invitations/{id}/revoke"), &[])
            .await
            .assert_redirect("/orgs/acme/invitations");
        let page = ada.get("/orgs/acme/invitations").await;
        assert!(page.contains("The invitation for carol@example.com was revoked."));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.revoked' AND org_id IS NOT NULL")
                .await,
            1
        );
        // Revoking twice: there is no pending invitation with that id.
        let twice = ada
            .post(&format!("/orgs/acme/invitations/{id}/revoke"), &[])
            .await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
        let mut carol = app.client();
        carol.login("carol@example.com", PASSWORD).await.assert_redirect("/account");
        assert_eq!(carol.get(&revoked).await.status, StatusCode::GONE);
        assert_eq!(
            carol.submit("/account", &revoked, &[]).await.status,
            StatusCode::GONE
        );

        let mut bob = app.client();
        bob.login("bob@example.com", PASSWORD).await.assert_redirect("/account");
        app.clock.advance(7 * 86_400 - 60);
        assert_eq!(bob.get(&expiring).await.status, StatusCode::OK);
        app.clock.advance(60);
        let res = bob.get(&expiring).await;
        assert_eq!(res.status, StatusCode::GONE);
        assert!(res.contains("This invitation is no longer valid"));
        // (Seven days idle also ended bob's session: he signs in again.)
        bob.login("bob@example.com", PASSWORD).await.assert_redirect("/account");
        assert_eq!(bob.submit("/account", &expiring, &[]).await.status, StatusCode::GONE);
        assert!(
            !ada.get("/orgs/acme/invitations")
                .await
                .contains("bob@example.com")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email IN ('bob@example.com', 'carol@example.com')")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn re_inviting_a_pending_address_replaces_the_old_link() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let first = ada.invite("acme", "bob@example.com", "owner", &[]).await;
        let second = ada.invite("acme", "bob@example.com", "member", &[]).await;
        assert_ne!(first, second);
        let page = ada.get("/orgs/acme/invitations").await;
        assert!(page.contains("Pending invitations (1)"));
        let mut c = app.client();
        assert_eq!(c.get(&first).await.status, StatusCode::GONE);
        assert!(c.get(&second).await.contains("as <strong>member</strong>"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE revoked_at IS NOT NULL")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn bad_invitations_are_refused_with_a_message_per_field() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        let globex_team = olga.create_team("globex", "Secret project").await;
        ada.ensure_sudo("/orgs/acme/invitations").await;
        let res = ada
            .submit(
                "/orgs/acme/invitations",
                "/orgs/acme/invitations",
                &[("email", "not an email"), ("role", "admin")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Enter an email address like name@example.com."));
        assert!(res.contains("Choose owner or member."));
        let res = ada
            .post(
                "/orgs/acme/invitations",
                &[("email", "grace@example.com"), ("role", "member")],
            )
            .await;
        assert!(res.contains("already a member"));
        // Another org's team id is not a choice.
        let res = ada
            .post(
                "/orgs/acme/invitations",
                &[
                    ("email", "bob@example.com"),
                    ("role", "member"),
                    ("teams", &globex_team),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Choose teams from the list."));
        assert!(!res.contains("Secret project"));
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn another_orgs_invitation_is_not_found_for_an_owner() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        olga.invite("globex", "bob@example.com", "member", &[])
            .await;
        let id = invitation_id(&app, "bob@example.com").await;
        let res = ada
            .submit(
                "/orgs/acme/invitations",
                &format!("/orgs/acme/invitations/{id}/revoke"),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(!res.contains("bob@example.com"));
        assert!(
            !ada.get("/orgs/acme/invitations")
                .await
                .contains("bob@example.com")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE revoked_at IS NULL")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_gets_403_on_invitations_and_settings() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        ada.invite("acme", "bob@example.com", "member", &[]).await;
        let id = invitation_id(&app, "bob@example.com").await;
        for path in ["/orgs/acme/invitations", "/orgs/acme/settings"] {
            let res = grace.get(path).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!res.contains("bob@example.com"));
        }
        let res = grace
            .submit(
                "/orgs/acme",
                &format!("/orgs/acme/invitations/{id}/revoke"),
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = grace
            .post(
                "/orgs/acme/invitations",
                &[("email", "mallory@example.com"), ("role", "owner")],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE revoked_at IS NULL")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_user_who_became_a_member_meanwhile_just_completes_the_invitation() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        registered(&app, "bob@example.com", "Bob").await;
        let link = ada.invite("acme", "bob@example.com", "owner", &[]).await;
        add_member(&app, "acme", "bob@example.com", "member").await;
        let mut bob = app.client();
        bob.login("bob@example.com", PASSWORD).await.assert_redirect("/account");
        bob.submit(&link, &link, &[]).await.assert_redirect("/orgs/acme");
        assert!(
            bob.get("/orgs/acme")
                .await
                .contains("You already are a member of Acme.")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'bob@example.com' AND role = 'member'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE accepted_at IS NOT NULL")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn signing_up_through_a_link_for_an_existing_account_says_to_sign_in_instead() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        registered(&app, "bob@example.com", "Bob").await;
        let link = ada.invite("acme", "bob@example.com", "member", &[]).await;
        let token = link.trim_start_matches("/invitations/").to_owned();
        let mut c = app.client();
        let res = c
            .submit(
                &format!("/signup?invitation={token}"),
                "/signup",
                &[
                    ("display_name", "Impostor"),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                    ("invitation", &token),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Sign in to accept the invitation instead."));
        // Nothing changed: no membership, the invitation still pending.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships WHERE member_email = 'bob@example.com'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE accepted_at IS NULL")
                .await,
            1
        );
        app
    })
    .await;
}

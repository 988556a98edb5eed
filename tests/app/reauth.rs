//! Re-authentication (`auth::reauth`): every password or code re-check is
//! throttled by the sign-in counters, and a right answer clears them, as a
//! sign-in does.

use axum::http::StatusCode;
use gatehouse::clock::Clock;

use crate::helpers::*;
use crate::mfa::{enrol, totp_at};

const PASSWORD_FORM: &str = "/account/security/password";
const DISABLE: &str = "/account/security/mfa/disable";

impl Client {
    /// Posts the password change form with `current` as the current password.
    async fn change_password(&mut self, current: &str, new: &str) -> TestResponse {
        self.submit(
            "/account/security",
            PASSWORD_FORM,
            &[
                ("current_password", current),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn a_right_current_password_clears_the_failures_counted_before_it() {
    each_engine_with(
        |c| c.signin_max_failures = 3,
        |app| async move {
            let mut c = signed_in(&app, "ada@example.com", "Ada").await;
            for _ in 0..2 {
                c.change_password("Not-My-Password-99", NEW_PASSWORD)
                    .await
                    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            }
            c.change_password(PASSWORD, NEW_PASSWORD)
                .await
                .assert_redirect("/account/security");
            // Two more failures stay below the limit of three only if the
            // success started the count over.
            for _ in 0..2 {
                c.change_password("Not-My-Password-99", PASSWORD)
                    .await
                    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            }
            c.change_password("Not-My-Password-99", PASSWORD)
                .await
                .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            // The limit still holds.
            c.change_password(NEW_PASSWORD, PASSWORD)
                .await
                .assert_status(StatusCode::TOO_MANY_REQUESTS);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn a_right_code_to_turn_mfa_off_clears_the_failures_counted_before_it() {
    each_engine_with(
        |c| c.signin_max_failures = 3,
        |app| async move {
            let mut c = signed_in(&app, "ada@example.com", "Ada").await;
            let e = enrol(&app, &mut c).await;
            app.clock.advance(30);
            for _ in 0..2 {
                c.submit("/account/security", DISABLE, &[("code", "000000")])
                    .await
                    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            }
            c.submit(
                "/account/security",
                DISABLE,
                &[("code", &totp_at(&e.secret, app.clock.unix()))],
            )
            .await
            .assert_redirect("/account/security");
            // The account's counter started over: two wrong passwords are
            // below the limit of three.
            for _ in 0..2 {
                c.change_password("Not-My-Password-99", NEW_PASSWORD)
                    .await
                    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            }
            app
        },
    )
    .await;
}

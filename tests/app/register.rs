//! `POST /v1/account/register`: public self-registration behind the flag.

use axum::http::{Method, StatusCode};

use crate::helpers::*;

fn body(email: &str, name: &str, password: &str) -> String {
    serde_json::json!({ "email": email, "display_name": name, "password": password }).to_string()
}

async fn register(app: &TestApp, json: &str) -> TestResponse {
    api(
        &app.router,
        Method::POST,
        "/v1/account/register",
        None,
        Some(json),
    )
    .await
}

#[tokio::test]
async fn anyone_can_register_while_the_flag_is_on_and_then_sign_in() {
    each_engine(|app| async move {
        let res = register(&app, &body("Ada@Example.com", "Ada Lovelace", PASSWORD)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let account = json_of(&res);
        assert_eq!(account["email"], "ada@example.com");
        assert_eq!(account["display_name"], "Ada Lovelace");
        assert!(account.get("password").is_none());
        let mut c = app.client();
        c.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'user.signed_up'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn registration_is_refused_with_403_while_the_flag_is_off() {
    each_engine_with(
        |c| c.registration = Some(false),
        |app| async move {
            let res = register(&app, &body("ada@example.com", "Ada", PASSWORD)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN);
            assert_eq!(json_of(&res)["error"]["code"], "registration_disabled");
            assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
            app
        },
    )
    .await;
}

#[tokio::test]
async fn bad_input_gets_422_with_a_field_list_and_creates_nothing() {
    each_engine(|app| async move {
        let res = register(&app, &body("not-an-email", " ", "password1234")).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let err = json_of(&res);
        assert_eq!(err["error"]["code"], "validation_failed");
        let fields: Vec<&str> = err["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["email", "display_name", "password"]);
        let res = register(&app, r#"{"email":"a@example.com","display_name":"A","password":"Correct-Horse-Battery-42!","is_operator":true}"#).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields refused");
        let res = register(&app, "{").await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let res = api(&app.router, Method::POST, "/v1/account/register", None, None).await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_taken_email_reveals_no_more_than_the_sign_up_page() {
    each_engine(|app| async move {
        registered(&app, "ada@example.com", "Ada").await;
        let res = register(
            &app,
            &body("ADA@example.com", "Someone", "Another-Strong-Passphrase-77"),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = json_of(&res)["error"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut c = app.client();
        let page = c
            .signup("ada@example.com", "Someone", "Another-Strong-Passphrase-77")
            .await;
        assert!(page.contains(&message), "the page says the same: {message}");
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn registrations_are_limited_per_address_with_the_sign_up_page() {
    each_engine(|app| async move {
        // The sign-up page and the API share one counter per address.
        registered(&app, "page@example.com", "Page").await;
        for i in 1..10 {
            let res = register(
                &app,
                &body(&format!("user{i}@example.com"), "Someone", PASSWORD),
            )
            .await;
            assert_eq!(res.status, StatusCode::CREATED, "{i}: {}", res.body);
        }
        let res = register(&app, &body("late@example.com", "Late", PASSWORD)).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json_of(&res)["error"]["code"], "rate_limited");
        assert!(res.headers.get("retry-after").is_some());
        app.clock.advance(3600);
        let res = register(&app, &body("late@example.com", "Late", PASSWORD)).await;
        assert_eq!(res.status, StatusCode::CREATED);
        app
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_registration_and_the_admin_endpoints() {
    each_engine(|app| async move {
        let res = api(&app.router, Method::GET, "/v1/openapi.json", None, None).await;
        let doc = json_of(&res);
        for path in [
            "/v1/account/register",
            "/v1/admin/account/register",
            "/v1/admin/accounts",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
        let public = &doc["paths"]["/v1/account/register"]["post"];
        for status in ["201", "400", "403", "415", "422", "429"] {
            assert!(public["responses"][status].is_object(), "public {status}");
        }
        let admin = &doc["paths"]["/v1/admin/account/register"]["post"];
        assert!(admin["security"][0]["master_key"].is_array());
        for status in ["201", "400", "401", "403", "415", "422"] {
            assert!(admin["responses"][status].is_object(), "admin {status}");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["master_key"]["scheme"],
            "bearer"
        );
        let schema = &doc["components"]["schemas"]["RegisterRequest"];
        assert_eq!(schema["properties"]["password"]["minLength"], 12);
        assert_eq!(schema["additionalProperties"], false);
        for code in ["master_key_required", "registration_disabled"] {
            assert!(res.body.contains(code));
        }
        app
    })
    .await;
}

//! Requests a person or a client can get wrong — an oversized body, a field
//! sent twice, JSON to a form, a malformed query or path, JSON of the wrong
//! shape — get the product's answer: its error page with the security
//! headers, or on `/v1` the JSON error with a stable code; never the parser's
//! text.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::helpers::*;

/// The product's error page, with the security headers, and none of the
/// parsers' wording.
fn assert_product_page(res: &TestResponse, status: StatusCode) {
    assert_eq!(res.status, status, "{}", res.body);
    assert!(res.contains("class=\"error-page\""), "{}", res.body);
    assert!(
        res.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert_eq!(res.headers[header::X_FRAME_OPTIONS], "DENY");
    for parser_text in ["deserialize", "length limit", "Content-Type", "duplicate"] {
        assert!(!res.contains(parser_text), "{parser_text}: {}", res.body);
    }
}

fn assert_api_error(res: &TestResponse, status: StatusCode, code: &str) -> serde_json::Value {
    assert_eq!(res.status, status, "{}", res.body);
    assert!(res.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let err = json_of(res);
    assert_eq!(err["error"]["code"], code, "{}", res.body);
    for parser_text in [
        "line 1",
        "column",
        "deserialize",
        "length limit",
        "expected",
    ] {
        assert!(!res.contains(parser_text), "{parser_text}: {}", res.body);
    }
    err
}

/// A body of `len` bytes, with its length declared or sent chunked.
fn oversized(method: Method, path: &str, content_type: &str, declared: bool) -> Request<Body> {
    let body = format!("display_name={}", "x".repeat(100 * 1024));
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    if declared {
        req = req.header(header::CONTENT_LENGTH, body.len());
    }
    req.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn an_oversized_body_gets_the_413_page_whether_declared_or_chunked() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        for declared in [true, false] {
            let mut req = oversized(
                Method::POST,
                "/account/profile",
                "application/x-www-form-urlencoded",
                declared,
            );
            req.headers_mut()
                .insert("x-csrf-token", c.csrf.clone().unwrap().parse().unwrap());
            let res = c.send(req).await;
            assert_product_page(&res, StatusCode::PAYLOAD_TOO_LARGE);
            assert!(res.contains("Too much data"));
        }
        // `/v1` answers in JSON, declared or chunked (registration reads the
        // body without a key).
        for declared in [true, false] {
            let req = oversized(
                Method::POST,
                "/v1/account/register",
                "application/json",
                declared,
            );
            let res = Client::new(app.router.clone()).send(req).await;
            assert_api_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn a_form_field_sent_twice_gets_the_product_page() {
    each_engine(|app| async move {
        let email = registered(&app, "ada@example.com", "Ada").await;
        let mut c = app.client();
        c.get("/login").await;
        let token = c.csrf.clone().unwrap();
        let res = c
            .post_raw(
                "/login",
                &[
                    ("csrf_token", &token),
                    ("email", &email),
                    ("email", "eve@example.com"),
                    ("password", PASSWORD),
                ],
                &[],
            )
            .await;
        assert_product_page(&res, StatusCode::BAD_REQUEST);
        assert!(res.contains("could not be read"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_json_body_to_a_form_gets_the_415_page() {
    each_engine(|app| async move {
        let mut c = signed_in(&app, "ada@example.com", "Ada").await;
        let req = Request::post("/account/profile")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", c.csrf.clone().unwrap())
            .body(Body::from(r#"{"display_name":"Eve"}"#))
            .unwrap();
        let res = c.send(req).await;
        assert_product_page(&res, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(c.get("/account/profile").await.contains("value=\"Ada\""));
        app
    })
    .await;
}

#[tokio::test]
async fn a_malformed_query_or_path_gets_the_product_page() {
    each_engine(|app| async move {
        let mut c = app.client();
        let res = c.get("/login?next=%2Fa&next=%2Fb").await;
        assert_product_page(&res, StatusCode::BAD_REQUEST);
        // A path segment that is not UTF-8 points nowhere: the 404 page.
        let res = c.get("/invitations/%FF%FE").await;
        assert_product_page(&res, StatusCode::NOT_FOUND);
        // An org slug holding NUL is no org's (PostgreSQL text cannot hold
        // it): the 404 page for a member, as for a key.
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let res = ada.get("/orgs/a%00b").await;
        assert_product_page(&res, StatusCode::NOT_FOUND);
        // Sign-out typed into the address bar (it is a POST form).
        let res = c.get("/logout").await;
        assert_product_page(&res, StatusCode::METHOD_NOT_ALLOWED);
        assert!(res.headers.contains_key(header::ALLOW));
        app
    })
    .await;
}

#[tokio::test]
async fn api_body_errors_name_the_field_in_the_products_words() {
    each_engine(|app| async move {
        let register = |json: &'static str| {
            let router = app.router.clone();
            async move {
                api(
                    &router,
                    Method::POST,
                    "/v1/account/register",
                    None,
                    Some(json),
                )
                .await
            }
        };
        let res = register(
            r#"{"email":"ada@example.com","display_name":5,"password":"Correct-Horse-42!"}"#,
        )
        .await;
        let err = assert_api_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            err["error"]["fields"],
            serde_json::json!([{ "field": "display_name", "message": "must be a string" }])
        );
        let res = register(r#"{"email":"ada@example.com","display_name":"Ada"}"#).await;
        let err = assert_api_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            err["error"]["fields"],
            serde_json::json!([{ "field": "password", "message": "is required" }])
        );
        let res = register(r#"{"email":"ada@example.com", "display_name": "#).await;
        let err = assert_api_error(&res, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(err["error"]["message"], "The body is not valid JSON.");
        // The OpenAPI document tells clients the same.
        let doc = api(&app.router, Method::GET, "/v1/openapi.json", None, None).await;
        for code in ["payload_too_large", "validation_failed", "is required"] {
            assert!(doc.contains(code), "{code} documented");
        }
        assert!(
            doc.body.contains("\"413\""),
            "413 documented on body endpoints"
        );
        app
    })
    .await;
}

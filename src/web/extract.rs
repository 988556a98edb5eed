//! The request extractors every page handler uses for forms, query strings
//! and path segments, in place of axum's own.
//!
//! Invariant: a request a person can get wrong (a field sent twice, a JSON
//! body to a form, a malformed query string, an oversized body) is answered
//! with the product's error page, never with the parser's text. Each wrapper
//! turns its rejection into an `AppError`; the parser's message goes to the
//! debug log only. Clippy's `disallowed-types` (clippy.toml) keeps axum's
//! extractors out of handlers, so a new handler cannot forget this.

#![allow(clippy::disallowed_types)]

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

const UNREADABLE: &str = "The form or link sent could not be read. Go back, reload the page \
                          and try again.";

/// Maps the status of an axum body rejection to the product's answer.
fn body_rejection(status: StatusCode, detail: &str) -> AppError {
    tracing::debug!(%status, detail, "refused an unreadable request");
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        _ => AppError::BadRequest(UNREADABLE),
    }
}

/// A URL-encoded form body (axum's `Form`: one value per field).
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(v)| Form(v))
            .map_err(|e: FormRejection| body_rejection(e.status(), &e.body_text()))
    }
}

/// A URL-encoded form body whose fields may repeat (checkbox lists), read by
/// `serde_html_form` (axum-extra's `Form`).
#[derive(Debug)]
pub struct ListForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ListForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum_extra::extract::Form::<T>::from_request(req, state)
            .await
            .map(|axum_extra::extract::Form(v)| ListForm(v))
            .map_err(|e| body_rejection(e.status(), &e.body_text()))
    }
}

/// The query string.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e: QueryRejection| body_rejection(e.status(), &e.body_text()))
    }
}

/// The path parameters. A segment that does not decode (invalid UTF-8) is
/// the same 404 as an unknown id: the link points nowhere.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                tracing::debug!(detail = %e.body_text(), "refused an undecodable path");
                Err(AppError::NotFound)
            }
            Err(e) => Err(AppError::internal(format!(
                "path parameters unavailable: {}",
                e.body_text()
            ))),
        }
    }
}

//! Reading a JSON request body for `/v1`.
//!
//! Invariant: no parser text reaches the caller. A body that is not JSON is
//! `400 bad_request` ("The body is not valid JSON.", the code clients already
//! know); JSON of the wrong shape is `422 validation_failed`
//! naming each field at fault (its path, e.g. `display_name` or
//! `metadata.name`) with a message in the product's words; a body over the
//! limit is `413 payload_too_large`; a body without the JSON content type is
//! `415 unsupported_media_type`. The parser's own message (which quotes the
//! input and its position) goes to the debug log only.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};

fn not_json() -> ApiError {
    ApiError::BadRequest("The body is not valid JSON.".into())
}

/// A JSON body whose rejections are API errors with stable codes.
pub struct ApiJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(ty, suffix)| ty.starts_with("application/") && suffix == "json")
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                tracing::debug!(detail = %e.body_text(), "unreadable API body");
                not_json()
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Deserializes `bytes`, turning a failure into the product's error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        tracing::debug!(error = %inner, %path, "refused an API body");
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(vec![field_error(&path, &message_of(&inner))])
            }
            _ => not_json(),
        }
    })?;
    // Anything after the value (a second document, stray text) is a syntax
    // error like any other.
    de.end().map_err(|_| not_json())?;
    Ok(value)
}

/// serde's message without the " at line L column C" suffix.
fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// The text between the first two backticks of `s`.
fn quoted(s: &str) -> Option<&str> {
    let (_, rest) = s.split_once('`')?;
    rest.split_once('`').map(|(q, _)| q)
}

/// The field at fault and what is wrong with it, from serde's message. Only
/// what the schema says is repeated (field names, the expected type, the
/// allowed values); what the caller sent is never echoed.
fn field_error(path: &str, message: &str) -> FieldError {
    let root = path == "." || path.is_empty();
    // serde_path_to_error's path ends at the parent for a missing field, and
    // at the field itself for an unknown or duplicate one.
    let child = |name: &str| {
        if root {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let itself = |name: &str| {
        if root {
            name.to_owned()
        } else {
            path.to_owned()
        }
    };
    let at = if root {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    let (field, message) = if let Some(rest) = message.strip_prefix("missing field ") {
        (child(quoted(rest).unwrap_or("")), "is required".to_owned())
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        (
            itself(quoted(rest).unwrap_or("")),
            "is not a field of this request".to_owned(),
        )
    } else if let Some(rest) = message.strip_prefix("duplicate field ") {
        (
            itself(quoted(rest).unwrap_or("")),
            "is given twice".to_owned(),
        )
    } else if message.starts_with("unknown variant ") {
        // serde lists the allowed values: "one of `a`, `b`, `c`" or "`a` or `b`".
        let allowed = message
            .split_once(", expected ")
            .map_or("one of the documented values", |(_, e)| e);
        (at, format!("must be {allowed}"))
    } else if message.starts_with("invalid type: ") || message.starts_with("invalid value: ") {
        let expected = message.rsplit_once(", expected ").map_or("", |(_, e)| e);
        (at, format!("must be {}", expected_phrase(expected)))
    } else if message.starts_with("invalid length ") {
        (at, "has the wrong number of items".to_owned())
    } else {
        (at, "is not valid".to_owned())
    };
    FieldError { field, message }
}

/// What a field must be, in plain words, from serde's "expected …" text.
fn expected_phrase(expected: &str) -> &str {
    match expected {
        "a string" | "a borrowed string" | "a character" => "a string",
        "a boolean" => "true or false",
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "usize" | "isize" => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        "a sequence" => "a list",
        "a map" => "an object",
        e if e.starts_with("struct ") => "an object",
        e if e.starts_with("a ") || e.starts_with("an ") => e,
        _ => "of the documented type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
        flag: Option<bool>,
        kind: Option<Kind>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Viewer,
        Runner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        tags: Vec<String>,
    }

    fn fields(json: &str) -> Vec<(String, String)> {
        match parse::<Body>(json.as_bytes()) {
            Err(ApiError::Validation(f)) => f.into_iter().map(|e| (e.field, e.message)).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn one(field: &str, message: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), message.to_owned())]
    }

    #[test]
    fn each_shape_error_names_its_field_in_plain_words() {
        assert_eq!(fields(r#"{"name": 5}"#), one("name", "must be a string"));
        assert_eq!(
            fields(r#"{"name": "a", "count": "x"}"#),
            one("count", "must be a whole number")
        );
        assert_eq!(
            fields(r#"{"name": "a", "flag": 1}"#),
            one("flag", "must be true or false")
        );
        assert_eq!(
            fields(r#"{"name": "a", "kind": "boss"}"#),
            one("kind", "must be `viewer` or `runner`")
        );
        assert_eq!(fields(r#"{}"#), one("name", "is required"));
        assert_eq!(
            fields(r#"{"name": "a", "extra": 1}"#),
            one("extra", "is not a field of this request")
        );
        assert_eq!(
            fields(r#"{"name": "a", "inner": {"tags": [1]}}"#),
            one("inner.tags[0]", "must be a string")
        );
        assert_eq!(
            fields(r#"{"name": "a", "inner": {}}"#),
            one("inner.tags", "is required")
        );
        assert_eq!(fields("true"), one("body", "must be an object"));
    }

    #[test]
    fn no_message_quotes_the_input_or_its_position() {
        let f = fields(r#"{"name": "a", "count": "secret-value"}"#);
        assert!(!f[0].1.contains("secret"), "{f:?}");
        assert!(!f[0].1.contains("line"), "{f:?}");
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        for bad in [r#"{"name": "#, "{,}", "", r#"{"name": "a"} trailing"#] {
            assert!(
                matches!(parse::<Body>(bad.as_bytes()), Err(ApiError::BadRequest(m)) if m == "The body is not valid JSON."),
                "{bad}"
            );
        }
    }
}

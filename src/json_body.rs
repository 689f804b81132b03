//! How the generated code decodes a JSON response body (build.rs points every generated
//! `ResponseValue::from_response` call here).
//!
//! progenitor's own `from_response` parses the bytes with `serde_json::from_slice`, which
//! checks every string it meets for UTF-8 on its own, one call each: a third of a page's
//! decode went there. This checks the whole body once (the standard library's check walks
//! ASCII a word at a time) and parses it as text, where serde_json checks nothing again.
//! The result is the same in every case: a body that is not UTF-8 is handed to
//! `from_slice`, so the error names the same place as before.

use progenitor_client::{Error, ResponseValue};
use serde::de::DeserializeOwned;

/// Reads `response`'s body and decodes it as JSON into `T`, keeping its status and headers;
/// the same outcomes as progenitor's `ResponseValue::from_response`.
pub(crate) async fn json_response<T: DeserializeOwned, E>(
    response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::ResponseBodyError)?;
    let decoded = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&body),
    };
    match decoded {
        Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
        Err(e) => Err(Error::InvalidResponsePayload(body, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &'static [u8]) -> reqwest::Response {
        reqwest::Response::from(
            http::Response::builder()
                .status(200)
                .header("twilio-request-id", "RQ1")
                .body(body)
                .unwrap(),
        )
    }

    async fn decode(body: &'static [u8]) -> Result<ResponseValue<serde_json::Value>, Error<()>> {
        json_response::<serde_json::Value, ()>(response(body)).await
    }

    #[tokio::test]
    async fn a_body_decodes_with_its_status_and_headers() {
        let value = decode(br#"{"sid":"MB1","name":"Z\u00fcrich \u00e9t\u00e9"}"#)
            .await
            .unwrap();
        assert_eq!(value.status(), 200);
        assert_eq!(value.headers()["twilio-request-id"], "RQ1");
        assert_eq!(value.into_inner()["name"], "Zürich été");
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_fails_where_from_slice_says() {
        let body: &'static [u8] = b"{\"name\":\"caf\xe9\"}";
        let Err(Error::InvalidResponsePayload(bytes, ours)) = decode(body).await else {
            panic!("invalid UTF-8 must not decode");
        };
        let theirs = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(&bytes[..], body);
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_keeps_its_bytes_and_serde_message() {
        let Err(Error::InvalidResponsePayload(bytes, e)) = decode(b"{\"sid\":").await else {
            panic!("truncated JSON must not decode");
        };
        assert_eq!(&bytes[..], b"{\"sid\":");
        assert!(e.is_eof(), "{e}");
    }
}

//! One span per HTTP attempt, with no secret in any field, and `Retry-After` honoured.
//! Its own test binary: tracing's per-callsite interest cache makes a thread-local
//! subscriber unreliable while other tests run in parallel threads.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::*;
use httpmock::{Method::GET, MockServer};
use tracing::Instrument;
use tracing_subscriber::{filter::filter_fn, layer::SubscriberExt, registry::LookupSpan, Layer};
use twilio_conversations::{Client, RetryPolicy};

/// Records every span and event (name and fields) emitted while it is the default subscriber.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut fields);
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent().map(|p| p.name()))
            .unwrap_or("none");
        fields.0.push_str(&format!(" parent={parent}"));
        self.0.lock().unwrap().push(fields.0);
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields("record".into());
        values.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields("event".into());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

#[tokio::test]
async fn spans_per_attempt_and_retry_after() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(429)
                .header("retry-after", "1")
                .body(r#"{"code":20429,"message":"Too Many Requests","status":429}"#)
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).body(page(0..2, 0, 50, None).to_string());
        })
        .await;
    let recorder = Recorder::default();
    // Everything but the mock server's own logs (it logs the requests it receives).
    let not_the_mock = filter_fn(|meta| !meta.target().starts_with("httpmock"));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(recorder.clone().with_filter(not_the_mock)),
    )
    .unwrap();
    let client = Client::builder()
        .credentials(credentials())
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::default().max_delay(Duration::from_secs(2)))
        .build()
        .unwrap();
    // The caller's span: every request runs inside it, prefetch task included.
    let got = client
        .participants(&service(), CONVERSATION)
        .list()
        .instrument(tracing::info_span!("caller_job"))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    limited.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    let log = recorder.0.lock().unwrap().join("\n");
    assert!(
        log.contains("event message=retrying delay_ms=1000"),
        "{log}"
    );
    assert!(log.contains("span twilio_request method=GET path=/v1/Services/IS0123456789abcdef0123456789abcdef/Conversations/CH0123456789abcdef0123456789abcdef/Participants attempt=2 parent=caller_job"), "{log}");
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("span twilio_request"))
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    assert!(
        requests.iter().all(|l| l.ends_with(" parent=caller_job")),
        "{log}"
    );
    assert!(
        log.contains("record status=429") && log.contains("record status=200"),
        "{log}"
    );
    assert!(
        !log.contains(TOKEN) && !log.contains(&basic_header()[6..]),
        "no secret in any field: {log}"
    );
}

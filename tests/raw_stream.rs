//! `raw_stream()`: the walk of `stream()`, each participant as the server sent it.

use futures_util::TryStreamExt;
use twilio_conversations::{testing::FakeServer, Client, ServiceSid};

#[tokio::test(flavor = "current_thread")]
async fn raw_stream_walks_the_same_pages_and_decodes_to_the_typed_participants() {
    let fake = FakeServer::start().await.unwrap();
    let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse().unwrap();
    fake.add_generated(&service, "support-room-7", 250, 7);
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()
        .unwrap();
    let request = client
        .participants(&service, "support-room-7")
        .page_size(40);
    let typed: Vec<_> = request.clone().stream().try_collect().await.unwrap();
    let raw: Vec<_> = request.raw_stream().try_collect().await.unwrap();
    assert_eq!((typed.len(), raw.len()), (250, 250));
    for (raw, typed) in raw.iter().zip(&typed) {
        assert_eq!(raw.sid(), typed.sid.as_ref());
        assert_eq!(&raw.decode().unwrap(), typed);
        assert!(raw.json().starts_with('{') && !raw.json().contains('\n'));
    }
    // Seven pages of at most 40, for each stream.
    assert_eq!(fake.requests().len(), 2 * 7);
}

//! Realistic participants, deterministic from a seed.

use chrono::{DateTime, TimeZone, Utc};

use crate::{
    models::{MessagingBinding, Participant},
    sid::{AccountSid, ConversationSid, ParticipantSid, ServiceSid},
};

/// The account the generated participants belong to (and the fake server's account).
pub const FAKE_ACCOUNT_SID: &str = "AC7e57f4ce0000000000000000000000aa";

const ROLES: [&str; 2] = [
    "RL6f3bd2c1aa0000000000000000000001",
    "RL6f3bd2c1aa0000000000000000000002",
];
const FIRST_NAMES: [&str; 8] = [
    "ana", "bo", "chen", "dara", "emeka", "fatima", "goran", "hana",
];

/// `count` participants of `conversation` in `service`: about half SMS (a few WhatsApp) with
/// E.164 addresses, the rest chat identities; valid SIDs; attributes JSON; dates. The same
/// seed gives the same participants.
pub fn participants(
    service: &ServiceSid,
    conversation: &ConversationSid,
    count: usize,
    seed: u64,
) -> Vec<Participant> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let account: AccountSid = FAKE_ACCOUNT_SID.parse().expect("valid constant SID");
    let started = Utc
        .with_ymd_and_hms(2024, 1, 8, 9, 0, 0)
        .single()
        .unwrap_or_default();
    (0..count)
        .map(|n| {
            let sid = ParticipantSid::new(format!("MB{:016x}{:016x}", seed, n as u64))
                .expect("generated SIDs match the pattern");
            let created = started + chrono::Duration::seconds(n as i64 * 37 + rng.i64(0..30));
            let updated = created + chrono::Duration::seconds(rng.i64(0..86_400));
            let name = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
            let (identity, binding) = if n % 2 == 0 {
                (None, Some(binding(&mut rng)))
            } else {
                (Some(format!("{name}.{n}@example.com")), None)
            };
            let read = rng.bool();
            Participant {
                url: Some(format!(
                    "https://conversations.twilio.com/v1/Services/{service}/Conversations/{conversation}/Participants/{sid}"
                )),
                attributes: Some(format!(
                    "{{\"display_name\":\"{name} {n}\",\"customer_id\":{},\"tier\":\"{}\"}}",
                    rng.u32(10_000..99_999),
                    ["free", "pro", "enterprise"][rng.usize(..3)]
                )),
                account_sid: Some(account.clone()),
                chat_service_sid: Some(service.clone()),
                conversation_sid: Some(conversation.clone()),
                date_created: Some(created),
                date_updated: Some(updated),
                identity,
                messaging_binding: binding,
                role_sid: Some(ROLES[n % 2].parse().expect("valid constant SID")),
                last_read_message_index: read.then(|| rng.i64(0..500)),
                last_read_timestamp: read.then(|| timestamp(updated)),
                sid: Some(sid),
            }
        })
        .collect()
}

fn binding(rng: &mut fastrand::Rng) -> MessagingBinding {
    let number = format!("+1555{:07}", rng.u32(0..10_000_000));
    let whatsapp = rng.u8(0..5) == 0;
    let (kind, address, proxy) = if whatsapp {
        (
            "whatsapp",
            format!("whatsapp:{number}"),
            "whatsapp:+15017122661",
        )
    } else {
        ("sms", number, "+15017122661")
    };
    MessagingBinding {
        type_: Some(kind.into()),
        address: Some(address),
        proxy_address: Some(proxy.into()),
        projected_address: None,
        extra: Default::default(),
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

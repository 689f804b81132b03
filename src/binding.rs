//! The wire type of `messaging_binding`, written by hand in place of the generated one
//! (`build.rs` maps the spec's `MessagingBinding` schema here).
//!
//! Same fields as the generated struct, but unknown keys are collected while the object is
//! read, not through `#[serde(flatten)]`, which buffers every binding into an intermediate
//! tree before decoding it (a measured cost on the list hot path: half of all participants
//! carry a binding).

use std::fmt;

use serde::{
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
    Deserialize, Deserializer, Serialize, Serializer,
};
use serde_json::{Map, Value};

/// How a non-chat participant is reached; `None` on the participant for a chat participant.
/// The documented keys are fields; any other key a channel sends is kept in `extra`.
#[derive(Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
pub struct MessagingBinding {
    /// The participant's own address (e.g. an E.164 phone number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The address shown to others in a group conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected_address: Option<String>,
    /// The Twilio address the participant talks to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_address: Option<String>,
    /// The channel, e.g. `sms` or `whatsapp`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Keys other than the four above, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A binding key: one of the documented four, or another one (kept).
enum Key {
    Address,
    ProjectedAddress,
    ProxyAddress,
    Type,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a binding key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "address" => Key::Address,
                    "projected_address" => Key::ProjectedAddress,
                    "proxy_address" => Key::ProxyAddress,
                    "type" => Key::Type,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for MessagingBinding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BindingVisitor;
        impl<'de> Visitor<'de> for BindingVisitor {
            type Value = MessagingBinding;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a messaging binding object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MessagingBinding, A::Error> {
                let mut binding = MessagingBinding::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let (slot, name) = match key {
                        Key::Address => (&mut binding.address, "address"),
                        Key::ProjectedAddress => {
                            (&mut binding.projected_address, "projected_address")
                        }
                        Key::ProxyAddress => (&mut binding.proxy_address, "proxy_address"),
                        Key::Type => (&mut binding.type_, "type"),
                        Key::Other(key) => {
                            let value = map.next_value()?;
                            binding.extra.insert(key, value);
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::duplicate_field(name));
                    }
                    *slot = map.next_value()?;
                }
                Ok(binding)
            }
        }
        deserializer.deserialize_map(BindingVisitor)
    }
}

impl Serialize for MessagingBinding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let known = [
            ("address", &self.address),
            ("projected_address", &self.projected_address),
            ("proxy_address", &self.proxy_address),
            ("type", &self.type_),
        ];
        let count = known.iter().filter(|(_, v)| v.is_some()).count() + self.extra.len();
        let mut map = serializer.serialize_map(Some(count))?;
        for (key, value) in known {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_are_fields_and_others_are_kept_in_order() {
        let text =
            r#"{"type":"sms","level":"group","address":"+1555","x":[1],"proxy_address":null}"#;
        let binding: MessagingBinding = serde_json::from_str(text).unwrap();
        assert_eq!(binding.type_.as_deref(), Some("sms"));
        assert_eq!(binding.address.as_deref(), Some("+1555"));
        assert_eq!(binding.proxy_address, None);
        assert_eq!(binding.extra.len(), 2);
        assert_eq!(
            serde_json::to_string(&binding).unwrap(),
            r#"{"address":"+1555","type":"sms","level":"group","x":[1]}"#
        );
    }

    #[test]
    fn a_repeated_known_key_or_a_non_object_is_an_error() {
        let twice = serde_json::from_str::<MessagingBinding>(r#"{"type":"sms","type":"x"}"#);
        assert!(twice
            .unwrap_err()
            .to_string()
            .contains("duplicate field `type`"));
        let list = serde_json::from_str::<MessagingBinding>("[]").unwrap_err();
        assert!(
            list.to_string()
                .contains("expected a messaging binding object"),
            "{list}"
        );
    }
}

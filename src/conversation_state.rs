//! The wire type of a conversation's state, written by hand in place of the generated enum
//! (`build.rs` maps the spec's `ConversationState` schema here) so that a state Twilio adds
//! later decodes instead of failing the whole page.

use std::{borrow::Cow, convert::Infallible, fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The state of a conversation: `inactive`, `active` or `closed`, or a value Twilio added
/// after this crate was built, kept as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConversationState {
    /// `inactive`: no activity for the inactive timer's duration.
    Inactive,
    /// `active`: open for messages.
    Active,
    /// `closed`: closed for good.
    Closed,
    /// Any other value, as sent (never one of the three above when decoded).
    Other(String),
}

impl ConversationState {
    /// The values the spec lists, in its order.
    pub const DOCUMENTED: [&'static str; 3] = ["inactive", "active", "closed"];

    /// The state as it is sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Inactive => "inactive",
            Self::Active => "active",
            Self::Closed => "closed",
            Self::Other(value) => value,
        }
    }

    fn from_wire(value: Cow<'_, str>) -> Self {
        match value.as_ref() {
            "inactive" => Self::Inactive,
            "active" => Self::Active,
            "closed" => Self::Closed,
            _ => Self::Other(value.into_owned()),
        }
    }
}

impl FromStr for ConversationState {
    type Err = Infallible;

    /// Never fails: an unknown value becomes [`ConversationState::Other`].
    fn from_str(value: &str) -> Result<Self, Infallible> {
        Ok(Self::from_wire(Cow::Borrowed(value)))
    }
}

impl fmt::Display for ConversationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConversationState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConversationState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Cow::<'de, str>::deserialize(deserializer).map(Self::from_wire)
    }
}

impl schemars::JsonSchema for ConversationState {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("ConversationState")
    }

    /// The spec's schema: the documented values (the type accepts others too).
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": Self::DOCUMENTED,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_values_are_variants_and_others_are_kept() {
        for (text, state) in [
            ("\"inactive\"", ConversationState::Inactive),
            ("\"active\"", ConversationState::Active),
            ("\"closed\"", ConversationState::Closed),
            ("\"archived\"", ConversationState::Other("archived".into())),
        ] {
            let decoded: ConversationState = serde_json::from_str(text).unwrap();
            assert_eq!(decoded, state);
            assert_eq!(serde_json::to_string(&decoded).unwrap(), text);
        }
        // An escaped string cannot be borrowed; it still decodes.
        let escaped: ConversationState = serde_json::from_str(r#""\u0061ctive""#).unwrap();
        assert_eq!(escaped, ConversationState::Active);
        assert_eq!("closed".parse(), Ok(ConversationState::Closed));
        assert_eq!(ConversationState::Other("x".into()).to_string(), "x");
    }

    #[test]
    fn a_non_string_is_an_error() {
        let err = serde_json::from_str::<ConversationState>("3").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: integer `3`, expected a string at line 1 column 1"
        );
    }
}

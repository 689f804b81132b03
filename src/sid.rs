//! Validated Twilio SIDs.
//!
//! A SID is a two-letter prefix naming its kind followed by 32 hexadecimal digits, 34 ASCII
//! characters in all (the spec's `^XX[0-9a-fA-F]{32}$`, length 34). These newtypes are the
//! wire types the generated code uses for the spec's SID schemas (see `build.rs`), so a SID
//! is checked once, without a regex, whether it comes from the user or from a response.

use std::{borrow::Cow, fmt, str::FromStr};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// The length of every SID: a two-letter prefix and 32 hexadecimal digits.
pub const SID_LEN: usize = 34;

/// Why a string is not a valid SID of the expected kind.
///
/// The rejected input is never kept whole: it may be a secret put in the wrong place (an auth
/// token in `TWILIO_ACCOUNT_SID`), so only its first few characters and its length are shown,
/// in `Display` and `Debug` alike.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} (starting {start:?}, {length} characters): {problem}")]
pub struct InvalidSid {
    /// The kind of SID that was expected, e.g. `ChatServiceSid`.
    pub kind: &'static str,
    /// The first characters of the rejected input: at most [`InvalidSid::SHOWN`], and never more
    /// than half of it.
    pub start: String,
    /// The length of the rejected input, in characters.
    pub length: usize,
    /// What is wrong with it.
    pub problem: SidProblem,
}

impl InvalidSid {
    /// The most characters of a rejected input an `InvalidSid` keeps.
    pub const SHOWN: usize = 4;

    fn new(kind: &'static str, value: &str, problem: SidProblem) -> Self {
        let length = value.chars().count();
        Self {
            kind,
            start: value.chars().take(Self::SHOWN.min(length / 2)).collect(),
            length,
            problem,
        }
    }
}

/// What is wrong with a rejected SID.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SidProblem {
    /// The input is not 34 bytes long.
    #[error("expected {SID_LEN} characters, found {0}")]
    Length(usize),
    /// The input does not start with the kind's two-letter prefix.
    #[error("expected the prefix `{0}`")]
    Prefix(&'static str),
    /// A character after the prefix is not a hexadecimal digit.
    #[error("character {position} is not a hexadecimal digit")]
    NotHex {
        /// Zero-based byte position of the first offending character.
        position: usize,
    },
}

/// Checks `value` against `^{prefix}[0-9a-fA-F]{32}$`.
fn check(kind: &'static str, prefix: &'static str, value: &str) -> Result<(), InvalidSid> {
    let fail = |problem| InvalidSid::new(kind, value, problem);
    let bytes = value.as_bytes();
    if bytes.len() != SID_LEN && value.chars().count() != SID_LEN {
        return Err(fail(SidProblem::Length(value.chars().count())));
    }
    if !bytes.starts_with(prefix.as_bytes()) {
        return Err(fail(SidProblem::Prefix(prefix)));
    }
    // One pass over all 32 digits without an early exit (the compiler vectorizes it: this
    // runs five times per participant decoded); the position only when one is wrong.
    if bytes[2..].iter().fold(true, |all, b| all & is_hex(*b)) {
        return Ok(());
    }
    // Every byte before the first non-hex one is ASCII, so its byte offset is its character
    // offset; a non-ASCII character (34 characters but more bytes) is caught here too.
    let offset = bytes[2..].iter().position(|b| !is_hex(*b)).unwrap_or(0);
    Err(fail(SidProblem::NotHex {
        position: offset + 2,
    }))
}

/// `[0-9a-fA-F]`, branch-free.
fn is_hex(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | ((b | 0x20).wrapping_sub(b'a') < 6)
}

macro_rules! sid_types {
    ($( $(#[$doc:meta])* $name:ident => $prefix:literal, $schema:literal; )*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The two-letter prefix every SID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;
            /// The name of this SID's schema in the OpenAPI document.
            pub const SCHEMA: &'static str = $schema;

            /// Validates `value` and takes it without copying.
            ///
            /// # Errors
            /// [`InvalidSid`] naming the problem when `value` does not match the pattern.
            pub fn new(value: String) -> Result<Self, InvalidSid> {
                check($schema, $prefix, &value)?;
                Ok(Self(value))
            }

            /// The SID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidSid;
            fn from_str(value: &str) -> Result<Self, InvalidSid> {
                check($schema, $prefix, value)?;
                Ok(Self(value.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidSid;
            fn try_from(value: &str) -> Result<Self, InvalidSid> {
                value.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidSid;
            fn try_from(value: String) -> Result<Self, InvalidSid> {
                Self::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(SidVisitor::<$name>::new())
            }
        }

        impl FromSidString for $name {
            fn from_sid_string(value: Cow<'_, str>) -> Result<Self, InvalidSid> {
                check($schema, $prefix, &value)?;
                Ok(Self(value.into_owned()))
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": SID_LEN,
                    "maxLength": SID_LEN,
                    "pattern": concat!("^", $prefix, "[0-9a-fA-F]{32}$"),
                })
            }
        }
    )*};
}

sid_types! {
    /// The SID of an Account (`AC…`).
    AccountSid => "AC", "AccountSid";
    /// The SID of a Conversation Service (`IS…`): the `ChatServiceSid` path parameter.
    ServiceSid => "IS", "ChatServiceSid";
    /// The SID of a Conversation (`CH…`).
    ConversationSid => "CH", "ConversationSid";
    /// The SID of a Participant (`MB…`).
    ParticipantSid => "MB", "ParticipantSid";
    /// The SID of a Role (`RL…`).
    RoleSid => "RL", "RoleSid";
    /// The SID of a Conversation User (`US…`): a chat participant's user.
    UserSid => "US", "UserSid";
    /// The SID of an API Key (`SK…`), used as the Basic-auth username with its secret.
    ApiKeySid => "SK", "ApiKeySid";
}

/// Builds a SID type from borrowed or owned text; lets one visitor serve every kind.
trait FromSidString: Sized {
    fn from_sid_string(value: Cow<'_, str>) -> Result<Self, InvalidSid>;
}

struct SidVisitor<T>(std::marker::PhantomData<T>);

impl<T> SidVisitor<T> {
    fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: FromSidString> de::Visitor<'_> for SidVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 34-character Twilio SID")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        T::from_sid_string(Cow::Borrowed(value)).map_err(E::custom)
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<T, E> {
        T::from_sid_string(Cow::Owned(value)).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_hex_is_ascii_hexdigit_for_every_byte() {
        for b in 0..=u8::MAX {
            assert_eq!(is_hex(b), b.is_ascii_hexdigit(), "{b}");
        }
    }

    #[test]
    fn accepts_both_hex_cases() {
        let sid: ServiceSid = "IS0123456789abcdefABCDEF0123456789".parse().unwrap();
        assert_eq!(sid.as_str(), "IS0123456789abcdefABCDEF0123456789");
    }

    #[test]
    fn names_each_problem() {
        let short = "IS123".parse::<ServiceSid>().unwrap_err();
        assert_eq!(short.problem, SidProblem::Length(5));
        let prefix = "CH0123456789abcdef0123456789abcdef"
            .parse::<ServiceSid>()
            .unwrap_err();
        assert_eq!(prefix.problem, SidProblem::Prefix("IS"));
        let hex = "IS0123456789abcdef0123456789abcdeg"
            .parse::<ServiceSid>()
            .unwrap_err();
        assert_eq!(hex.problem, SidProblem::NotHex { position: 33 });
        assert_eq!(
            hex.to_string(),
            "invalid ChatServiceSid (starting \"IS01\", 34 characters): \
             character 33 is not a hexadecimal digit"
        );
        assert_eq!(
            prefix.to_string(),
            "invalid ChatServiceSid (starting \"CH01\", 34 characters): \
             expected the prefix `IS`"
        );
    }

    #[test]
    fn shows_at_most_four_characters_and_never_half() {
        let shown = |value: &str| {
            let err = value.parse::<AccountSid>().unwrap_err();
            assert_eq!(err.length, value.chars().count());
            err.start
        };
        assert_eq!(shown("0123456789abcdef0123456789abcdef"), "0123");
        assert_eq!(shown("abcdefg"), "abc");
        assert_eq!(shown("ab"), "a");
        assert_eq!(shown("a"), "");
        assert_eq!(shown(""), "");
        assert_eq!(shown("éèêëàâ"), "éèê");
        let err = "0123456789abcdef0123456789abcdef"
            .parse::<AccountSid>()
            .unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("01234"), "{shown}");
        }
        assert_eq!(
            err.to_string(),
            "invalid AccountSid (starting \"0123\", 32 characters): \
             expected 34 characters, found 32"
        );
    }

    #[test]
    fn multibyte_input_is_rejected_by_length_not_panicking() {
        let err = "ISé0123456789abcdef0123456789abcde"
            .parse::<ServiceSid>()
            .unwrap_err();
        assert_eq!(err.problem, SidProblem::NotHex { position: 2 });
    }

    #[test]
    fn decodes_from_json_and_rejects_bad_kind() {
        let sid: ParticipantSid =
            serde_json::from_str("\"MB0123456789abcdef0123456789abcdef\"").unwrap();
        assert_eq!(sid.to_string(), "MB0123456789abcdef0123456789abcdef");
        let err = serde_json::from_str::<ParticipantSid>("\"RL0123456789abcdef0123456789abcdef\"")
            .unwrap_err();
        assert!(
            err.to_string().contains("expected the prefix `MB`"),
            "{err}"
        );
    }
}

//! Names placed in a URL path segment: a conversation (SID or unique name) and a participant
//! (SID or identity).
//!
//! The generated code percent-encodes each segment, but two kinds of value would still not
//! arrive as one segment holding the caller's text, because URL parsers rewrite them before
//! the request leaves: the dot segments `.` and `..` (removed or resolved against the path,
//! also when written `%2e`), and a backslash (read as `/` in `http(s)` URLs). Such values,
//! and the empty string, are refused here with [`Error::InvalidInput`]; everything else is
//! sent percent-encoded and decodes back to exactly the caller's text.

use std::fmt;

use crate::{
    error::{Error, Result},
    sid::{ConversationSid, ParticipantSid},
};

macro_rules! path_name {
    ($(#[$doc:meta])* $name:ident, $sid:ident, $parameter:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name, or [`Error::InvalidInput`] when it cannot be one path segment.
            pub(crate) fn checked(&self) -> Result<&str> {
                check_segment($parameter, $what, &self.0)?;
                Ok(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&String> for $name {
            fn from(value: &String) -> Self {
                Self(value.clone())
            }
        }

        impl From<$sid> for $name {
            fn from(value: $sid) -> Self {
                Self(value.as_str().to_owned())
            }
        }

        impl From<&$sid> for $name {
            fn from(value: &$sid) -> Self {
                Self(value.as_str().to_owned())
            }
        }

        impl From<&$name> for $name {
            fn from(value: &$name) -> Self {
                value.clone()
            }
        }
    };
}

path_name!(
    /// A conversation: its `CH…` SID ([`ConversationSid`]) or its unique name (`&str`,
    /// `String`). Refused when a request runs (with nothing sent) when it is empty, `.`, `..` or holds a backslash: URL parsers would not keep it one path segment.
    ConversationId,
    ConversationSid,
    "ConversationSid",
    "the conversation SID or unique name"
);

path_name!(
    /// A participant: its `MB…` SID ([`ParticipantSid`]) or, for fetch, its identity.
    /// Refused when a request runs (with nothing sent) when it is empty, `.`, `..` or holds a backslash: URL parsers would not keep it one path segment.
    ParticipantId,
    ParticipantSid,
    "Sid",
    "the participant SID or identity"
);

/// Refuses a value that would not stay one path segment holding exactly `value`.
fn check_segment(parameter: &'static str, what: &str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        format!("{what} is empty")
    } else if value == "." || value == ".." {
        format!("{what} {value:?} is a dot segment, which URL parsers remove from the path")
    } else if value.contains('\\') {
        format!("{what} contains a backslash, which URL parsers turn into a path separator")
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput { parameter, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_be_one_segment() {
        for bad in ["", ".", "..", "a\\b", "\\", "..\\x"] {
            let err = ConversationId::from(bad).checked().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        parameter: "ConversationSid",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
        for good in [
            "...",
            ".a",
            "a.",
            "%2e",
            "a/b",
            "a b",
            "support-room-7",
            "é",
        ] {
            assert_eq!(ParticipantId::from(good).checked().unwrap(), good);
        }
    }

    #[test]
    fn typed_and_plain_names_are_accepted() {
        let sid: ConversationSid = "CH0123456789abcdef0123456789abcdef".parse().unwrap();
        let names = [
            ConversationId::from(&sid),
            ConversationId::from(sid.clone()),
            ConversationId::from(sid.as_str()),
            ConversationId::from(sid.to_string()),
        ];
        assert!(names.iter().all(|n| n.as_str() == sid.as_str()));
    }
}

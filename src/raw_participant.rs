//! A participant as the API sent it: its JSON text, read once, for callers that pass it on
//! (a JSON-lines export, a proxy, a cache) instead of decoding it into [`Participant`] and
//! encoding it again.
//!
//! Why a type of its own rather than a `serde_json::Value` or a bare string: the stream
//! that yields it still needs each participant's SID (to stop rather than yield a
//! participant twice when a server serves one again), and a caller that passes JSON on
//! should not receive anything the typed stream would have refused where it matters for
//! passing it on: the text is exactly one JSON object, and its `sid` is present and is a
//! well-formed participant SID (or null). The rest (dates, the other SIDs, the binding) is
//! the server's text; [`RawParticipant::decode`] checks it all as the typed stream does.

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::{
    error::Result,
    models::{self, PageMeta, Participant},
    sid::ParticipantSid,
};

/// One participant's JSON object exactly as the API sent it, with its SID checked.
///
/// [`json`](Self::json) is the server's text, byte for byte: compact when the server's is
/// (Twilio's is), with every key the server sent, known to this crate or not. Serializing a
/// `RawParticipant` (e.g. with `serde_json::to_writer`) writes that text unchanged.
#[derive(Clone, Debug)]
pub struct RawParticipant {
    sid: Option<ParticipantSid>,
    json: Box<RawValue>,
}

/// The one key read from a raw participant: required, as in [`Participant`], and null
/// allowed.
#[derive(Deserialize)]
struct Key {
    #[serde(deserialize_with = "Option::deserialize")]
    sid: Option<ParticipantSid>,
}

impl RawParticipant {
    /// The participant's SID (`MB…`); `None` when the API sent `null`.
    pub fn sid(&self) -> Option<&ParticipantSid> {
        self.sid.as_ref()
    }

    /// The participant's JSON object as the API sent it.
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// Decodes the participant into the typed [`Participant`], with every check the typed
    /// stream makes.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with the JSON path of the first value that
    /// does not fit (e.g. `date_created`).
    pub fn decode(&self) -> Result<Participant> {
        models::decode_participant(self.json().as_bytes())
    }
}

impl<'de> Deserialize<'de> for RawParticipant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        // A struct would also be read from an array of its fields; a participant is an object.
        if !json.get().starts_with('{') {
            return Err(D::Error::custom("expected a participant's JSON object"));
        }
        let Key { sid } = serde_json::from_str(json.get()).map_err(D::Error::custom)?;
        Ok(Self { sid, json })
    }
}

impl Serialize for RawParticipant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// A page of the list as the raw stream reads it.
#[derive(Deserialize)]
pub(crate) struct RawParticipantPage {
    pub(crate) meta: PageMeta,
    pub(crate) participants: Vec<RawParticipant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "MB0123456789abcdef0123456789abcdef";

    #[test]
    fn keeps_the_servers_text_and_reads_the_sid() {
        let text = format!(r#"{{"sid":"{SID}","identity":"alice","new_key":[1,2]}}"#);
        let raw: RawParticipant = serde_json::from_str(&text).unwrap();
        assert_eq!(raw.json(), text);
        assert_eq!(raw.sid().unwrap().as_str(), SID);
        assert_eq!(serde_json::to_string(&raw).unwrap(), text);
    }

    #[test]
    fn refuses_what_the_typed_stream_refuses_for_the_sid() {
        for text in [
            r#"{"sid":"MB0123"}"#.to_owned(),
            r#"{"identity":"no sid key"}"#.to_owned(),
            format!(r#"["{SID}"]"#),
            r#""a string""#.to_owned(),
        ] {
            assert!(
                serde_json::from_str::<RawParticipant>(&text).is_err(),
                "accepted {text}"
            );
        }
        let null: RawParticipant = serde_json::from_str(r#"{"sid":null}"#).unwrap();
        assert!(null.sid().is_none());
    }

    #[test]
    fn decode_checks_the_rest() {
        let text = format!(r#"{{"sid":"{SID}","date_created":"yesterday"}}"#);
        let raw: RawParticipant = serde_json::from_str(&text).unwrap();
        let error = raw.decode().unwrap_err().to_string();
        assert!(error.contains("date_created"), "{error}");
    }
}

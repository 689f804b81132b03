//! Twilio's timestamps on the decode and encode hot path.
//!
//! Twilio writes every `date-time` in one fixed form, `2015-12-16T22:18:37Z`. chrono's
//! general RFC 3339 parser handled it at about 2,000 instructions a date (two dates per
//! participant: the largest cost of a typed page above an untyped one). The generated
//! response types keep `chrono::DateTime<Utc>` as their field type; `build.rs` points the
//! serde attributes of those fields at these functions. The fixed form is read and written
//! directly; anything else goes to chrono, so values, accepted inputs and error messages
//! are chrono's.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{de, Deserializer, Serializer};

/// The length of Twilio's fixed form, `YYYY-MM-DDTHH:MM:SSZ`.
const FIXED_LEN: usize = 20;

/// `deserialize_with` for an `Option<DateTime<Utc>>` field: `null` is `None`.
pub(crate) fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OptionVisitor)
}

/// `serialize_with` for an `Option<DateTime<Utc>>` field; the same text as chrono's
/// `Serialize` (RFC 3339, `Z`, fractional seconds only when there are some).
pub(crate) fn serialize_option<S: Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        None => serializer.serialize_none(),
        Some(at) => match format_fixed(at) {
            Some(text) => {
                // The fixed form is ASCII digits and separators.
                let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
                serializer.serialize_some(text)
            }
            None => serializer.serialize_some(at),
        },
    }
}

struct OptionVisitor;

impl<'de> de::Visitor<'de> for OptionVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 formatted date and time string or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(TimestampVisitor).map(Some)
    }
}

struct TimestampVisitor;

impl de::Visitor<'_> for TimestampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // chrono's wording, so that a type error reads as it did.
        f.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
        parse(text).map_err(E::custom)
    }
}

/// Parses `text` as `DateTime<Utc>` exactly as chrono's `FromStr` does, reading Twilio's
/// fixed form directly.
///
/// # Errors
/// chrono's error for text that is not an RFC 3339 date and time.
pub(crate) fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_fixed(text.as_bytes()) {
        Some(at) => Ok(at),
        None => text.parse(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` with a valid date and time, else `None` (chrono decides).
fn parse_fixed(text: &[u8]) -> Option<DateTime<Utc>> {
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1, b'Z'] =
        *text
    else {
        return None;
    };
    let two = |tens: u8, ones: u8| {
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
    };
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(mo0, mo1)?, two(d0, d1)?)?;
    // A leap second (`:60`) is not a valid `from_hms`: chrono's parser takes it.
    let time = NaiveTime::from_hms_opt(two(h0, h1)?, two(mi0, mi1)?, two(s0, s1)?)?;
    Some(date.and_time(time).and_utc())
}

/// chrono's text for `at` when it is whole seconds in years 0 to 9999, else `None`.
fn format_fixed(at: &DateTime<Utc>) -> Option<[u8; FIXED_LEN]> {
    use chrono::Datelike;
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    if at.nanosecond() != 0 {
        return None;
    }
    let mut text = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: u32| {
        text[at] = b'0' + (value / 10) as u8;
        text[at + 1] = b'0' + (value % 10) as u8;
    };
    put(0, year / 100);
    put(2, year % 100);
    put(5, at.month());
    put(8, at.day());
    put(11, at.hour());
    put(14, at.minute());
    put(17, at.second());
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// chrono's own reading and writing, the reference for the fast paths.
    fn chrono_parse(text: &str) -> Result<DateTime<Utc>, String> {
        text.parse::<DateTime<Utc>>().map_err(|e| e.to_string())
    }

    #[test]
    fn the_fixed_form_reads_as_chrono_reads_it() {
        for text in [
            "2015-12-16T22:18:37Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00Z",
        ] {
            assert_eq!(
                parse_fixed(text.as_bytes()),
                Some(chrono_parse(text).unwrap())
            );
            assert_eq!(parse(text).map_err(|e| e.to_string()), chrono_parse(text));
        }
    }

    #[test]
    fn other_forms_are_left_to_chrono_with_its_values_and_errors() {
        for text in [
            "2015-12-16T22:18:37.123Z",
            "2015-12-16T22:18:37+01:00",
            "2015-12-16 22:18:37Z",
            "2015-12-16t22:18:37z",
            "2016-12-31T23:59:60Z",
            "2023-02-29T12:00:00Z",
            "2015-13-16T22:18:37Z",
            "2015-12-16T24:00:00Z",
            "2015-12-16T22:18:3xZ",
            "+2015-12-16T22:18:37",
            "",
        ] {
            assert_eq!(parse_fixed(text.as_bytes()), None, "{text}");
            assert_eq!(
                parse(text).map_err(|e| e.to_string()),
                chrono_parse(text),
                "{text}"
            );
        }
    }

    #[test]
    fn writing_gives_chrono_text() {
        let whole = chrono_parse("2015-12-16T02:08:07Z").unwrap();
        let fraction = chrono_parse("2015-12-16T02:08:07.5Z").unwrap();
        let leap = chrono_parse("2016-12-31T23:59:60Z").unwrap();
        let early = chrono_parse("0001-01-01T00:00:00Z").unwrap();
        for at in [whole, fraction, leap, early] {
            let ours = serialize_option(&Some(at), serde_json::value::Serializer).unwrap();
            assert_eq!(ours, serde_json::to_value(at).unwrap());
        }
        assert_eq!(format_fixed(&whole), Some(*b"2015-12-16T02:08:07Z"));
        assert_eq!(format_fixed(&fraction), None);
        assert_eq!(
            serialize_option(&None, serde_json::value::Serializer).unwrap(),
            serde_json::Value::Null
        );
    }

    #[test]
    fn json_values_decode_as_chrono_decodes_them() {
        let ours = |text: &str| {
            deserialize_option(&mut serde_json::Deserializer::from_str(text))
                .map_err(|e| e.to_string())
        };
        let chrono = |text: &str| {
            serde_json::from_str::<Option<DateTime<Utc>>>(text).map_err(|e| e.to_string())
        };
        for text in [
            "null",
            "\"2015-12-16T22:18:37Z\"",
            "\"2015-12-16T22:18:37.5+02:00\"",
            "\"yesterday\"",
            "5",
            "{}",
        ] {
            assert_eq!(ours(text), chrono(text), "{text}");
        }
        assert_eq!(
            ours("5"),
            Err(
                "invalid type: integer `5`, expected an RFC 3339 formatted date and time string \
                 at line 1 column 1"
                    .to_owned()
            )
        );
        assert_eq!(ours("null"), Ok(None));
    }
}

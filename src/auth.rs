//! Credentials for HTTP Basic auth, held so that no `Debug`, `Display` or log shows a secret.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    error::{Error, Result},
    sid::{AccountSid, ApiKeySid},
};

/// Who the client authenticates as: an Account SID with its Auth Token, or an API Key with
/// its secret (recommended by Twilio for production).
#[derive(Clone)]
pub struct Credentials {
    account_sid: AccountSid,
    username: String,
    secret: SecretString,
}

impl Credentials {
    /// Authenticates as the account itself, with its Auth Token.
    pub fn auth_token(account_sid: AccountSid, auth_token: impl Into<String>) -> Self {
        Self {
            username: account_sid.to_string(),
            account_sid,
            secret: SecretString::from(auth_token.into()),
        }
    }

    /// Authenticates with an API Key (`SK…`) and its secret, on behalf of `account_sid`.
    pub fn api_key(account_sid: AccountSid, key: ApiKeySid, secret: impl Into<String>) -> Self {
        Self {
            account_sid,
            username: key.to_string(),
            secret: SecretString::from(secret.into()),
        }
    }

    /// Reads `TWILIO_ACCOUNT_SID` with `TWILIO_API_KEY` + `TWILIO_API_SECRET` when both are
    /// set, or else with `TWILIO_AUTH_TOKEN`.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] naming the variables to set, or
    /// [`Error::InvalidEnvVar`] naming the variable when a SID variable is malformed.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub(crate) fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let missing = |names: &str| Error::MissingCredentials {
            missing: names.to_owned(),
        };
        let account_sid = var("TWILIO_ACCOUNT_SID");
        let key = var("TWILIO_API_KEY");
        let key_secret = var("TWILIO_API_SECRET");
        let token = var("TWILIO_AUTH_TOKEN");
        let Some(account_sid) = account_sid else {
            return Err(missing(if key.is_some() {
                "TWILIO_ACCOUNT_SID (the account the API Key belongs to)"
            } else {
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)"
            }));
        };
        let invalid = |variable| move |error| Error::InvalidEnvVar { variable, error };
        let account_sid = AccountSid::new(account_sid).map_err(invalid("TWILIO_ACCOUNT_SID"))?;
        match (key, key_secret, token) {
            (Some(key), Some(secret), _) => {
                let key = key.parse().map_err(invalid("TWILIO_API_KEY"))?;
                Ok(Self::api_key(account_sid, key, secret))
            }
            (Some(_), None, _) => Err(missing("TWILIO_API_SECRET (TWILIO_API_KEY is set)")),
            (None, Some(_), _) => Err(missing("TWILIO_API_KEY (TWILIO_API_SECRET is set)")),
            (None, None, Some(token)) => Ok(Self::auth_token(account_sid, token)),
            (None, None, None) => Err(missing(
                "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)",
            )),
        }
    }

    /// The account these credentials act for.
    pub fn account_sid(&self) -> &AccountSid {
        &self.account_sid
    }

    /// The Basic-auth user name: the Account SID or the API Key SID.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The `Authorization` header value, marked sensitive so that `http`'s `Debug` hides it.
    pub(crate) fn authorization(&self) -> Result<HeaderValue> {
        let pair = format!("{}:{}", self.username, self.secret.expose_secret());
        let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
            .map_err(|_| Error::Config("the credentials cannot form an HTTP header".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.account_sid)
            .field("username", &self.username)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const SK: &str = "SK0123456789abcdef0123456789abcdef";

    fn lookup(pairs: &[(&str, &str)]) -> Result<Credentials> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Credentials::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn auth_token_from_env() {
        let creds = lookup(&[("TWILIO_ACCOUNT_SID", AC), ("TWILIO_AUTH_TOKEN", "tok")]).unwrap();
        assert_eq!(creds.username(), AC);
        let header = creds.authorization().unwrap();
        let expected = format!("Basic {}", STANDARD.encode(format!("{AC}:tok")));
        assert_eq!(header.to_str().unwrap(), expected);
        assert!(header.is_sensitive());
    }

    #[test]
    fn api_key_wins_over_auth_token() {
        let creds = lookup(&[
            ("TWILIO_ACCOUNT_SID", AC),
            ("TWILIO_AUTH_TOKEN", "tok"),
            ("TWILIO_API_KEY", SK),
            ("TWILIO_API_SECRET", "keysecret"),
        ])
        .unwrap();
        assert_eq!(creds.username(), SK);
        assert_eq!(creds.account_sid().as_str(), AC);
    }

    #[test]
    fn names_what_is_missing() {
        let err = lookup(&[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "missing Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN \
             (or TWILIO_API_KEY and TWILIO_API_SECRET)"
        );
        let err = lookup(&[("TWILIO_ACCOUNT_SID", AC), ("TWILIO_API_KEY", SK)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing Twilio credentials: set TWILIO_API_SECRET (TWILIO_API_KEY is set)"
        );
        let err = lookup(&[("TWILIO_ACCOUNT_SID", AC)]).unwrap_err();
        assert!(matches!(err, Error::MissingCredentials { .. }));
    }

    #[test]
    fn malformed_account_sid_is_named() {
        let err =
            lookup(&[("TWILIO_ACCOUNT_SID", "ACnope"), ("TWILIO_AUTH_TOKEN", "t")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TWILIO_ACCOUNT_SID is not valid: invalid AccountSid"),
            "{err}"
        );
        assert!(err.is_local());
        let err = lookup(&[
            ("TWILIO_ACCOUNT_SID", AC),
            ("TWILIO_API_KEY", "SKnope"),
            ("TWILIO_API_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidEnvVar {
                    variable: "TWILIO_API_KEY",
                    ..
                }
            ),
            "{err}"
        );
    }

    /// Every pair of credential variables swapped, for each way of setting them: whatever
    /// comes back (credentials or an error), neither its `Display` nor its `Debug` shows a
    /// secret, nor more than its first four characters.
    #[test]
    fn swapped_variables_never_show_a_secret() {
        const TOKEN: &str = "f3a9c1d2e4b5a6978877665544332211";
        const SECRET: &str = "Zq8vN2xLpR5tW7yB1cD3fG6hJ9kM0sAe";
        let sets: [&[(&str, &str)]; 3] = [
            &[("TWILIO_ACCOUNT_SID", AC), ("TWILIO_AUTH_TOKEN", TOKEN)],
            &[
                ("TWILIO_ACCOUNT_SID", AC),
                ("TWILIO_API_KEY", SK),
                ("TWILIO_API_SECRET", SECRET),
            ],
            &[
                ("TWILIO_ACCOUNT_SID", AC),
                ("TWILIO_AUTH_TOKEN", TOKEN),
                ("TWILIO_API_KEY", SK),
                ("TWILIO_API_SECRET", SECRET),
            ],
        ];
        let mut swaps = 0;
        for set in sets {
            for i in 0..set.len() {
                for j in i + 1..set.len() {
                    let mut vars = set.to_vec();
                    let (a, b) = (vars[i].1, vars[j].1);
                    vars[i].1 = b;
                    vars[j].1 = a;
                    let shown = match lookup(&vars) {
                        Ok(creds) => format!("{creds:?}"),
                        Err(err) => format!("{err} {err:?}"),
                    };
                    for secret in [TOKEN, SECRET] {
                        assert!(!shown.contains(&secret[..5]), "{vars:?}: {shown}");
                    }
                    swaps += 1;
                }
            }
        }
        assert_eq!(swaps, 1 + 3 + 6);
        // The swap that puts the token in the SID variable is refused, naming the variable's
        // kind, the first four characters and the length.
        let err = lookup(&[("TWILIO_ACCOUNT_SID", TOKEN), ("TWILIO_AUTH_TOKEN", AC)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TWILIO_ACCOUNT_SID is not valid: invalid AccountSid (starting \"f3a9\", 32 \
             characters): expected 34 characters, found 32"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let creds = lookup(&[("TWILIO_ACCOUNT_SID", AC), ("TWILIO_AUTH_TOKEN", "s3cr3t")]).unwrap();
        let shown = format!("{creds:?} {:?}", creds.authorization().unwrap());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains(&STANDARD.encode(format!("{AC}:s3cr3t"))));
    }
}

//! `twilio-participants fake`: the crate's fake of the API on a port, holding the demo data,
//! until interrupted; a local Twilio participants API that any program (or another
//! language's tests) can use, as stripe-mock is for Stripe.
//!
//! It first prints, as shell `export` lines, the variables that point this tool, the crate's
//! `Client::from_env`, curl or another SDK at it; then it serves until Ctrl-C or SIGTERM.
//! Its state lasts while it runs: a participant created by one command is there for the
//! next.

use std::{
    io::{self, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr},
};

use clap::Args;
use twilio_conversations::{
    testing::{FakeServer, FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN},
    Error, ServiceSid,
};

use crate::{demo_data, Failure, DEMO_AGENT, DEMO_CONVERSATION, DEMO_SERVICE};

/// The port `fake` listens on unless told otherwise.
const DEFAULT_PORT: u16 = 8010;

/// The flags of `fake`.
#[derive(Args, Debug)]
pub struct FakeArgs {
    /// The port to listen on; 0 picks a free one (the printed TWILIO_BASE_URL names it).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The address to listen on. Clients of this crate accept its plain http:// only on a
    /// loopback address.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
}

/// Runs the fake until Ctrl-C or SIGTERM: prints the `export` lines on stdout (flushed, so
/// a caller reading lines gets them at once), then serves.
pub async fn run(args: FakeArgs) -> Result<(), Failure> {
    let fake = FakeServer::start_on(SocketAddr::new(args.host, args.port))
        .await
        .map_err(|error| match error {
            // Binding failed: the port is taken, or the address is not this machine's.
            Error::Config(reason) => {
                Failure::Usage(format!("{reason}; choose another with --port or --host"))
            }
            other => Failure::from(other),
        })?;
    let service: ServiceSid = DEMO_SERVICE.parse()?;
    demo_data(&fake, &service)?;
    // Listening before anything is printed: a caller may signal as soon as it has read.
    let interrupted = interrupted()?;
    let mut out = io::stdout().lock();
    // An API Key in the environment would win over the Auth Token, which the fake checks.
    writeln!(out, "unset TWILIO_API_KEY TWILIO_API_SECRET")?;
    for (name, value) in [
        ("TWILIO_BASE_URL", fake.base_url()),
        ("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", FAKE_AUTH_TOKEN),
        ("TWILIO_CHAT_SERVICE_SID", DEMO_SERVICE),
        ("TWILIO_CONVERSATION_SID", DEMO_CONVERSATION),
    ] {
        writeln!(out, "export {name}={}", shell_quoted(value))?;
    }
    out.flush()?;
    drop(out);
    eprintln!(
        "fake: serving the participants API at {} until Ctrl-C (or SIGTERM), with the demo \
         data: {DEMO_CONVERSATION} and {DEMO_AGENT} in five conversations; state lasts \
         while it runs",
        fake.base_url()
    );
    interrupted.await?;
    eprintln!("fake: stopped");
    Ok(())
}

/// Starts listening for Ctrl-C (SIGINT), and SIGTERM on Unix, at once; the future ends
/// at the first of them.
fn interrupted() -> Result<impl std::future::Future<Output = Result<(), Failure>>, Failure> {
    let cannot_wait = |e: io::Error| Failure::Remote(format!("cannot wait for a signal: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(cannot_wait)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(cannot_wait)?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            Ok(())
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move { tokio::signal::ctrl_c().await.map_err(cannot_wait) })
    }
}

/// `value` as one shell word: as is when it holds only characters no shell treats
/// specially, else in single quotes (an IPv6 URL's brackets).
fn shell_quoted(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/@%+=,".contains(c);
    if value.chars().all(plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quoted;

    #[test]
    fn values_are_one_shell_word() {
        assert_eq!(
            shell_quoted("http://127.0.0.1:8010"),
            "http://127.0.0.1:8010"
        );
        assert_eq!(shell_quoted("http://[::1]:8010"), "'http://[::1]:8010'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
    }
}

//! What a caller needs in scope to consume a participant stream:
//! `use twilio_conversations::prelude::*;` brings `try_next`, `try_collect` and the other
//! stream adapters, so a program needs no `futures` crate of its own.

pub use futures_util::{StreamExt, TryStreamExt};

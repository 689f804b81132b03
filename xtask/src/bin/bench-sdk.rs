//! `bench-sdk`: the SDK side of `cargo xtask bench`, a whole process that reads every
//! participant with `stream()` (see `bench_reader` for its command line).

use std::{io::Write, process::ExitCode};

use futures_util::TryStreamExt;
use twilio_conversations::{testing, Client, ConversationSid, ServiceSid};
use xtask::bench_reader::{self, ReaderArgs, CONVERSATION, SERVICE};

async fn read(args: ReaderArgs) -> Result<usize, String> {
    let service: ServiceSid = SERVICE.parse().map_err(|e| format!("{e}"))?;
    let conversation: ConversationSid = CONVERSATION.parse().map_err(|e| format!("{e}"))?;
    let client = Client::builder()
        .base_url(&args.base_url)
        .credentials(testing::fake_credentials())
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let mut stream = client
        .participants(&service, conversation)
        .page_size(args.page_size)
        .stream();
    let (mut count, mut sink) = (0, bench_reader::sink());
    while let Some(participant) = stream.try_next().await.map_err(|e| e.to_string())? {
        args.work
            .on(&participant, &mut sink)
            .map_err(|e| e.to_string())?;
        count += 1;
    }
    sink.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

fn main() -> ExitCode {
    bench_reader::main(read)
}

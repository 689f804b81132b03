//! A raw HTTP/1.1 receiver on loopback for the fake's webhooks and Event Streams batches.

use std::sync::{Arc, Mutex};

/// One request a receiver got: its head (request line and headers) and body.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request line and headers.
    pub head: String,
    /// The body, as text.
    pub body: String,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A raw HTTP/1.1 receiver on loopback answering 200 to everything; records each request.
pub async fn receiver(path_and_query: &str) -> (String, Arc<Mutex<Vec<Received>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path_and_query}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let head_end = raw
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|at| at + 4);
                    if let Some(head_end) = head_end {
                        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
                        let received = Received {
                            head,
                            body: String::new(),
                        };
                        let length: usize = received
                            .header("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        if raw.len() >= head_end + length {
                            let body = String::from_utf8_lossy(&raw[head_end..head_end + length])
                                .into_owned();
                            record.lock().unwrap().push(Received { body, ..received });
                            let _ = socket
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            let _ = socket.shutdown().await;
                            return;
                        }
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => raw.extend_from_slice(&buf[..read]),
                    }
                }
            });
        }
    });
    (url, seen)
}

//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: each request goes to a
//! handler that answers with a status, headers and body, or never answers.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// What the handler answers.
pub enum Reply {
    /// Status, extra headers, body.
    With(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept the request and never answer.
    Silence,
    /// Status 200 declaring `declared` bytes, then only `body`, then close:
    /// a download cut short.
    Cut { declared: usize, body: Vec<u8> },
}

impl Reply {
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::With(status, vec![("Content-Type".into(), "text/plain".into())], body.as_bytes().to_vec())
    }
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::With(status, vec![("Content-Type".into(), "application/json".into())], body.to_string().into_bytes())
    }
    pub fn redirect(to: &str) -> Reply {
        Reply::With(302, vec![("Location".into(), to.into())], Vec::new())
    }
}

/// Starts a server; returns its address (`127.0.0.1:PORT`).
pub async fn serve(handler: impl Fn(Req) -> Reply + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let req = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let mut lines = text[..end].lines();
                    let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                    let headers: HashMap<String, String> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    break Req {
                        method: first.first().unwrap_or(&"").to_string(),
                        path: first.get(1).unwrap_or(&"").to_string(),
                        headers,
                        body: String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string(),
                    };
                };
                match handler(req) {
                    Reply::Silence => tokio::time::sleep(std::time::Duration::from_secs(60)).await,
                    Reply::Cut { declared, body } => {
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n");
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                    }
                    Reply::With(status, headers, body) => {
                        let mut head =
                            format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                    }
                }
            });
        }
    });
    addr
}

//! A minimal Chrome `DevTools` Protocol client over a hand-rolled `WebSocket`
//! (RFC 6455: the upgrade, masked text frames out, unmasked frames in), as
//! VS Code's js-debug speaks to node's inspector.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

pub struct Cdp {
    stream: TcpStream,
    id: i64,
    pub seen: Vec<Json>,
}

/// `GET path` at `address`: the body. The inspector may keep the
/// connection open, so the body is read by its `Content-Length`.
pub fn http_get(address: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|n| body.len() >= n) {
                return Some(body.to_owned());
            }
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

impl Cdp {
    /// Opens the inspector WebSocket at `path` (from `/json/list`).
    pub fn open(address: &str, path: &str) -> Cdp {
        let mut stream = TcpStream::connect(address).expect("connect to the inspector");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("upgrade request");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("upgrade answer");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Cdp {
            stream,
            id: 0,
            seen: Vec::new(),
        }
    }

    pub fn send(&mut self, method: &str, params: &Json) -> i64 {
        self.id += 1;
        let text = json!({ "id": self.id, "method": method, "params": params }).to_string();
        let mut frame = vec![0x81u8];
        let len = text.len();
        // Client frames are masked; a zero key leaves the bytes as they are.
        if len < 126 {
            frame.push(0x80 | u8::try_from(len).expect("small"));
        } else {
            frame.push(0x80 | 0x7e);
            frame.extend_from_slice(&u16::try_from(len).expect("< 64 KiB").to_be_bytes());
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(text.as_bytes());
        self.stream.write_all(&frame).expect("send");
        self.id
    }

    fn read(&mut self) -> Option<Json> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).ok()?;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            self.stream.read_exact(&mut ext).ok()?;
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            self.stream.read_exact(&mut ext).ok()?;
            len = u64::from_be_bytes(ext);
        }
        let mut body = vec![0; usize::try_from(len).ok()?];
        self.stream.read_exact(&mut body).ok()?;
        if head[0] & 0x0f != 1 {
            return Some(Json::Null);
        }
        serde_json::from_slice(&body).ok()
    }

    pub fn wait(&mut self, want: impl Fn(&Json) -> bool, what: &str, within: Duration) -> Json {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(message) = self.read() {
                if want(&message) {
                    return message;
                }
                if message.get("method") != Some(&json!("Debugger.scriptParsed")) {
                    self.seen.push(message);
                }
            }
        }
        panic!("no {what} within {within:?}; saw {:#?}", self.seen)
    }

    /// Sends a command and waits for its result.
    pub fn call(&mut self, method: &str, params: &Json) -> Json {
        let id = self.send(method, params);
        let answer = self.wait(|m| m["id"] == id, method, Duration::from_secs(20));
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }
}

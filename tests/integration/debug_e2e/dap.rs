//! A minimal Debug Adapter Protocol client (what VS Code speaks to debugpy):
//! `Content-Length` framed JSON over TCP, requests with sequence numbers,
//! responses and events read in order.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

pub struct Dap {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    seq: i64,
    pub seen: Vec<Json>,
}

impl Dap {
    /// Connects and initializes; retries while the forward has no pod to
    /// tunnel to (the connection closes at once then).
    pub fn connect(address: &str, within: Duration) -> Dap {
        let started = Instant::now();
        loop {
            let attempt = TcpStream::connect(address).ok().and_then(|s| {
                s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                let mut dap = Dap {
                    writer: s.try_clone().ok()?,
                    reader: BufReader::new(s),
                    seq: 0,
                    seen: Vec::new(),
                };
                let seq = dap.send(
                    "initialize",
                    &json!({
                        "clientID": "devloop-test",
                        "adapterID": "debugpy",
                        "pathFormat": "path",
                        "linesStartAt1": true,
                        "columnsStartAt1": true,
                    }),
                );
                dap.try_response(seq, Duration::from_secs(5))?;
                Some(dap)
            });
            if let Some(dap) = attempt {
                return dap;
            }
            assert!(
                started.elapsed() < within,
                "no debugger answered on {address} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn send(&mut self, command: &str, arguments: &Json) -> i64 {
        self.seq += 1;
        let body = json!({
            "seq": self.seq,
            "type": "request",
            "command": command,
            "arguments": arguments,
        })
        .to_string();
        write!(self.writer, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("send");
        self.seq
    }

    fn read(&mut self) -> Option<Json> {
        let mut length = None;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length:") {
                length = n.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length?];
        self.reader.read_exact(&mut body).ok()?;
        serde_json::from_slice(&body).ok()
    }

    /// The first message matching `want` within `within`, or `None`.
    pub fn try_wait(&mut self, want: impl Fn(&Json) -> bool, within: Duration) -> Option<Json> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.read() {
                Some(message) => {
                    self.seen.push(message.clone());
                    if want(&message) {
                        return Some(message);
                    }
                }
                None => {
                    // A read timeout: keep waiting until the deadline.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        None
    }

    pub fn wait(&mut self, want: impl Fn(&Json) -> bool, what: &str, within: Duration) -> Json {
        self.try_wait(want, within)
            .unwrap_or_else(|| panic!("no {what} within {within:?}; saw {:#?}", self.seen))
    }

    fn try_response(&mut self, seq: i64, within: Duration) -> Option<Json> {
        self.try_wait(
            |m| m["type"] == "response" && m["request_seq"] == seq,
            within,
        )
    }

    /// Sends a request and waits for its successful response.
    pub fn request(&mut self, command: &str, arguments: &Json) -> Json {
        let seq = self.send(command, arguments);
        let response = self.wait(
            |m| m["type"] == "response" && m["request_seq"] == seq,
            &format!("{command} response"),
            Duration::from_secs(20),
        );
        assert_eq!(response["success"], true, "{command}: {response}");
        response
    }

    pub fn event(&mut self, name: &str, within: Duration) -> Json {
        self.wait(
            |m| m["type"] == "event" && m["event"] == name,
            &format!("{name} event"),
            within,
        )
    }
}

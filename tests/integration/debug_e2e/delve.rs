//! A minimal client of delve's JSON-RPC API v2 (Go's `net/rpc/jsonrpc`:
//! one JSON object per request and per response on the stream), as VS
//! Code's Go extension speaks to a headless delve in remote mode.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

pub struct Delve {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    id: i64,
}

impl Delve {
    /// Connects; retries while the forward has no pod to tunnel to.
    pub fn connect(address: &str, within: Duration) -> Delve {
        let started = Instant::now();
        loop {
            let attempt = TcpStream::connect(address).ok().and_then(|s| {
                s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
                let mut delve = Delve {
                    writer: s.try_clone().ok()?,
                    reader: BufReader::new(s),
                    id: 0,
                };
                delve.try_call("RPCServer.GetVersion", &json!({})).ok()?;
                Some(delve)
            });
            if let Some(delve) = attempt {
                return delve;
            }
            assert!(
                started.elapsed() < within,
                "no delve answered on {address} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Sends `RPCServer.<method>` without waiting for its answer.
    pub fn send(&mut self, method: &str, params: &Json) -> i64 {
        self.id += 1;
        let request = json!({ "method": method, "params": [params], "id": self.id });
        writeln!(self.writer, "{request}").expect("send");
        self.id
    }

    /// The answer to request `id`.
    pub fn answer(&mut self, id: i64) -> Result<Json, String> {
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("delve closed the connection".to_owned());
            }
            let message: Json = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            if message["id"] != id {
                continue;
            }
            if !message["error"].is_null() {
                return Err(message["error"].to_string());
            }
            return Ok(message["result"].clone());
        }
    }

    pub fn try_call(&mut self, method: &str, params: &Json) -> Result<Json, String> {
        let id = self.send(method, params);
        self.answer(id)
    }

    pub fn call(&mut self, method: &str, params: &Json) -> Json {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }
}

//! Go under Debian's delve from the support image: a breakpoint by file and
//! line through the forward, a local variable readable (optimisations off).

use std::time::Duration;

use serde_json::json;

use super::delve;
use super::{debug_session, get, scaffold_files};
use crate::cluster::Cluster;
use crate::deploy_e2e::standins;
use crate::support::World;

/// A server on the `net` package alone: `net/http` (and TLS with it)
/// would be compiled from scratch, unoptimised, on every debug build.
fn go_app(answer: &str) -> String {
    r#"package main

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		panic(err)
	}
	for {
		conn, err := ln.Accept()
		if err == nil {
			go serve(conn)
		}
	}
}

func serve(conn net.Conn) {
	defer conn.Close()
	request, _ := bufio.NewReader(conn).ReadString('\n')
	answer := "ANSWER"
	if strings.Contains(request, " /hit ") {
		answer = answer + " hit"
	}
	conn.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: " + strconv.Itoa(len(answer)) + "\r\n\r\n" + answer))
}
"#
    .replace("ANSWER", answer)
}

/// The handler line of `main.go` only `/hit` runs.
const GO_HIT_LINE: i64 = 33;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_go_delve_stops_at_a_breakpoint_through_the_forward() {
    let Some(world) = World::get() else { return };
    standins(&world, &["golang:1.24", "debian:bookworm-slim"]);
    let cluster = Cluster::start(&world).await;
    let (dir, port) = scaffold_files(
        "dbg-go",
        &[
            ("go.mod", "module example.com/hello\n\ngo 1.19\n"),
            ("main.go", &go_app("go one")),
        ],
        2345,
    );
    let (up, app, debug) = tokio::task::block_in_place(|| {
        debug_session(
            dir.path(),
            &world,
            &cluster,
            port,
            ("go", "delve"),
            Duration::from_mins(4),
            "go one",
        )
    });
    tokio::task::block_in_place(|| {
        let mut dlv = delve::Delve::connect(&debug, Duration::from_secs(30));
        dlv.call("RPCServer.Command", &json!({ "name": "halt" }));
        let set = dlv.call(
            "RPCServer.CreateBreakpoint",
            &json!({ "Breakpoint": { "file": "/src/main.go", "line": GO_HIT_LINE } }),
        );
        assert_eq!(set["Breakpoint"]["line"], GO_HIT_LINE, "{set}");
        let resumed = dlv.send("RPCServer.Command", &json!({ "name": "continue" }));
        let request = {
            let app = app.clone();
            std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)))
        };
        let state = dlv.answer(resumed).expect("stopped");
        let thread = &state["State"]["currentThread"];
        assert_eq!(
            (&thread["file"], &thread["line"]),
            (&json!("/src/main.go"), &json!(GO_HIT_LINE)),
            "{state}"
        );
        assert!(
            !request.is_finished(),
            "the request waits at the breakpoint"
        );
        dlv.send("RPCServer.Command", &json!({ "name": "continue" }));
        let body = request.join().expect("join");
        assert_eq!(body.as_deref(), Some("go one hit"));
    });
    up.validate();
}

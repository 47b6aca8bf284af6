//! The JVM under JDWP with the user's own Dockerfile: `jdb -attach`
//! through the forward.

use std::io::{Read as _, Write as _};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{debug_session, get, scaffold_files};
use crate::cluster::Cluster;
use crate::deploy_e2e::standins;
use crate::support::World;

const JAVA_APP: &str = r#"import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;

public class Main {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", exchange -> {
            String answer = "java one";
            if (exchange.getRequestURI().getPath().equals("/hit")) {
                answer = answer + " hit";
            }
            byte[] body = answer.getBytes();
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }
}
"#;

/// The user's own Dockerfile: Debian's JDK compiles, no Maven.
const JAVA_DOCKERFILE: &str = r#"FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY Main.java .
RUN javac -g -d /out Main.java
FROM eclipse-temurin:21-jre
COPY --from=build /out /app
WORKDIR /app
USER 10001
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["tini", "--"]
CMD ["java", "-cp", "/app", "Main"]
"#;

/// `Main.java`'s line only `/hit` runs.
const JAVA_HIT_LINE: u32 = 12;

/// jdb's output so far, read as it comes (its prompt ends no line).
struct Jdb {
    child: Child,
    input: std::process::ChildStdin,
    output: mpsc::Receiver<String>,
    text: String,
}

impl Jdb {
    fn attach(address: &str) -> Jdb {
        let mut child = std::process::Command::new("jdb")
            .args(["-attach", address])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jdb runs");
        let input = child.stdin.take().expect("stdin");
        let (tx, output) = mpsc::channel();
        for mut stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0
                        || tx
                            .send(String::from_utf8_lossy(&chunk[..n]).into_owned())
                            .is_err()
                    {
                        break;
                    }
                }
            });
        }
        Jdb {
            child,
            input,
            output,
            text: String::new(),
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.input, "{line}").expect("jdb input");
    }

    /// Waits until jdb has printed `want` (after what was already matched).
    fn expect(&mut self, want: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self.text.find(want) {
                let seen = self.text[..i + want.len()].to_owned();
                self.text.drain(..i + want.len());
                return seen;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&chunk),
                Err(e) => panic!(
                    "jdb did not print {want:?} within {within:?} ({e}): {}",
                    self.text
                ),
            }
        }
    }
}

impl Drop for Jdb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_jvm_jdb_stops_at_a_breakpoint_through_the_forward_with_the_users_dockerfile() {
    let Some(world) = World::get() else { return };
    standins(
        &world,
        &["maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"],
    );
    let cluster = Cluster::start(&world).await;
    let pom = "<project><modelVersion>4.0.0</modelVersion><groupId>dev.example</groupId><artifactId>hello</artifactId><version>1</version></project>\n";
    let (dir, port) = scaffold_files(
        "dbg-jvm",
        &[
            ("pom.xml", pom),
            ("Main.java", JAVA_APP),
            ("Dockerfile", JAVA_DOCKERFILE),
        ],
        5005,
    );
    let kept = std::fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(kept, JAVA_DOCKERFILE, "init keeps the user's Dockerfile");
    let (up, app, debug) = tokio::task::block_in_place(|| {
        debug_session(
            dir.path(),
            &world,
            &cluster,
            port,
            ("jvm", "jdwp"),
            Duration::from_mins(3),
            "java one",
        )
    });
    tokio::task::block_in_place(|| {
        let mut jdb = Jdb::attach(&debug);
        jdb.expect("Initializing jdb", Duration::from_secs(30));
        jdb.command(&format!("stop at Main:{JAVA_HIT_LINE}"));
        jdb.expect(
            &format!("Set breakpoint Main:{JAVA_HIT_LINE}"),
            Duration::from_secs(20),
        );
        let request = {
            let app = app.clone();
            std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)))
        };
        let hit = jdb.expect(&format!("line={JAVA_HIT_LINE}"), Duration::from_secs(30));
        assert!(
            hit.contains("Breakpoint hit:") && hit.contains("Main.lambda$main$0"),
            "{hit}"
        );
        assert!(
            !request.is_finished(),
            "the request waits at the breakpoint"
        );
        jdb.command("cont");
        let body = request.join().expect("join");
        assert_eq!(body.as_deref(), Some("java one hit"));
    });
    up.validate();
}

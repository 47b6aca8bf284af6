//! `devloop-sim --kubeconfig-out PATH`: the simulator for trying devloop by hand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use devloop_sim::{Sim, SimOptions, read_world_env};

const USAGE: &str = "\
usage: devloop-sim --kubeconfig-out PATH [--listen 127.0.0.1:PORT] [--token TOKEN] [--world-env PATH]

Starts the devloop Kubernetes API-server simulator on 127.0.0.1, writes a
kubeconfig (context `devloop-sim`) to PATH once it serves, prints `ready`,
and serves until SIGINT/SIGTERM, then removes PATH and stops.

  --kubeconfig-out PATH  where to write the kubeconfig (required)
  --listen ADDR          loopback address to listen on (default 127.0.0.1:0: a free port)
  --token TOKEN          bearer token clients must send (default: random)
  --world-env PATH       test world settings (default: target/world.env if present)
";

struct Args {
    kubeconfig_out: PathBuf,
    listen: SocketAddr,
    token: Option<String>,
    world_env: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut kubeconfig_out = None;
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut token = None;
    let mut world_env = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--kubeconfig-out" => kubeconfig_out = Some(PathBuf::from(value()?)),
            "--listen" => {
                let v = value()?;
                listen = v
                    .parse()
                    .map_err(|e| format!("--listen {v}: {e} (expected e.g. 127.0.0.1:6443)"))?;
            }
            "--token" => token = Some(value()?),
            "--world-env" => world_env = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        kubeconfig_out: kubeconfig_out.ok_or("--kubeconfig-out PATH is required")?,
        listen,
        token,
        world_env,
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("devloop-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let world_path = args
        .world_env
        .unwrap_or_else(|| PathBuf::from("target/world.env"));
    let world = read_world_env(&world_path);
    if world.is_empty() {
        eprintln!(
            "devloop-sim: no test world at {} (fine until pods run containers)",
            world_path.display()
        );
    }
    let options = SimOptions {
        listen: args.listen,
        token: args.token,
        world,
        ..SimOptions::default()
    };
    let sim = match Sim::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("devloop-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = sim.write_kubeconfig(&args.kubeconfig_out) {
        eprintln!(
            "devloop-sim: cannot write {}: {e}",
            args.kubeconfig_out.display()
        );
        sim.shutdown().await;
        return ExitCode::FAILURE;
    }
    eprintln!(
        "devloop-sim: serving {} (kubeconfig {}, context devloop-sim); fault injection: {}/faults (same token)",
        sim.server_url(),
        args.kubeconfig_out.display(),
        sim.admin_url()
    );
    println!("ready");
    wait_for_signal().await;
    eprintln!("devloop-sim: stopping");
    sim.shutdown().await;
    let _ = std::fs::remove_file(&args.kubeconfig_out);
    ExitCode::SUCCESS
}

//! `rampart-bench-upstream --listen ADDR`: serve the benchmark's fixed
//! upstream (see `rampart_demo::bench_upstream`) until killed.
//!
//! Prints `listening on ADDR` once bound, so a script that passes port 0 can
//! read the port it got. `--print-post-body` prints the JSON body the
//! benchmark POSTs to `/items` and exits.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::process::ExitCode;

use rampart_demo::bench_upstream;

const USAGE: &str = "usage: rampart-bench-upstream [--listen ADDR] | --print-post-body";

fn main() -> ExitCode {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 3000));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next().map(|value| value.parse()) {
                Some(Ok(addr)) => listen = addr,
                _ => return usage_error("--listen needs an address such as 127.0.0.1:3000"),
            },
            "--print-post-body" => {
                print!("{}", bench_upstream::POST_BODY);
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unexpected argument `{other}`")),
        }
    }
    match serve(listen) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rampart-bench-upstream: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(listen: SocketAddr) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("listening on {}", listener.local_addr()?);
            bench_upstream::run(listener).await
        })
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("rampart-bench-upstream: {message}\n{USAGE}");
    ExitCode::from(2)
}

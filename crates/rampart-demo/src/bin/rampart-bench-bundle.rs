//! `rampart-bench-bundle DIR LISTEN UPSTREAM [SECURITY_LOG]`: write the
//! benchmark bundle (bench spec and a Rampart config in enforce mode) into
//! DIR and print the config file's path.
//!
//! SECURITY_LOG defaults to `DIR/security.log`, so that security events do
//! not share a terminal (and its cost) with the benchmark's output.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: rampart-bench-bundle DIR LISTEN UPSTREAM [SECURITY_LOG]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, listen, upstream, log) = match args.as_slice() {
        [dir, listen, upstream] => (dir, listen, upstream, None),
        [dir, listen, upstream, log] => (dir, listen, upstream, Some(log)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Ok(listen) = listen.parse::<SocketAddr>() else {
        eprintln!("rampart-bench-bundle: `{listen}` is not a socket address\n{USAGE}");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let log = match log {
        Some(log) => log.clone(),
        None => dir.join("security.log").to_string_lossy().into_owned(),
    };
    match rampart_demo::write_bench_bundle(&dir, listen, upstream, &log) {
        Ok(config) => {
            println!("{}", config.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "rampart-bench-bundle: cannot write {}: {err}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

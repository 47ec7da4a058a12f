//! The `recur` binary: parses the command line and runs one command.

fn main() {
    recur_cpu::keep_freed_memory();
    let cli = recur_cli::parse_args();
    let serving = matches!(cli.command, recur_cli::Command::Serve(_));
    if !serving {
        // `recur predict … | head -1`: end quietly when the reader goes away (exit 141),
        // as command-line tools do, instead of failing on the write (the server keeps
        // Rust's default: a client that vanishes is an error on its own socket)
        // SAFETY: restoring the default disposition of SIGPIPE, before any thread starts.
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // training stops after the current batch and saves; every other command keeps the
    // default (the server handles its own signals: it drains the requests in flight)
    let stop = if matches!(cli.command, recur_cli::Command::Train(_)) {
        recur_cli::Stop::on_signals()
    } else {
        recur_cli::Stop::new()
    };
    match recur_cli::run(cli, &stop) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

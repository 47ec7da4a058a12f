//! The `recur` binary: parses the command line and runs one command.

fn main() {
    recur_cpu::keep_freed_memory();
    let cli = recur_cli::parse_args();
    if !matches!(cli.command, recur_cli::Command::Serve(_)) {
        // `recur predict … | head -1`: end quietly when the reader goes away (exit 141),
        // as command-line tools do, instead of failing on the write (the server keeps
        // Rust's default: a client that vanishes is an error on its own socket)
        // SAFETY: restoring the default disposition of SIGPIPE, before any thread starts.
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match recur_cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

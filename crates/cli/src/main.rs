//! The `recur` binary: parses the command line and runs one command.

fn main() {
    recur_cpu::keep_freed_memory();
    let cli = recur_cli::parse_args();
    match recur_cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

//! The `recur` binary: parses the command line and runs one command.

use clap::Parser;

fn main() {
    recur_cpu::keep_freed_memory();
    let cli = recur_cli::Cli::parse();
    match recur_cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

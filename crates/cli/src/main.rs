//! The `recur` binary: parses the command line and runs one command. Its allocator is the
//! system's, but an allocation that fails ends the process with a message and exit status
//! 1 rather than Rust's abort (sizes from files and flags are checked before allocating;
//! this is the net under what no check can know, such as a memory limit).

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator; a failed allocation ends the process with a message.
struct Guarded;

// SAFETY: every method forwards to `System` with the same arguments; only a null result is
// acted on, by ending the process.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and `new_size` is the caller's contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Guarded = Guarded;

/// Says that `size` bytes could not be allocated and ends the process (exit 1), without
/// allocating: the message is assembled on the stack and written straight to stderr.
fn out_of_memory(size: usize) -> ! {
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if n < buf.len() {
                buf[n] = b;
                n += 1;
            }
        }
    };
    put(b"error: out of memory: could not allocate ");
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = size;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[i..]);
    put(
        b" bytes (the machine's memory or this process's limit is reached; a smaller model, \
batch or input may fit)\n",
    );
    // SAFETY: writing a valid buffer to stderr, then ending the process at once (no
    // unwinding or destructors, which could allocate).
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(1)
    }
}

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

//! Ctrl-C for long commands (`sweep`, `suite`, `shrink`): the first SIGINT sets a flag the
//! command polls (stop starting new runs, finish the running ones, write what is done); the
//! handler is installed with `SA_RESETHAND`, so a second SIGINT kills the process at once.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let msg: &[u8] = b"\ninterrupted: finishing the runs in progress and writing what is done (Ctrl-C again stops at once)\n";
    // SAFETY: write(2) is async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
}

/// Installs the handler and returns the flag it sets.
pub fn install() -> &'static AtomicBool {
    #[cfg(unix)]
    // SAFETY: a zeroed sigaction is a valid value; the handler only stores an atomic and
    // calls write(2), both async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
    &INTERRUPTED
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

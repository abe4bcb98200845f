//! Ctrl-C and SIGTERM for long commands (`sweep`, `suite`, `shrink`, `compare`): the first
//! SIGINT or SIGTERM sets a flag the command polls (stop starting new runs, finish the running
//! ones, write what is done); each handler is installed with `SA_RESETHAND`, so a second
//! signal of the same kind kills the process at once. SIGTERM is what a CI runner, `timeout`,
//! Kubernetes or Slurm sends at a deadline: it keeps what finished, as Ctrl-C does.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;
/// The exit code of a command stopped by SIGTERM (128 + SIGTERM).
pub const EXIT_TERMINATED: i32 = 143;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The first stopping signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
    let msg: &[u8] = if sig == libc::SIGTERM {
        b"\nterminated (SIGTERM): finishing the runs in progress and writing what is done (a second SIGTERM stops at once)\n"
    } else {
        b"\ninterrupted: finishing the runs in progress and writing what is done (Ctrl-C again stops at once)\n"
    };
    // SAFETY: write(2) is async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
}

/// Installs the handlers and returns the flag they set.
pub fn install() -> &'static AtomicBool {
    #[cfg(unix)]
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid value; the handler only stores an atomic and
        // calls write(2), both async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    &INTERRUPTED
}

/// Whether Ctrl-C was pressed (or SIGTERM received).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Whether a stopping signal came, asked once a command has done its work and is about to say
/// what it did: the handlers are first put back to the default, so a signal that comes later
/// stops the process at once (as a second Ctrl-C does, and the shell reports it) instead of
/// printing that what is in progress will finish after the command has already decided not
/// to say so, and one that came before is in the answer. No window between the two is left
/// unseen.
pub fn settle() -> bool {
    #[cfg(unix)]
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: restoring a signal's default disposition.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    interrupted()
}

/// The exit code of a command that stopped early: [`EXIT_TERMINATED`] after SIGTERM,
/// [`EXIT_INTERRUPTED`] otherwise.
pub fn exit_code() -> i32 {
    #[cfg(unix)]
    if SIGNAL.load(Ordering::SeqCst) == libc::SIGTERM {
        return EXIT_TERMINATED;
    }
    EXIT_INTERRUPTED
}
